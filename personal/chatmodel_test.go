package personal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/personal"
)

// completion is a chat-completions answer with one tool call, or with
// content when name is "".
func completion(name, arguments, content string) map[string]any {
	msg := map[string]any{"role": "assistant", "content": content}
	if name != "" {
		msg["content"] = nil
		msg["tool_calls"] = []any{map[string]any{
			"id": "call_1", "type": "function",
			"function": map[string]any{"name": name, "arguments": arguments},
		}}
	}
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": "tool_calls"}},
	}
}

// fakeModel is a local chat-completions server answering with the next of
// its answers (a status, or a completion for 200) and recording requests.
type fakeModel struct {
	answers  []func(w http.ResponseWriter)
	requests atomic.Int32
	last     map[string]any
}

func (f *fakeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.requests.Add(1)) - 1
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	_ = json.NewDecoder(r.Body).Decode(&f.last)
	f.answers[min(n, len(f.answers)-1)](w)
}

func answer(v map[string]any) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
}

func status(code int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error": {"message": "slow down", "type": "rate_limit"}}`))
	}
}

func TestModelPlanner(t *testing.T) {
	zone := time.UTC
	now := time.Date(2026, 12, 16, 10, 0, 0, 0, zone) // a Wednesday
	ctx := context.Background()
	plan := func(t *testing.T, answers ...func(w http.ResponseWriter)) (personal.Intent, *fakeModel, error) {
		t.Helper()
		f := &fakeModel{answers: answers}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		p, err := personal.NewModelPlanner(srv.URL+"/v1", "test-model", "sk-test", personal.WithModelRetries(2, time.Millisecond))
		require.NoError(t, err)
		in, err := p.Plan(ctx, []personal.ChatMessage{{Role: "user", Content: "earlier"}}, "remind me to review the docs by Friday, high priority", now, zone)
		return in, f, err
	}

	t.Run("a tool call becomes an intent", func(t *testing.T) {
		in, f, err := plan(t, answer(completion("add_task", `{"task": "review the docs", "priority": "high", "due": "2026-12-18", "tags": ["docs"]}`, "")))
		require.NoError(t, err)
		due := time.Date(2026, 12, 18, 23, 59, 59, 0, zone)
		assert.Equal(t, personal.Intent{Tool: personal.ToolAdd, Task: "review the docs", Priority: personal.High, Due: &due, Tags: []string{"docs"}}, in)
		assert.Equal(t, "test-model", f.last["model"])
		assert.Len(t, f.last["tools"], 13, "every tool is offered")
		msgs := f.last["messages"].([]any)
		require.Len(t, msgs, 3, "system, the history, the message")
		assert.Equal(t, "earlier", msgs[1].(map[string]any)["content"])
	})
	t.Run("a 429 is retried", func(t *testing.T) {
		in, f, err := plan(t, status(http.StatusTooManyRequests), answer(completion("overdue_tasks", `{}`, "")))
		require.NoError(t, err)
		assert.Equal(t, personal.ToolOverdue, in.Tool)
		assert.EqualValues(t, 2, f.requests.Load())
	})
	t.Run("content without a tool call is the reply", func(t *testing.T) {
		in, _, err := plan(t, answer(completion("", "", "Hello! What shall I add?")))
		require.NoError(t, err)
		assert.Equal(t, personal.Intent{Tool: personal.ToolHelp, Reply: "Hello! What shall I add?"}, in)
	})
	for name, a := range map[string]func(w http.ResponseWriter){
		"malformed arguments":   answer(completion("add_task", `{"task": "x"`, "")),
		"an unknown tool":       answer(completion("drop_database", `{}`, "")),
		"a malformed due date":  answer(completion("add_task", `{"task": "x", "due": "Friday"}`, "")),
		"not a completion":      answer(map[string]any{"choices": []any{}}),
		"the model's own 401":   status(http.StatusUnauthorized),
		"429 after all retries": status(http.StatusTooManyRequests),
	} {
		t.Run(name+" is Unavailable", func(t *testing.T) {
			_, _, err := plan(t, a)
			require.ErrorIs(t, err, errs.ErrUnavailable)
		})
	}
	_, err := personal.NewModelPlanner("ftp://x", "m", "")
	require.ErrorIs(t, err, errs.ErrInvalid)
	_, err = personal.NewModelPlanner("http://x", " ", "")
	require.ErrorIs(t, err, errs.ErrInvalid)
}

// The chat uses the model's tool call, and the built-in parser when the
// model's answer is unusable.
func TestChatWithModel(t *testing.T) {
	dbtest.ForEachDB(t, personal.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := &fakeModel{answers: []func(w http.ResponseWriter){
			answer(completion("add_task", `{"task": "water the plants", "priority": "low"}`, "")),
			answer(completion("add_task", `not json`, "")),
		}}
		srv := httptest.NewServer(f)
		defer srv.Close()
		p, err := personal.NewModelPlanner(srv.URL+"/v1", "test-model", "sk-test", personal.WithModelRetries(0, time.Millisecond))
		require.NoError(t, err)
		svc := personal.New(personal.NewBunStore(db.DB), personal.Config{Planner: p})

		r, err := svc.Chat(ctx, "alice", "", "I should water the plants sometime")
		require.NoError(t, err)
		require.Len(t, r.Tasks, 1)
		assert.Equal(t, "water the plants", r.Tasks[0].Name)
		assert.Equal(t, personal.Low, r.Tasks[0].Priority)

		r, err = svc.Chat(ctx, "alice", r.SessionID, "list my tasks")
		require.NoError(t, err)
		assert.Len(t, r.Tasks, 1, "the built-in parser answered the malformed call's message")
		assert.Contains(t, r.Response, "Your tasks (1)")
	})
}
