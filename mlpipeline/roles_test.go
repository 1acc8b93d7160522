package mlpipeline

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// columnOf feeds values into a fresh column as ingestion does.
func columnOf(name string, values []string) *column {
	c := &column{name: name, key: normalizeHeader(name), index: map[string]int32{}}
	for _, v := range values {
		c.add(v)
	}
	return c
}

func repeatValues(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestTargetVerdict(t *testing.T) {
	tests := []struct {
		name   string
		col    *column
		target bool
	}{
		{"known name", columnOf("Priority", repeatValues(100, func(i int) string { return []string{"P1", "P2", "P3"}[i%3] })), true},
		{"numeric priority", columnOf("Priority", repeatValues(100, func(i int) string { return fmt.Sprint(i % 4) })), true},
		{"unknown low-cardinality", columnOf("Team Name", repeatValues(200, func(i int) string { return []string{"web", "db"}[i%2] })), true},
		{"constant", columnOf("Status", repeatValues(100, func(int) string { return "closed" })), false},
		{"identifier by name", columnOf("Bug ID", repeatValues(100, func(i int) string { return []string{"a", "b"}[i%2] })), false},
		{"date", columnOf("Created", repeatValues(100, func(i int) string { return fmt.Sprintf("2024-01-%02d", i%28+1) })), false},
		{"unique values", columnOf("Category", repeatValues(100, func(i int) string { return fmt.Sprint("c", i) })), false},
		{"reporter", columnOf("Reporter", repeatValues(100, func(i int) string { return []string{"ann", "bo"}[i%2] })), false},
		{"version", columnOf("Affects Version/s", repeatValues(100, func(i int) string { return []string{"1.0", "2.0"}[i%2] })), false},
		{"unknown numbers", columnOf("Votes Cast", repeatValues(300, func(i int) string { return fmt.Sprint(i % 5) })), false},
		{"empty", columnOf("Severity", repeatValues(100, func(int) string { return " " })), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := targetVerdict(tt.col)
			assert.Equal(t, tt.target, ok, reason)
			if !ok {
				assert.NotEmpty(t, reason)
			}
		})
	}
}

func TestColumnDropsHighCardinality(t *testing.T) {
	c := columnOf("Key", repeatValues(maxDistinctValues+5, func(i int) string { return fmt.Sprint("K-", i) }))
	assert.True(t, c.dropped)
	assert.Nil(t, c.ids)
	long := columnOf("Notes", repeatValues(300, func(i int) string { return strings.Repeat("word ", 30) + fmt.Sprint(i%3) }))
	assert.True(t, long.dropped)
}

func TestTrainMaxRowsAndPersonalColumns(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("Title,Owner Email,Kind\n")
	for i := 0; i < 400; i++ {
		kind := []string{"crash", "ui"}[i%2]
		fmt.Fprintf(&sb, "%s issue %d,dev%d@example.com,%s\n", kind, i, i%3, kind)
	}
	_, rep, err := Train(context.Background(), []io.Reader{strings.NewReader(sb.String())}, TrainOptions{MaxRows: 250}, nil)
	require.NoError(t, err)
	assert.Equal(t, 250, rep.Stats.UsedRows)
	assert.True(t, rep.Stats.Truncated)
	roles := map[string]ColumnRole{}
	for _, r := range rep.Roles {
		roles[r.Column] = r
	}
	assert.True(t, roles["Owner Email"].Personal)
	assert.Equal(t, RoleText, roles["Title"].Role)
	assert.Equal(t, RoleTarget, roles["Kind"].Role)
}
