package analysis

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
)

// gitRepo creates a bare repository with one commit on main (PRODUCT.md)
// and one on release (RELEASE.md) and returns its file:// URL.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the additional_repos clones need it")
	}
	work, bare := t.TempDir(), filepath.Join(t.TempDir(), "product.git")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	git(work, "init", "--quiet", "-b", "main")
	require.NoError(t, os.WriteFile(filepath.Join(work, "PRODUCT.md"), []byte("discount rules\n"), 0o600))
	git(work, "add", "PRODUCT.md")
	git(work, "commit", "--quiet", "-m", "product")
	git(work, "checkout", "--quiet", "-b", "release")
	require.NoError(t, os.WriteFile(filepath.Join(work, "RELEASE.md"), []byte("release notes\n"), 0o600))
	git(work, "add", "RELEASE.md")
	git(work, "commit", "--quiet", "-m", "release")
	git(work, "checkout", "--quiet", "main")
	git(work, "clone", "--quiet", "--bare", work, bare)
	return "file://" + bare
}

// repoScript is a CLI that records its prompt, its working directory and
// the files of the clones it was given, then answers CODE ISSUE.
func repoScript(dir string) string {
	return `cat > ` + dir + `/prompt
pwd > ` + dir + `/pwd
ls product product-release > ` + dir + `/ls 2>&1
echo '{"classification": "CODE ISSUE", "details": "The discount rule is wrong."}'`
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

func TestAIAdditionalReposAreClonedForCLIProviders(t *testing.T) {
	t.Parallel()
	repo := gitRepo(t)
	dir := t.TempDir()
	s := serviceWith(AISettings{ClaudeCommand: []string{fakeCLI(t, repoScript(dir))}})
	ra := analyzeWith(t, s, AIRequest{Provider: "claude", PromptContext: PromptContext{AdditionalRepos: []AdditionalRepo{
		{Name: "product", URL: repo},
		{Name: "product-release", URL: repo, Ref: "release"},
		{Name: "missing", URL: "file://" + filepath.Join(t.TempDir(), "no-such.git")},
	}}}, unexplained)

	d := ra.Result.Failures[0].Analysis
	assert.Equal(t, SourceAI, d.Source, "a failed clone does not fail the analysis")
	assert.Equal(t, CodeIssue, d.Classification)
	assert.Contains(t, d.Details, "The discount rule is wrong.")
	assert.Contains(t, d.Details, "Additional repository missing could not be fetched (git clone exited with status 128)")

	ls := readTrimmed(t, filepath.Join(dir, "ls"))
	assert.Contains(t, ls, "PRODUCT.md", "the CLI runs inside the directory holding the clones")
	assert.Contains(t, ls, "RELEASE.md", "the ref is checked out")
	assert.Equal(t, 1, strings.Count(ls, "RELEASE.md"), "main has no RELEASE.md")
	prompt := readTrimmed(t, filepath.Join(dir, "prompt"))
	assert.Contains(t, prompt, "- product: ./product")
	assert.Contains(t, prompt, "- product-release: ./product-release")
	assert.Contains(t, prompt, "- missing could not be fetched (git clone exited with status 128)")

	wd := readTrimmed(t, filepath.Join(dir, "pwd"))
	assert.Contains(t, filepath.Base(wd), "bugflow-ai-")
	_, err := os.Stat(wd)
	assert.True(t, os.IsNotExist(err), "the working directory %s is removed afterwards", wd)
}

// additional_repos absent inherits the server's; [] disables them; a
// request's own list replaces the server's.
func TestAIAdditionalReposInheritance(t *testing.T) {
	t.Parallel()
	repo := gitRepo(t)
	for name, tc := range map[string]struct {
		server, request []AdditionalRepo
		cloned          bool
	}{
		"absent inherits":         {server: []AdditionalRepo{{Name: "product", URL: repo}}, cloned: true},
		"[] disables":             {server: []AdditionalRepo{{Name: "product", URL: repo}}, request: []AdditionalRepo{}},
		"request's own":           {request: []AdditionalRepo{{Name: "product", URL: repo}}, cloned: true},
		"none anywhere":           {},
		"request replaces server": {server: []AdditionalRepo{{Name: "other", URL: repo}}, request: []AdditionalRepo{{Name: "product", URL: repo}}, cloned: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := serviceWith(AISettings{GeminiCommand: []string{fakeCLI(t, repoScript(dir))}, AdditionalRepos: tc.server})
			ra := analyzeWith(t, s, AIRequest{Provider: "gemini", PromptContext: PromptContext{AdditionalRepos: tc.request}}, unexplained)
			assert.Equal(t, SourceAI, ra.Result.Failures[0].Analysis.Source)
			prompt := readTrimmed(t, filepath.Join(dir, "prompt"))
			ls := readTrimmed(t, filepath.Join(dir, "ls"))
			if tc.cloned {
				assert.Contains(t, prompt, "- product: ./product")
				assert.Contains(t, ls, "PRODUCT.md")
				assert.NotContains(t, prompt, "other")
			} else {
				assert.NotContains(t, prompt, "./product")
				assert.NotContains(t, prompt, "checked out")
				assert.NotContains(t, ls, "PRODUCT.md")
				assert.NotContains(t, filepath.Base(readTrimmed(t, filepath.Join(dir, "pwd"))), "bugflow-ai-")
			}
		})
	}
}

// Request fields are checked when the request arrives (422), before any
// clone: only http(s):// and file:// URLs without credentials, at most
// MaxAdditionalRepos, safe names and refs.
func TestAIAdditionalReposChecks(t *testing.T) {
	t.Parallel()
	repos := func(entries ...string) map[string]json.RawMessage {
		return map[string]json.RawMessage{"additional_repos": json.RawMessage("[" + strings.Join(entries, ",") + "]")}
	}
	ok := `{"name": "p", "url": "https://git.example.com/p.git", "ref": "main"}`
	for body, valid := range map[string]bool{
		ok: true,
		`{"name": "p", "url": "http://git.example.com/p.git"}`:                            true,
		`{"name": "p", "url": "file:///srv/mirrors/p.git"}`:                               true,
		`{"name": "p", "url": "https://git.example.com/p.git", "ref": "release/1.2"}`:     true,
		`{"name": "p", "url": "ext::sh -c touch% /tmp/pwned"}`:                            false,
		`{"name": "p", "url": "ssh://-oProxyCommand=x/p.git"}`:                            false,
		`{"name": "p", "url": "git@github.com:acme/p.git"}`:                               false,
		`{"name": "p", "url": "https://user:tok@git.example.com/p.git"}`:                  false,
		`{"name": "p", "url": "file://host/p.git"}`:                                       false,
		`{"name": "p", "url": "-u/p.git"}`:                                                false,
		`{"name": "p", "url": "https://git.example.com/p.git", "ref": "--upload-pack=x"}`: false,
		`{"name": "p", "url": "https://git.example.com/p.git", "ref": "a/../b"}`:          false,
		`{"name": "-p", "url": "https://git.example.com/p.git"}`:                          false,
		`{"name": "a b", "url": "https://git.example.com/p.git"}`:                         false,
		ok + "," + ok: false,
	} {
		err := CheckAnalysisRequest(repos(body))
		if valid {
			assert.NoError(t, err, body)
		} else {
			require.Error(t, err, body)
			assert.Equal(t, errs.Invalid, errs.As(err).Kind, body)
			assert.Contains(t, errs.As(err).Fields, "additional_repos", body)
		}
	}
	entry := func(i int) string {
		return `{"name": "p` + string(rune('0'+i)) + `", "url": "https://git.example.com/p.git"}`
	}
	var five []string
	for i := range MaxAdditionalRepos {
		five = append(five, entry(i))
	}
	assert.NoError(t, CheckAnalysisRequest(repos(five...)), "%d repositories are fine", MaxAdditionalRepos)
	assert.Error(t, CheckAnalysisRequest(repos(append(five, entry(9))...)), "%d are too many", MaxAdditionalRepos+1)
}

func TestAIAdditionalReposSetting(t *testing.T) {
	t.Parallel()
	got, err := ParseAdditionalRepos(" product=https://git.example.com/p.git@release/1.2, mirror=file:///srv/m.git ,")
	require.NoError(t, err)
	assert.Equal(t, []AdditionalRepo{{Name: "product", URL: "https://git.example.com/p.git", Ref: "release/1.2"},
		{Name: "mirror", URL: "file:///srv/m.git"}}, got)
	got, err = ParseAdditionalRepos("")
	require.NoError(t, err)
	assert.Empty(t, got)
	for _, bad := range []string{"product", "=https://h/p.git", "p=ext::sh", "p=https://u:t@h/p.git", "p=https://h/a.git,p=https://h/b.git"} {
		_, err := ParseAdditionalRepos(bad)
		assert.Error(t, err, bad)
	}
	assert.Contains(t, AISettings{AdditionalRepos: []AdditionalRepo{{Name: "p", URL: "ssh://h/p.git"}}}.Problems(), "ai.additional_repos")
	assert.Empty(t, AISettings{AdditionalRepos: []AdditionalRepo{{Name: "p", URL: "https://h/p.git"}}}.Problems())
}

// openai cannot read files: it gets the repositories named in the prompt,
// nothing is cloned.
func TestAIAdditionalReposAreOnlyNamedToOpenAI(t *testing.T) {
	t.Parallel()
	var body string
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		_, _ = w.Write([]byte(completion(`{"classification": "CODE ISSUE", "details": "x"}`)))
	})
	settings := openAISettings(srv.URL + "/v1")
	settings.AdditionalRepos = []AdditionalRepo{{Name: "product", URL: "file:///nonexistent/product.git", Ref: "main"}}
	ra := analyzeWith(t, serviceWith(settings), AIRequest{Provider: "openai", Model: "m"}, unexplained)
	d := ra.Result.Failures[0].Analysis
	assert.Equal(t, SourceAI, d.Source)
	assert.Equal(t, "x", d.Details, "no clone was tried, so nothing failed")
	assert.Contains(t, body, "product: file:///nonexistent/product.git (ref main)")
	assert.NotContains(t, body, "checked out")
}

// Absent and null additional_repos are nil (inherit); [] is empty (none).
func TestAIAdditionalReposParsedFromTheRequest(t *testing.T) {
	t.Parallel()
	assert.Nil(t, ParseAIRequest(map[string]json.RawMessage{}).AdditionalRepos)
	assert.Nil(t, ParseAIRequest(map[string]json.RawMessage{"additional_repos": json.RawMessage("null")}).AdditionalRepos)
	got := ParseAIRequest(map[string]json.RawMessage{"additional_repos": json.RawMessage("[]")}).AdditionalRepos
	assert.NotNil(t, got)
	assert.Empty(t, got)
}
