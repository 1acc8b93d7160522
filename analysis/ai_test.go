package analysis

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// unexplained is a failure no offline rule explains: the AI analyzer
// decides it.
var unexplained = []FailureInput{{TestName: "tests.shop.test_discount", ErrorMessage: "discount engine said: quux"}}

// fakeCLI writes a shell script into a temporary directory and returns
// its path. The script sees the prompt on stdin.
func fakeCLI(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake CLI is a shell script")
	}
	path := filepath.Join(t.TempDir(), "fake-ai")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700))
	return path
}

// answer is a CLI script that saves its prompt, arguments and model
// variable in dir and prints a CODE ISSUE analysis.
func answerScript(dir, classification string) string {
	return fmt.Sprintf(`cat > %[1]s/prompt
echo "$@" > %[1]s/args
echo "$BUGFLOW_AI_MODEL" > %[1]s/model
echo 'Here you go:'
echo '{"classification": "%[2]s", "details": "The discount rule is wrong.", "artifacts_evidence": "quux", "code_fix": {"file": "tests/test_shop.py", "line": "7", "change": "fix it"}}'`, dir, classification)
}

func serviceWith(ai AISettings) *Service {
	return New(nil, Config{AI: ai})
}

func analyzeWith(t *testing.T, s *Service, req AIRequest, in []FailureInput) *ReportAnalysis {
	t.Helper()
	a, err := s.AnalyzerFor(req)
	require.NoError(t, err)
	ra, err := AnalyzeFailures(context.Background(), in, Options{Analyzer: a})
	require.NoError(t, err)
	return ra
}

func TestCLIProviderRunsTheConfiguredCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := fakeCLI(t, answerScript(dir, "CODE ISSUE"))
	s := serviceWith(AISettings{ClaudeCommand: []string{script, "--print", "--model", "{model}"}})
	ra := analyzeWith(t, s, AIRequest{Provider: "claude", Model: "sonnet",
		PromptContext: PromptContext{RawPrompt: "Mind the discount rules.", AdditionalRepos: []AdditionalRepo{{Name: "product-repo", URL: "file:///nonexistent/acme/product.git", Ref: "main"}}}},
		unexplained)
	d := ra.Result.Failures[0].Analysis
	assert.Equal(t, CodeIssue, d.Classification)
	assert.Equal(t, SourceAI, d.Source)
	assert.True(t, strings.HasPrefix(d.Details, "The discount rule is wrong."), d.Details)
	assert.Equal(t, "claude", ra.Result.AIProvider)
	assert.Equal(t, "sonnet", ra.Result.AIModel)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	assert.Equal(t, "--print --model sonnet", read("args"))
	assert.Equal(t, "sonnet", read("model"))
	prompt := read("prompt")
	assert.Contains(t, prompt, "discount engine said: quux")
	assert.Contains(t, prompt, "Mind the discount rules.", "raw_prompt is appended")
	assert.Contains(t, prompt, "product-repo: file:///nonexistent/acme/product.git (ref main)")

	// A rule still outranks the AI analyzer.
	ra = analyzeWith(t, s, AIRequest{Provider: "claude", Model: "sonnet"},
		[]FailureInput{{TestName: "t.db", ErrorMessage: "dial tcp 10.0.0.1:5432: connect: connection refused"}})
	assert.Equal(t, Infrastructure, ra.Result.Failures[0].Analysis.Classification)
	assert.Equal(t, SourceRule, ra.Result.Failures[0].Analysis.Source)
}

// Every way a CLI provider can fail falls back to the offline analysis,
// which says so; the analysis never fails because of it.
func TestCLIProviderFailuresFallBack(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	for name, tc := range map[string]struct {
		script string
		want   string
	}{
		"non-zero exit": {`cat >/dev/null; echo '{"classification": "CODE ISSUE"}'; exit 3`, "command exited with status 3"},
		"garbage":       {`cat >/dev/null; echo 'I think it is a bug, probably.'`, "answer is not a usable analysis"},
		"bad class":     {`cat >/dev/null; echo '{"classification": "COSMIC RAY", "details": "x"}'`, "answer is not a usable analysis"},
		"too large":     {`cat >/dev/null; head -c 1048577 /dev/zero | tr '\0' a`, "answer larger than 1048576 bytes"},
		"timeout":       {`sleep 60 & echo $! > ` + pidFile + `; wait`, "timed out after 300ms"},
		"missing":       {"", "command could not be run"},
	} {
		t.Run(name, func(t *testing.T) {
			command := []string{filepath.Join(t.TempDir(), "no-such-command")}
			if tc.script != "" {
				command = []string{fakeCLI(t, tc.script)}
			}
			// Only the timeout case has a short limit: a loaded machine
			// must not turn the others into timeouts.
			timeout := time.Minute
			if name == "timeout" {
				timeout = 300 * time.Millisecond
			}
			s := serviceWith(AISettings{GeminiCommand: command, CLITimeout: timeout})
			ra := analyzeWith(t, s, AIRequest{Provider: "gemini", Model: "gemini-2.5-pro"}, unexplained)
			d := ra.Result.Failures[0].Analysis
			assert.Equal(t, SourceHeuristic, d.Source)
			assert.Contains(t, d.Details, "The gemini/gemini-2.5-pro analyzer failed ("+tc.want)
			assert.Contains(t, d.Details, "the offline analysis above is used instead")
		})
	}
	// The timeout killed the command's whole process group, its
	// background child included.
	raw, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return processGone(pid) }, 10*time.Second, 20*time.Millisecond,
		"the child of the timed-out command is gone")
}

// A CLI provider does not see bugflow's own settings (its keys among
// them), only its model and provider, and the rest of the environment.
func TestCLIProviderDoesNotSeeBugflowSecrets(t *testing.T) {
	t.Setenv("BUGFLOW_AI_OPENAI_API_KEY", "sk-not-for-the-cli")
	t.Setenv("BUGFLOW_ADMIN_KEY", "admin-not-for-the-cli")
	dir := t.TempDir()
	script := fakeCLI(t, `cat >/dev/null; env > `+dir+`/env; echo '{"classification": "CODE ISSUE", "details": "x"}'`)
	analyzeWith(t, serviceWith(AISettings{ClaudeCommand: []string{script}}), AIRequest{Provider: "claude", Model: "sonnet"}, unexplained)
	raw, err := os.ReadFile(filepath.Join(dir, "env"))
	require.NoError(t, err)
	env := string(raw)
	assert.NotContains(t, env, "not-for-the-cli")
	assert.Contains(t, env, "BUGFLOW_AI_MODEL=sonnet\n")
	assert.Contains(t, env, "BUGFLOW_AI_PROVIDER=claude\n")
	assert.Contains(t, env, "PATH=")
}

func TestAnalyzerForRejectsWhatTheServerCannotRun(t *testing.T) {
	t.Parallel()
	none := serviceWith(AISettings{})
	a, err := none.AnalyzerFor(AIRequest{})
	require.NoError(t, err, "no provider: offline")
	assert.Equal(t, "bugflow", a.(Describer).Provider())

	// A server with no provider at all keeps the offline result for a
	// request that names one, and says why (seeds/001's examples name
	// claude); a bad model is still refused.
	a, err = none.AnalyzerFor(AIRequest{Provider: "claude", Model: "sonnet", Peers: []AIConfig{{AIProvider: "gemini", AIModel: "g"}}})
	require.NoError(t, err, "no provider configured: offline with a reason")
	d, err := a.Analyze(context.Background(), Group{Failures: []Failure{{TestName: "t", Message: "the widget frobbed twice"}}})
	require.NoError(t, err)
	assert.Equal(t, SourceHeuristic, d.Source)
	assert.Contains(t, d.Details, "The claude/sonnet analyzer failed (no AI provider is configured on this server); the offline analysis above is used instead.")
	_, err = none.AnalyzerFor(AIRequest{Provider: "claude", Model: "--x"})
	assert.ErrorContains(t, err, "ai_model must be")

	script := []string{"/bin/true", "{model}"}
	some := serviceWith(AISettings{ClaudeCommand: script, OpenAIURL: "http://127.0.0.1:1/v1"})
	for name, tc := range map[string]struct {
		s    *Service
		req  AIRequest
		want string
	}{
		"provider not configured":  {some, AIRequest{Provider: "cursor", Model: "m"}, "ai_provider cursor is not configured on this server (configured: [claude openai])"},
		"peer not configured":      {some, AIRequest{Provider: "claude", Model: "sonnet", Peers: []AIConfig{{AIProvider: "gemini", AIModel: "g"}}}, "peer_ai_configs: ai_provider gemini is not configured"},
		"model like a flag":        {some, AIRequest{Provider: "claude", Model: "--dangerously-skip-permissions"}, "ai_model must be"},
		"command needs a model":    {some, AIRequest{Provider: "claude"}, "ai_model is required: the claude command takes a model"},
		"openai needs a model":     {some, AIRequest{Provider: "openai"}, "ai_model is required for ai_provider openai"},
		"model without a provider": {some, AIRequest{Model: "sonnet"}, "needs an ai_provider"},
		"peers without a provider": {some, AIRequest{Peers: []AIConfig{{AIProvider: "claude", AIModel: "s"}}}, "peer_ai_configs need an ai_provider"},
		"timeout over the cap":     {some, AIRequest{Provider: "claude", Model: "s", CLITimeout: MaxCLITimeout + time.Minute}, "ai_cli_timeout must be at most 60 minutes"},
	} {
		_, err := tc.s.AnalyzerFor(tc.req)
		require.Error(t, err, name)
		e := errs.As(err)
		assert.Equal(t, errs.Invalid, e.Kind, name)
		assert.Empty(t, e.Fields, "%s: a configuration error, 400 not 422", name)
		assert.Contains(t, e.Message, tc.want, name)
	}
	_, err = some.AnalyzerFor(AIRequest{Provider: "claude", Model: "s", CLITimeout: MaxCLITimeout})
	assert.NoError(t, err, "the cap itself is allowed")
	assert.Equal(t, []string{"claude", "openai"}, some.AIProviders())
}

// chatServer answers chat completions with answer after failing first
// times with status.
func chatServer(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

func completion(content string) string {
	return fmt.Sprintf(`{"id": "chatcmpl-1", "object": "chat.completion", "model": "local", "choices": [{"index": 0, "message": {"role": "assistant", "content": %q}, "finish_reason": "stop"}]}`, content)
}

const testOpenAIKey = "sk-test-never-shown"

func openAISettings(url string) AISettings {
	return AISettings{OpenAIURL: url, OpenAIKey: testOpenAIKey,
		HTTP: integrations.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Timeout: 500 * time.Millisecond}}
}

func TestOpenAIProvider(t *testing.T) {
	t.Parallel()
	t.Run("429 then success", func(t *testing.T) {
		var calls atomic.Int32
		srv := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, "/v1/chat/completions", r.URL.Path)
			assert.Equal(t, "Bearer "+testOpenAIKey, r.Header.Get("Authorization"))
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"error": {"message": "Rate limit reached", "type": "requests"}}`))
				return
			}
			_, _ = w.Write([]byte(completion("```json\n{\"classification\": \"PRODUCT BUG\", \"details\": \"The engine returns quux.\", \"product_bug_report\": {\"title\": \"quux\", \"severity\": \"high\", \"component\": \"discount\", \"jira_matches\": [{\"key\": \"INVENTED-1\"}]}}\n```")))
		})
		ra := analyzeWith(t, serviceWith(openAISettings(srv.URL+"/v1")), AIRequest{Provider: "openai", Model: "qwen2.5"}, unexplained)
		d := ra.Result.Failures[0].Analysis
		assert.Equal(t, ProductBug, d.Classification)
		assert.Equal(t, SourceAI, d.Source)
		require.NotNil(t, d.ProductBugReport)
		assert.Empty(t, d.ProductBugReport.JiraMatches, "tracker matches never come from the model")
		assert.Equal(t, int32(2), calls.Load())
		assert.Equal(t, "openai", ra.Result.AIProvider)
		assert.Equal(t, "qwen2.5", ra.Result.AIModel)
	})
	for name, tc := range map[string]struct {
		handler http.HandlerFunc
		want    string
	}{
		"malformed JSON": {func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"choices": [`)) }, "answer is not the expected JSON"},
		"garbage content": {func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(completion("no idea"))) },
			"answer is not a usable analysis"},
		"5xx every time": {func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, "HTTP 502"},
		"401 quoting the key": {func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message": "Incorrect API key provided: ` + testOpenAIKey + `"}`))
		}, "HTTP 401"},
		"hung connection": {func(_ http.ResponseWriter, r *http.Request) {
			// The server notices the client hanging up only once the
			// body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, "timed out"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := chatServer(t, tc.handler)
			ra := analyzeWith(t, serviceWith(openAISettings(srv.URL)), AIRequest{Provider: "openai", Model: "m"}, unexplained)
			d := ra.Result.Failures[0].Analysis
			assert.Equal(t, SourceHeuristic, d.Source)
			assert.Contains(t, d.Details, "The openai/m analyzer failed (")
			assert.Contains(t, d.Details, tc.want)
			assert.NotContains(t, d.Details, testOpenAIKey)
		})
	}
}

// A person's classification outranks every analyzer on the next run, and
// the latest label decides; a restarted service remembers.
func TestHumanLabelOutranksTheAIAnalyzer(t *testing.T) {
	t.Parallel()
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := NewBunStore(db.DB)
		ai := AISettings{Provider: "cursor", Model: "auto",
			CursorCommand: []string{fakeCLI(t, answerScript(t.TempDir(), "CODE ISSUE"))}}
		svc := New(st, Config{AI: ai})
		run := func(s *Service, jobID string) FailureAnalysis {
			t.Helper()
			ra, err := s.Analyze(ctx, DirectInput{RecordInput: RecordInput{JobID: jobID, JobName: "shop"}, Failures: unexplained})
			require.NoError(t, err)
			return ra.Result.Failures[0]
		}
		first := run(svc, "j1")
		assert.Equal(t, CodeIssue, first.Analysis.Classification)
		assert.Equal(t, SourceAI, first.Analysis.Source)

		require.NoError(t, svc.Override(ctx, "j1", Scope{TestName: unexplained[0].TestName}, ProductBug, "alice"))
		stored, err := st.GetResult(ctx, "j1")
		require.NoError(t, err)
		assert.Contains(t, string(stored.Result), `"classification_source":"human"`, "the override says who decided")

		second := run(svc, "j2")
		assert.Equal(t, ProductBug, second.Analysis.Classification, "the human label wins over the disagreeing AI")
		assert.Equal(t, SourceHuman, second.Analysis.Source)
		assert.Contains(t, second.Analysis.Details, "labelled PRODUCT BUG by alice in job j1")

		require.NoError(t, svc.Override(ctx, "j2", Scope{TestName: unexplained[0].TestName}, Infrastructure, "bob"))
		third := run(svc, "j3")
		assert.Equal(t, Infrastructure, third.Analysis.Classification, "the latest label decides")
		assert.Contains(t, third.Analysis.Details, "by bob in job j2")

		restarted := New(st, Config{AI: ai})
		require.NoError(t, restarted.LoadExamples(ctx, st))
		assert.Equal(t, Infrastructure, run(restarted, "j4").Analysis.Classification)
	})
}

// scripted is a debate participant whose answers are given per round.
type scripted struct {
	name    string
	answers []Classification // analysis (orchestrator) or verdict (peer) per round
	fail    bool
	calls   atomic.Int32
}

func (s *scripted) Provider() string { return s.name }
func (s *scripted) Model() string    { return s.name + "-model" }

func (s *scripted) at() Classification {
	n := int(s.calls.Add(1)) - 1
	return s.answers[min(n, len(s.answers)-1)]
}

func (s *scripted) Analyze(context.Context, Group) (Detail, error) {
	return Detail{Classification: s.at(), Details: s.name + " analysis"}, nil
}

func (s *scripted) Revise(context.Context, Group, Detail, []PeerDebateRound) (Detail, error) {
	return Detail{Classification: s.at(), Details: s.name + " revised"}, nil
}

func (s *scripted) Review(_ context.Context, _ Group, main Detail) (PeerReview, error) {
	if s.fail {
		return PeerReview{}, &AIError{Provider: s.name, Reason: "exit status 1"}
	}
	c := s.at()
	return PeerReview{Agrees: c == main.Classification, Classification: c, Reasoning: s.name + " says " + string(c)}, nil
}

func TestPeerDebate(t *testing.T) {
	t.Parallel()
	g := Group{Signature: "s", Failures: []Failure{{TestName: "t", Message: "m"}}}
	ctx := context.Background()

	t.Run("consensus after a revision", func(t *testing.T) {
		main := &scripted{name: "claude", answers: []Classification{CodeIssue, ProductBug}}
		peer := &scripted{name: "gemini", answers: []Classification{ProductBug}}
		d, trail, err := (&Debate{Main: main, Peers: []Analyzer{peer}, MaxRounds: 3}).AnalyzeWithDebate(ctx, g)
		require.NoError(t, err)
		assert.Equal(t, ProductBug, d.Classification)
		assert.True(t, trail.ConsensusReached)
		assert.Equal(t, 2, trail.RoundsUsed)
		assert.Equal(t, 3, trail.MaxRounds)
		assert.Equal(t, []AIConfig{{AIProvider: "gemini", AIModel: "gemini-model"}}, trail.AIConfigs)
		require.Len(t, trail.Rounds, 4)
		assert.Equal(t, RoleOrchestrator, trail.Rounds[0].Role)
		assert.Nil(t, trail.Rounds[0].AgreesWithOrchestrator)
		assert.Equal(t, RolePeer, trail.Rounds[1].Role)
		assert.False(t, *trail.Rounds[1].AgreesWithOrchestrator)
		assert.Equal(t, 2, trail.Rounds[3].Round)
		assert.True(t, *trail.Rounds[3].AgreesWithOrchestrator)
	})
	// Peers that never agree: the debate stops at the bound, on both
	// sides of it.
	for _, rounds := range []int{1, 2, 10} {
		main := &scripted{name: "claude", answers: []Classification{CodeIssue}}
		peer := &scripted{name: "gemini", answers: []Classification{ProductBug}}
		d, trail, err := (&Debate{Main: main, Peers: []Analyzer{peer}, MaxRounds: rounds}).AnalyzeWithDebate(ctx, g)
		require.NoError(t, err)
		assert.Equal(t, CodeIssue, d.Classification, "the orchestrator's last analysis stands")
		assert.False(t, trail.ConsensusReached)
		assert.Equal(t, rounds, trail.RoundsUsed)
		assert.Len(t, trail.Rounds, 2*rounds)
		assert.Equal(t, int32(rounds), peer.calls.Load())
		assert.Equal(t, int32(rounds), main.calls.Load(), "one analysis and a revision per further round, none unreviewed")
	}
	t.Run("a failed peer does not count", func(t *testing.T) {
		main := &scripted{name: "claude", answers: []Classification{CodeIssue}}
		ok := &scripted{name: "gemini", answers: []Classification{CodeIssue}}
		broken := &scripted{name: "cursor", fail: true}
		_, trail, err := (&Debate{Main: main, Peers: []Analyzer{ok, broken}}).AnalyzeWithDebate(ctx, g)
		require.NoError(t, err)
		assert.True(t, trail.ConsensusReached, "every valid peer agreed")
		assert.Equal(t, DefaultPeerRounds, trail.MaxRounds)
		assert.Nil(t, trail.Rounds[2].AgreesWithOrchestrator)
		assert.Equal(t, "peer failed: exit status 1", trail.Rounds[2].Details)
	})
	t.Run("a panicking peer fails as any other", func(t *testing.T) {
		main := &scripted{name: "claude", answers: []Classification{CodeIssue}}
		ok := &scripted{name: "gemini", answers: []Classification{CodeIssue}}
		panicky := AnalyzerFunc(func(context.Context, Group) (Detail, error) { panic("peer broke") })
		_, trail, err := (&Debate{Main: main, Peers: []Analyzer{ok, panicky}, MaxRounds: 1}).AnalyzeWithDebate(ctx, g)
		require.NoError(t, err)
		assert.True(t, trail.ConsensusReached, "every valid peer agreed")
		assert.Nil(t, trail.Rounds[2].AgreesWithOrchestrator)
		assert.Equal(t, "peer failed: it panicked", trail.Rounds[2].Details)
		assert.Equal(t, "custom", trail.Rounds[2].AIProvider)
	})
	t.Run("peers without review capability analyse on their own", func(t *testing.T) {
		main := &scripted{name: "claude", answers: []Classification{Infrastructure}}
		offline := AnalyzerFunc(func(context.Context, Group) (Detail, error) {
			return Detail{Classification: Infrastructure, Details: "offline"}, nil
		})
		_, trail, err := (&Debate{Main: main, Peers: []Analyzer{offline}, MaxRounds: 1}).AnalyzeWithDebate(ctx, g)
		require.NoError(t, err)
		assert.True(t, trail.ConsensusReached)
		assert.Equal(t, "custom", trail.Rounds[1].AIProvider)
	})
}

// The debate through configured providers: a CLI orchestrator and an
// OpenAI-compatible peer, the trail stored with the result.
func TestPeerDebateOverConfiguredProviders(t *testing.T) {
	t.Parallel()
	srv := chatServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(completion(`{"agrees": true, "classification": "CODE ISSUE", "reasoning": "Agrees with the diagnosis."}`)))
	})
	ai := openAISettings(srv.URL)
	ai.ClaudeCommand = []string{fakeCLI(t, answerScript(t.TempDir(), "CODE ISSUE"))}
	ai.Peers = []AIConfig{{AIProvider: "openai", AIModel: "peer-model"}}
	s := serviceWith(ai)
	ra := analyzeWith(t, s, AIRequest{Provider: "claude", Model: "sonnet"}, unexplained)
	f := ra.Result.Failures[0]
	require.NotNil(t, f.PeerDebate, "the configured peers are inherited")
	assert.True(t, f.PeerDebate.ConsensusReached)
	assert.Equal(t, 1, f.PeerDebate.RoundsUsed)
	assert.Equal(t, "Agrees with the diagnosis.", f.PeerDebate.Rounds[1].Details)
	assert.Equal(t, "claude", ra.Result.AIProvider)

	ra = analyzeWith(t, s, AIRequest{Provider: "claude", Model: "sonnet", Peers: []AIConfig{}}, unexplained)
	assert.Nil(t, ra.Result.Failures[0].PeerDebate, "[] turns the debate off")
}

func TestAISettingsProblems(t *testing.T) {
	t.Parallel()
	assert.Empty(t, AISettings{}.Problems())
	ok := AISettings{Provider: "claude", Model: "sonnet", ClaudeCommand: []string{"claude"}, CLITimeout: MaxCLITimeout,
		Peers: []AIConfig{{AIProvider: "claude", AIModel: "opus"}}, PeerMaxRounds: MaxPeerRounds}
	assert.Empty(t, ok.Problems())
	for field, s := range map[string]AISettings{
		"ai.provider":        {Provider: "gemini"},
		"ai.model":           {Model: "-x"},
		"ai.cli_timeout":     {CLITimeout: MaxCLITimeout + time.Second},
		"ai.openai_url":      {OpenAIURL: "https://user:pw@example.com/v1"},
		"ai.peers":           {Peers: []AIConfig{{AIProvider: "openai", AIModel: "m"}}},
		"ai.peer_max_rounds": {PeerMaxRounds: MaxPeerRounds + 1},
	} {
		assert.Contains(t, s.Problems(), field)
	}
	assert.Equal(t, []string{}, AISettings{Provider: "bogus"}.Configured())
	assert.Contains(t, AISettings{Provider: "bogus"}.Problems()["ai.provider"], "must be one of")
}
