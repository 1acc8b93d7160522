package mlpipeline

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/csv"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// personalCSV is the hadoop export plus Assignee and Reporter columns whose
// values follow the priority (so the assignee is learnable), with assignee
// names and e-mail addresses also mentioned in the text.
func personalCSV(t *testing.T) (string, []string) {
	t.Helper()
	b, err := os.ReadFile("testdata/gitbugs_hadoop.csv")
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	people := map[string]string{
		"Major": "Alice Wonderly", "Minor": "bob.builder@example.org", "Critical": "carol_kowalski",
		"Blocker": "Dmitri Olafsson", "Trivial": "erin@corp.example.com",
	}
	var personal []string
	for _, p := range people {
		personal = append(personal, p)
	}
	personal = append(personal, "reporter.rachel@example.net", "wonderly", "olafsson")
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	require.NoError(t, w.Write([]string{"Summary", "Description", "Priority", "Assignee", "Reporter"}))
	for i, rec := range recs[1:] {
		summary, desc, pri := rec[0], rec[8], rec[3]
		who := people[pri]
		if i%4 == 0 {
			summary += " cc " + who
			desc += " mail reporter.rachel@example.net or " + who
		}
		require.NoError(t, w.Write([]string{summary, desc, pri, who, "reporter.rachel@example.net"}))
	}
	w.Flush()
	return out.String(), personal
}

// plainModel returns the model's serialised form decompressed, so that a
// search for strings is meaningful.
func plainModel(t *testing.T, m *Model) string {
	t.Helper()
	blob, err := m.MarshalBinary()
	require.NoError(t, err)
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(blob[len(modelMagic)+4:])))
	require.NoError(t, err)
	return strings.ToLower(string(raw))
}

func TestAnonymizedModelHoldsNoPersonalValues(t *testing.T) {
	data, personal := personalCSV(t)
	train := func(anon bool) *Model {
		m, rep, err := Train(context.Background(), []io.Reader{strings.NewReader(data)},
			TrainOptions{Anonymize: anon, AnonKey: []byte("test key")}, nil)
		require.NoError(t, err)
		roles := map[string]ColumnRole{}
		for _, r := range rep.Roles {
			roles[r.Column] = r
		}
		assert.True(t, roles["Assignee"].Personal)
		assert.True(t, roles["Reporter"].Personal)
		assert.Equal(t, RoleTarget, roles["Assignee"].Role)
		assert.Equal(t, RoleIgnore, roles["Reporter"].Role)
		return m
	}

	// Control: without anonymisation the search does find the names.
	control := train(false)
	plain := plainModel(t, control)
	assert.Contains(t, plain, "alice wonderly")
	assert.Contains(t, plain, "bob.builder@example.org")

	m := train(true)
	stored := plainModel(t, m)
	for _, p := range personal {
		assert.NotContains(t, stored, strings.ToLower(p))
	}
	// Names that occur in the text are not features either, alone or in
	// bigrams (whose hashes a dictionary of names could otherwise test).
	word := func(w string) uint64 { return fnvBytes(nsWord, []byte(w)) }
	for _, w := range []string{"carol_kowalski", "wonderly", "olafsson", "alice"} {
		_, ok := m.lookup[word(w)]
		assert.False(t, ok, w)
	}
	for _, pair := range [][2]string{{"alice", "wonderly"}, {"cc", "alice"}, {"cc", "dmitri"}, {"dmitri", "olafsson"}} {
		h := bigramHash(word(pair[0]), word(pair[1]))
		_, ok := m.lookup[h]
		assert.False(t, ok, "bigram %v", pair)
		_, ok = control.lookup[h]
		assert.True(t, ok, "bigram %v is a feature without anonymisation", pair)
	}
	_, ok := m.lookup[bigramHash(word("resource"), word("manager"))]
	assert.True(t, ok, "ordinary bigrams stay")

	pred, err := m.Predict("NullPointerException in the scheduler, ask bob.builder@example.org")
	require.NoError(t, err)
	as, ok := pred.Field("Assignee")
	require.True(t, ok)
	for _, a := range as.Alternatives {
		assert.True(t, strings.HasPrefix(a.Value, "user-"), a.Value)
	}

	// Pseudonyms are stable for a key and differ between keys.
	assert.Equal(t, pseudonym([]byte("k"), "Alice Wonderly"), pseudonym([]byte("k"), " alice wonderly "))
	assert.NotEqual(t, pseudonym([]byte("k"), "Alice Wonderly"), pseudonym([]byte("other"), "Alice Wonderly"))
	assert.Equal(t, "", pseudonym([]byte("k"), "  "))
}

func TestScrubEmails(t *testing.T) {
	assert.Equal(t, "write to  emailaddress  today", scrubEmails("write to ann.lee+bugs@mail.example.co.uk today"))
	assert.Equal(t, "no address @here", scrubEmails("no address @here"))
}
