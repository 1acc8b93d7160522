package personal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/personal"
)

func TestChat(t *testing.T) {
	dbtest.ForEachDB(t, personal.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Wednesday 16 December 2026.
		clk := &clock{t: time.Date(2026, 12, 16, 10, 0, 0, 0, time.UTC)}
		svc := personal.New(personal.NewBunStore(db.DB), personal.Config{Now: clk.now})
		say := func(session, msg string) personal.ChatReply {
			t.Helper()
			r, err := svc.Chat(ctx, "alice", session, msg)
			require.NoError(t, err, msg)
			return r
		}

		first := say("", "remind me to review the docs by Friday, high priority")
		require.NotEmpty(t, first.SessionID, "a new session")
		require.Len(t, first.Tasks, 1)
		docs := first.Tasks[0]
		assert.Equal(t, "review the docs", docs.Name)
		assert.Equal(t, personal.High, docs.Priority)
		assert.Equal(t, time.Date(2026, 12, 18, 23, 59, 59, 0, time.UTC), *docs.DueDate)
		assert.Contains(t, first.Response, `Added "review the docs"`)
		sid := first.SessionID

		say(sid, "add buy milk tomorrow #home")
		say(sid, "add pay rent today")
		clk.set(clk.now().AddDate(0, 0, 1)) // Thursday
		r := say(sid, "what's overdue?")
		require.Len(t, r.Tasks, 1)
		assert.Equal(t, "pay rent", r.Tasks[0].Name)

		r = say(sid, "mark the docs task done")
		require.Len(t, r.Tasks, 1)
		assert.Equal(t, docs.ID, r.Tasks[0].ID)
		assert.Equal(t, personal.Completed, r.Tasks[0].Status)

		r = say(sid, "make buy milk urgent")
		assert.Equal(t, personal.Urgent, r.Tasks[0].Priority)
		r = say(sid, "move pay rent to next Monday")
		assert.Equal(t, time.Date(2026, 12, 21, 23, 59, 59, 0, time.UTC), *r.Tasks[0].DueDate)
		r = say(sid, "show tasks tagged home")
		require.Len(t, r.Tasks, 1)
		assert.Equal(t, "buy milk", r.Tasks[0].Name)
		r = say(sid, "search for rent")
		require.Len(t, r.Tasks, 1)
		r = say(sid, "how am I doing?")
		assert.Equal(t, "You have 3 task(s): 2 not started, 0 in progress, 0 blocked, 1 completed (33%); 0 overdue.", r.Response)
		assert.Empty(t, r.Tasks)
		r = say(sid, "group my tasks by priority")
		assert.Contains(t, r.Response, "urgent (1): buy milk")
		assert.Len(t, r.Tasks, 3)

		say(sid, "add pay the plumber")
		r = say(sid, "remove pay")
		assert.Contains(t, r.Response, `Several tasks match "pay"`, "ambiguous: nothing removed")
		assert.Len(t, r.Tasks, 2)
		r = say(sid, "remove pay rent")
		assert.Contains(t, r.Response, `Removed "pay rent"`)
		require.Len(t, r.Tasks, 1, "the removed task, as it was")
		r = say(sid, "delete the unicorn task")
		assert.Equal(t, `I found no task matching "unicorn".`, r.Response)
		r = say(sid, "add "+strings.Repeat("n", personal.MaxNameLength+1))
		assert.Contains(t, r.Response, "I could not do that", "the user's mistake is an answer")
		r = say(sid, "hello")
		assert.Contains(t, r.Response, "I can add")

		history, err := svc.ChatHistory(ctx, "alice", sid)
		require.NoError(t, err)
		require.Len(t, history, 2*17)
		assert.Equal(t, "user", history[0].Role)
		assert.Equal(t, "remind me to review the docs by Friday, high priority", history[0].Content)
		assert.Equal(t, "assistant", history[len(history)-1].Role)

		other, err := svc.ChatHistory(ctx, "bob", sid)
		require.NoError(t, err)
		assert.Empty(t, other, "another user's session of the same id is theirs")
		r, err = svc.Chat(ctx, "bob", sid, "list my tasks")
		require.NoError(t, err)
		assert.Empty(t, r.Tasks, "bob's chat sees bob's tasks")

		for range 20 {
			say(sid, "list my tasks")
		}
		history, err = svc.ChatHistory(ctx, "alice", sid)
		require.NoError(t, err)
		assert.Len(t, history, personal.ChatHistoryLimit, "history is bounded")
		assert.Equal(t, "remove pay", history[0].Content, "74 messages: the oldest 24 (12 exchanges) went")

		_, err = svc.Chat(ctx, "alice", sid, strings.Repeat("m", personal.MaxChatMessageLength))
		require.NoError(t, err)
		_, err = svc.Chat(ctx, "alice", sid, strings.Repeat("m", personal.MaxChatMessageLength+1))
		assert.Equal(t, []string{"message"}, errs.As(err).FieldNames())
		_, err = svc.Chat(ctx, "alice", sid, "  ")
		assert.Equal(t, []string{"message"}, errs.As(err).FieldNames())
		_, err = svc.Chat(ctx, "alice", strings.Repeat("s", personal.MaxSessionIDLength), "hi")
		require.NoError(t, err)
		_, err = svc.Chat(ctx, "alice", strings.Repeat("s", personal.MaxSessionIDLength+1), "hi")
		assert.Equal(t, []string{"session_id"}, errs.As(err).FieldNames())
	})
}
