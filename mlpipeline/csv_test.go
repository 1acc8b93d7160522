package mlpipeline

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll reads every record, counting per-record errors as bad rows.
func readAll(t testing.TB, input string) (recs [][]string, bad int, sep byte) {
	t.Helper()
	r, err := newCSVReader(strings.NewReader(input), 0)
	require.NoError(t, err)
	for {
		rec, err := r.read()
		if errors.Is(err, io.EOF) {
			return recs, bad, r.sep
		}
		if errors.Is(err, errRecordTooLarge) || errors.Is(err, errUnterminatedQuote) {
			bad++
			continue
		}
		require.NoError(t, err)
		recs = append(recs, rec)
	}
}

func TestCSVReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		sep   byte
		want  [][]string
		bad   int
	}{
		{"comma LF", "a,b\n1,2\n", ',', [][]string{{"a", "b"}, {"1", "2"}}, 0},
		{"semicolon CRLF", "a;b\r\n1;2\r\n", ';', [][]string{{"a", "b"}, {"1", "2"}}, 0},
		{"tab", "a\tb\n1\t2", '\t', [][]string{{"a", "b"}, {"1", "2"}}, 0},
		{"bare CR line ends", "a,b\r1,2\r", ',', [][]string{{"a", "b"}, {"1", "2"}}, 0},
		{"BOM stripped", "\xEF\xBB\xBFa,b\n1,2\n", ',', [][]string{{"a", "b"}, {"1", "2"}}, 0},
		{"quoted multi-line with bare CR", "a,b\n\"x\ry\",\"p\r\nq\"\n", ',',
			[][]string{{"a", "b"}, {"x\ry", "p\r\nq"}}, 0},
		{"escaped quotes and separators", "a,b\n\"he said \"\"hi\"\", ok\",2\n", ',',
			[][]string{{"a", "b"}, {"he said \"hi\", ok", "2"}}, 0},
		{"separator inside quoted header", "\"x,y\";b;c\n1;2;3\n", ';',
			[][]string{{"x,y", "b", "c"}, {"1", "2", "3"}}, 0},
		{"blank lines skipped", "a,b\n\n1,2\n\n", ',', [][]string{{"a", "b"}, {"1", "2"}}, 0},
		{"lenient stray quotes", "a,b\nx\"y,\"q\"z\n", ',', [][]string{{"a", "b"}, {"x\"y", "qz"}}, 0},
		{"unterminated quote is a bad row", "a,b\n1,\"open\n", ',', [][]string{{"a", "b"}}, 1},
		{"invalid UTF-8 repaired", "a,b\n\xff,2\n", ',', [][]string{{"a", "b"}, {"\uFFFD", "2"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, bad, sep := readAll(t, tt.input)
			assert.Equal(t, tt.sep, sep)
			assert.Equal(t, tt.want, recs)
			assert.Equal(t, tt.bad, bad)
		})
	}
}

func TestCSVReaderRecordTooLarge(t *testing.T) {
	input := "a,b\n" + "\"" + strings.Repeat("x", 200) + "\n1,2\n"
	r, err := newCSVReader(strings.NewReader(input), 100)
	require.NoError(t, err)
	rec, err := r.read()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, rec)
	_, err = r.read()
	require.ErrorIs(t, err, errRecordTooLarge)
	// The reader resynchronises at the next line break.
	rec, err = r.read()
	require.NoError(t, err)
	require.Equal(t, []string{"1", "2"}, rec)
}

func TestCSVReaderRealFiles(t *testing.T) {
	tests := []struct {
		file    string
		records int // data records, header excluded
		fields  int
	}{
		{"gitbugs_hadoop.csv", 2503, 9},
		{"gitbugs_seamonkey.csv", 1076, 8},
		{"gitbugs_vscode_sample.csv", 100, 7},
		{"gitbugs_vscode_multilingual.csv", 1381, 7},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tt.file)
			require.NoError(t, err)
			recs, bad, sep := readAll(t, string(b))
			require.Equal(t, byte(','), sep)
			require.Zero(t, bad)
			require.Len(t, recs, tt.records+1)
			for i, rec := range recs {
				require.Len(t, rec, tt.fields, "record %d", i)
			}
		})
	}
}

func TestNormalizeHeader(t *testing.T) {
	for in, want := range map[string]string{
		"Issue Type": "issuetype", " issue_type ": "issuetype", "ISSUETYPE": "issuetype",
		"Affects Version/s": "affectsversions", "Résumé": "résumé",
	} {
		assert.Equal(t, want, normalizeHeader(in), in)
	}
}

// FuzzReadCSV checks that no input panics the reader or makes it loop or
// grow without bound: every record respects the limits.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a;b\r\n\"x\r\ny\";2", "\xEF\xBB\xBF\"", "\"\"\"", "a\tb\r\r\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 256
		r, err := newCSVReader(bytes.NewReader(data), limit)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i <= len(data)+1; i++ {
			rec, err := r.read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !errors.Is(err, errRecordTooLarge) && !errors.Is(err, errUnterminatedQuote) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			total := 0
			for _, f := range rec {
				total += len(f)
			}
			if total > 3*limit || len(rec) > maxFields { // repairing invalid UTF-8 can triple a byte
				t.Fatalf("record over the limits: %d bytes, %d fields", total, len(rec))
			}
		}
		t.Fatal("reader did not reach the end of input")
	})
}
