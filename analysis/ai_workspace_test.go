package analysis

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis/integrations/fake"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// The tests of this file put a git of their own first on PATH, which is the
// process's: they cannot be parallel.

// countingGit puts a git first on PATH that logs its arguments, one line
// per run, to the returned file and runs the real git.
func countingGit(t *testing.T) string {
	t.Helper()
	real, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed: the additional_repos clones need it")
	}
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	script := "#!/bin/sh\necho \"$*\" >> " + runs + "\nexec " + real + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "git"), []byte(script), 0o700))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return runs
}

// shallowClones counts the shallow clones (the additional repositories')
// the counting git ran.
func shallowClones(t *testing.T, runs string) int {
	t.Helper()
	b, err := os.ReadFile(runs)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "clone --quiet --depth 1") {
			n++
		}
	}
	return n
}

// lines reads a file of lines.
func lines(t *testing.T, path string) []string {
	t.Helper()
	return strings.Split(readTrimmed(t, path), "\n")
}

// gone reports whether path no longer exists.
func gone(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist)
}

// workspaceScript is a CLI that notes the directory it runs in and whether
// the clones are there, then reviews (always disagreeing) or analyses.
func workspaceScript(dir string) string {
	return `prompt=$(cat)
pwd >> ` + dir + `/pwds
if [ -f product/PRODUCT.md ] && [ -f docs/RELEASE.md ]; then echo ok; else echo missing; fi >> ` + dir + `/checkouts
case "$prompt" in
*"Do you agree?"*) echo '{"agrees": false, "classification": "PRODUCT BUG", "reasoning": "The product is wrong."}' ;;
*) echo '{"classification": "CODE ISSUE", "details": "The discount rule is wrong."}' ;;
esac`
}

// threeGroups are failures no offline rule explains, each its own group.
var threeGroups = []FailureInput{
	{TestName: "tests.shop.test_discount", ErrorMessage: "discount engine said: quux"},
	{TestName: "tests.shop.test_price", ErrorMessage: "pricing engine said: frob"},
	{TestName: "tests.shop.test_tax", ErrorMessage: "tax engine said: blorp"},
}

// workspaceRepos are two clones of repo and one that cannot be fetched.
func workspaceRepos(t *testing.T, repo string) []AdditionalRepo {
	return []AdditionalRepo{
		{Name: "product", URL: repo},
		{Name: "docs", URL: repo, Ref: "release"},
		{Name: "missing", URL: "file://" + filepath.Join(t.TempDir(), "no-such.git")},
	}
}

// Every prompt of an analysis (three groups, each debated by two peers over
// two rounds) runs in one directory where each repository was cloned once;
// the directory is gone when the analysis returns.
func TestAdditionalReposAreClonedOncePerAnalysis(t *testing.T) {
	repo := gitRepo(t)
	runs := countingGit(t)
	dir := t.TempDir()
	cli := []string{fakeCLI(t, workspaceScript(dir))}
	s := serviceWith(AISettings{ClaudeCommand: cli, GeminiCommand: cli, CursorCommand: cli})
	ra := analyzeWith(t, s, AIRequest{Provider: "claude", MaxRounds: 2,
		Peers:         []AIConfig{{AIProvider: "gemini", AIModel: "g"}, {AIProvider: "cursor", AIModel: "c"}},
		PromptContext: PromptContext{AdditionalRepos: workspaceRepos(t, repo)}}, threeGroups)

	require.Len(t, ra.Groups, 3)
	for _, f := range ra.Result.Failures {
		assert.Equal(t, SourceAI, f.Analysis.Source)
		require.NotNil(t, f.PeerDebate)
		assert.Equal(t, 2, f.PeerDebate.RoundsUsed)
		assert.Contains(t, f.Analysis.Details, "Additional repository missing could not be fetched (git clone exited with status 128)")
	}
	// Per group: the analysis, two reviews, the revision, two reviews.
	pwds := lines(t, filepath.Join(dir, "pwds"))
	require.Len(t, pwds, 3*6)
	for _, p := range pwds {
		assert.Equal(t, pwds[0], p, "every prompt runs in the analysis's directory")
	}
	assert.Contains(t, filepath.Base(pwds[0]), "bugflow-ai-")
	for _, c := range lines(t, filepath.Join(dir, "checkouts")) {
		assert.Equal(t, "ok", c, "every prompt sees the clones")
	}
	assert.Equal(t, 3, shallowClones(t, runs), "one clone per repository (the failed one included), not one per prompt")
	assert.True(t, gone(pwds[0]), "the directory %s is removed when the analysis ends", pwds[0])

	// A second analysis clones again, into a directory of its own.
	analyzeWith(t, s, AIRequest{Provider: "claude", Peers: []AIConfig{}, PromptContext: PromptContext{AdditionalRepos: workspaceRepos(t, repo)}}, threeGroups[:1])
	assert.Equal(t, 6, shallowClones(t, runs))
	pwds = lines(t, filepath.Join(dir, "pwds"))
	assert.NotEqual(t, pwds[0], pwds[len(pwds)-1])
	assert.True(t, gone(pwds[len(pwds)-1]))
}

// A prompt outside any analysis (an analyzer called directly) gets a
// workspace of its own, removed when it returns.
func TestAdditionalReposOutsideAnAnalysis(t *testing.T) {
	repo := gitRepo(t)
	runs := countingGit(t)
	dir := t.TempDir()
	s := serviceWith(AISettings{ClaudeCommand: []string{fakeCLI(t, workspaceScript(dir))}})
	a, err := s.AnalyzerFor(AIRequest{Provider: "claude", PromptContext: PromptContext{AdditionalRepos: workspaceRepos(t, repo)}})
	require.NoError(t, err)
	g := Group{Signature: "s", Failures: []Failure{FailureFromInput(threeGroups[0])}}
	for range 2 {
		d, err := a.Analyze(context.Background(), g)
		require.NoError(t, err)
		assert.Equal(t, SourceAI, d.Source)
	}
	pwds := lines(t, filepath.Join(dir, "pwds"))
	require.Len(t, pwds, 2)
	assert.NotEqual(t, pwds[0], pwds[1])
	assert.True(t, gone(pwds[0]) && gone(pwds[1]))
	assert.Equal(t, 6, shallowClones(t, runs))
}

// However the analysis ends, its directory goes: an analyzer error, a
// panic, a cancellation.
func TestAdditionalReposAreRemovedWhenTheAnalysisFails(t *testing.T) {
	repo := gitRepo(t)
	countingGit(t)
	dir := t.TempDir()
	s := serviceWith(AISettings{ClaudeCommand: []string{fakeCLI(t, workspaceScript(dir))}})
	ai, err := s.AnalyzerFor(AIRequest{Provider: "claude", PromptContext: PromptContext{AdditionalRepos: workspaceRepos(t, repo)}})
	require.NoError(t, err)
	lastDir := func() string {
		pwds := lines(t, filepath.Join(dir, "pwds"))
		return pwds[len(pwds)-1]
	}
	for name, after := range map[string]func() (Detail, error){
		"error": func() (Detail, error) { return Detail{}, errors.New("the store said no") },
		"panic": func() (Detail, error) { panic("the analyzer broke") },
	} {
		t.Run(name, func(t *testing.T) {
			failing := AnalyzerFunc(func(ctx context.Context, g Group) (Detail, error) {
				if _, err := ai.Analyze(ctx, g); err != nil {
					return Detail{}, err
				}
				return after()
			})
			_, err := AnalyzeFailures(context.Background(), threeGroups, Options{Analyzer: failing})
			require.Error(t, err)
			if name == "panic" {
				assert.Contains(t, err.Error(), "analyzer panicked: the analyzer broke")
			}
			assert.Contains(t, filepath.Base(lastDir()), "bugflow-ai-")
			assert.True(t, gone(lastDir()), "%s is removed", lastDir())
		})
	}

	t.Run("cancellation", func(t *testing.T) {
		slow := t.TempDir()
		// Appended, not overwritten: the groups' runs may start together,
		// and a redirection with > empties the file before it writes.
		s := serviceWith(AISettings{ClaudeCommand: []string{fakeCLI(t, "pwd >> "+slow+"/pwd\nexec sleep 60")}})
		ai, err := s.AnalyzerFor(AIRequest{Provider: "claude", PromptContext: PromptContext{AdditionalRepos: workspaceRepos(t, repo)}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := AnalyzeFailures(ctx, threeGroups, Options{Analyzer: ai})
			done <- err
		}()
		require.Eventually(t, func() bool {
			b, err := os.ReadFile(filepath.Join(slow, "pwd"))
			return err == nil && strings.HasSuffix(string(b), "\n")
		}, 20*time.Second, 10*time.Millisecond, "the CLI runs")
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		for _, wd := range lines(t, filepath.Join(slow, "pwd")) {
			assert.Contains(t, filepath.Base(wd), "bugflow-ai-")
			assert.True(t, gone(wd), "%s is removed", wd)
		}
	})
}

// A Jenkins job is one analysis: its build and the child builds it follows
// share one clone per repository, removed when the job's run ends.
func TestAdditionalReposAreClonedOncePerBuildAnalysis(t *testing.T) {
	repo := gitRepo(t)
	runs := countingGit(t)
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		before := shallowClones(t, runs)
		jk := fake.NewJenkins(t, ciUser, ciToken)
		// Two child builds whose console errors no rule explains: the AI
		// analyses each, in two analyses of the job's walk.
		jk.SetConsole("pipeline/e2e", 5, []byte("ERROR: discount engine said: quux\n"), true)
		jk.SetConsole("pipeline/e2e-inner", 6, []byte("ERROR: pricing engine said: frob\n"), true)
		dir := t.TempDir()
		f := newBuilds(t, db, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken})
		f.svc = New(NewBunStore(db.DB), Config{Now: f.clock.Now, AI: AISettings{ClaudeCommand: []string{fakeCLI(t, workspaceScript(dir))},
			AdditionalRepos: []AdditionalRepo{{Name: "product", URL: repo}, {Name: "docs", URL: repo, Ref: "release"}}}})
		b, err := NewBuilds(f.svc, JenkinsConfig{URL: jk.URL, User: ciUser, Password: ciToken, HTTP: quick}, f.queue)
		require.NoError(t, err)
		f.builds = b

		id, _ := f.run(t, `{"job_name": "folder/job-name", "build_number": 123, "ai_provider": "claude"}`)
		r, res := f.result(t, id)
		require.Equal(t, JobCompleted, r.Status, r.Error)
		e2e := res.ChildJobAnalyses[0].FailedChildren[0]
		inner := e2e.FailedChildren[0]
		assert.Equal(t, SourceAI, e2e.Failures[0].Analysis.Source)
		assert.Equal(t, SourceAI, inner.Failures[0].Analysis.Source)
		pwds := lines(t, filepath.Join(dir, "pwds"))
		require.Len(t, pwds, 2)
		assert.Equal(t, pwds[0], pwds[1], "the children's prompts share the job's directory")
		assert.Equal(t, []string{"ok", "ok"}, lines(t, filepath.Join(dir, "checkouts")))
		assert.Equal(t, 2, shallowClones(t, runs)-before, "one clone per repository for the whole job")
		assert.True(t, gone(pwds[0]), "%s is removed when the job's run ends", pwds[0])
	})
}

// An analysis within another shares its workspace; once ended, a workspace
// clones nothing more.
func TestWorkspaceNestingAndEnd(t *testing.T) {
	t.Parallel()
	ctx, end := withWorkspace(context.Background())
	inner, endInner := withWorkspace(ctx)
	ws := ctx.Value(workspaceKey{}).(*workspace)
	assert.Same(t, ws, inner.Value(workspaceKey{}).(*workspace), "shared")
	endInner()
	assert.False(t, ws.ended, "the inner analysis does not end the outer one's workspace")
	end()
	_, err := ws.checkout(ctx, []AdditionalRepo{{Name: "p", URL: "file:///nonexistent/p.git"}}, time.Second)
	assert.ErrorIs(t, err, errWorkspaceEnded)
}
