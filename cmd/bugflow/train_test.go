package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var modelLine = regexp.MustCompile(`(?m)^model: (\S+)$`)

// bugflow train stores a model and prints its metrics; bugflow predict
// uses it from the same database.
func TestTrainThenPredict(t *testing.T) {
	dbURL := "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "bf.db"))
	code, out, errOut := runCmd(t, "train", "--database-url", dbURL, "--target-columns", "Status,Resolution", "../../mlpipeline/testdata/gitbugs_seamonkey.csv")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "text columns:   Summary")
	assert.Contains(t, out, "target columns: Status, Resolution")
	assert.Regexp(t, `(?m)^Status\s+\d+ \(\d+ predicted\)\s+\d+\s+\d+\s+0\.\d{3}`, out)
	assert.Contains(t, errOut, "parsing", "progress is shown on stderr")
	m := modelLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)

	code, out, errOut = runCmd(t, "predict", "--database-url", dbURL, "--model", m[1], "Crash when opening the address book")
	require.Equal(t, exitOK, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, "a header and one row per field: %s", out)
	assert.Regexp(t, `^(Status|Resolution)\s+\S+\s+[01]\.\d\d\s+`, lines[1])

	code, _, errOut = runCmd(t, "predict", "--database-url", dbURL, "--model", "train_nope", "x")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "not found")
	code, _, _ = runCmd(t, "predict", "--database-url", dbURL, "x")
	assert.Equal(t, exitUsage, code, "--model is required")
	code, _, errOut = runCmd(t, "train", "--database-url", dbURL, "no-such.csv")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "no-such.csv")
}
