package personal_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/personal"
)

// changes is an Auditor that keeps what it is told.
type changes struct {
	mu  sync.Mutex
	all []audit.Change
}

func (c *changes) Record(_ context.Context, ch audit.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, ch)
	return nil
}

func (c *changes) actions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ch := range c.all {
		out = append(out, ch.Action+" "+ch.TargetType)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func names(tasks []personal.Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.Name
	}
	return out
}

func TestTasks(t *testing.T) {
	dbtest.ForEachDB(t, personal.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 18, 10, 0, 0, 0, time.UTC)
		rec := &changes{}
		svc := personal.New(personal.NewBunStore(db.DB), personal.Config{Audit: rec, MaxTasksPerUser: 8, Now: func() time.Time { return now }})

		t.Run("create with defaults, normal tags and audit", func(t *testing.T) {
			due := time.Date(2025, 12, 31, 23, 59, 59, 0, time.FixedZone("x", 3600))
			task, err := svc.CreateTask(ctx, "alice", personal.NewTask{
				Name: "  Review documentation ", Description: "Check all API docs", DueDate: &due,
				Tags: []string{"Project", " urgent", "project"},
			})
			require.NoError(t, err)
			assert.NotEmpty(t, task.ID)
			assert.Equal(t, "Review documentation", task.Name)
			assert.Equal(t, personal.NotStarted, task.Status)
			assert.Equal(t, personal.Medium, task.Priority)
			assert.Equal(t, []string{"project", "urgent"}, task.Tags)
			assert.Equal(t, due.UTC(), *task.DueDate)
			assert.Equal(t, now, task.CreatedAt)

			got, err := svc.Task(ctx, "alice", task.ID)
			require.NoError(t, err)
			assert.Equal(t, task, got)
			assert.Equal(t, []string{"create_personal_task personal_task"}, rec.actions())
		})

		t.Run("validation on both sides of each limit", func(t *testing.T) {
			ok := func(in personal.NewTask) {
				t.Helper()
				task, err := svc.CreateTask(ctx, "limits", in)
				require.NoError(t, err)
				require.NoError(t, svc.DeleteTask(ctx, "limits", task.ID))
			}
			bad := func(in personal.NewTask, field string) {
				t.Helper()
				_, err := svc.CreateTask(ctx, "limits", in)
				require.ErrorIs(t, err, errs.ErrInvalid)
				assert.Equal(t, []string{field}, errs.As(err).FieldNames())
			}
			ok(personal.NewTask{Name: strings.Repeat("é", personal.MaxNameLength)})
			bad(personal.NewTask{Name: strings.Repeat("é", personal.MaxNameLength+1)}, "name")
			bad(personal.NewTask{Name: "   "}, "name")
			bad(personal.NewTask{Name: "a\x00b"}, "name")
			ok(personal.NewTask{Name: "d", Description: strings.Repeat("d", personal.MaxDescriptionLength)})
			bad(personal.NewTask{Name: "d", Description: strings.Repeat("d", personal.MaxDescriptionLength+1)}, "description")
			bad(personal.NewTask{Name: "p", Priority: "critical"}, "priority")
			bad(personal.NewTask{Name: "s", Status: "done"}, "status")
			many := make([]string, personal.MaxTags)
			for i := range many {
				many[i] = "t" + string(rune('a'+i))
			}
			ok(personal.NewTask{Name: "tags", Tags: many})
			bad(personal.NewTask{Name: "tags", Tags: append(many, "one-more")}, "tags")
			ok(personal.NewTask{Name: "tag", Tags: []string{strings.Repeat("t", personal.MaxTagLength)}})
			bad(personal.NewTask{Name: "tag", Tags: []string{strings.Repeat("t", personal.MaxTagLength+1)}}, "tags")
			bad(personal.NewTask{Name: "tag", Tags: []string{" "}}, "tags")
			_, err := svc.CreateTask(ctx, "", personal.NewTask{Name: "x"})
			require.ErrorIs(t, err, errs.ErrInvalid)
		})

		t.Run("at most MaxTasksPerUser tasks each", func(t *testing.T) {
			for i := range 8 {
				_, err := svc.CreateTask(ctx, "busy", personal.NewTask{Name: "t" + string(rune('0'+i))})
				require.NoError(t, err, "task %d of 8", i+1)
			}
			_, err := svc.CreateTask(ctx, "busy", personal.NewTask{Name: "ninth"})
			require.ErrorIs(t, err, errs.ErrConflict)
			_, err = svc.CreateTask(ctx, "not-busy", personal.NewTask{Name: "first"})
			require.NoError(t, err, "the bound is per user")
		})

		t.Run("owners see and change only their own", func(t *testing.T) {
			mine, err := svc.CreateTask(ctx, "carol", personal.NewTask{Name: "carol's"})
			require.NoError(t, err)
			_, err = svc.Task(ctx, "dave", mine.ID)
			require.ErrorIs(t, err, errs.ErrNotFound)
			_, err = svc.UpdateTask(ctx, "dave", mine.ID, personal.TaskChange{Name: ptr("mine now")})
			require.ErrorIs(t, err, errs.ErrNotFound)
			require.ErrorIs(t, svc.DeleteTask(ctx, "dave", mine.ID), errs.ErrNotFound)
			list, err := svc.ListTasks(ctx, "dave", personal.Filter{})
			require.NoError(t, err)
			assert.Empty(t, list)
			got, err := svc.Task(ctx, "carol", mine.ID)
			require.NoError(t, err)
			assert.Equal(t, "carol's", got.Name)
		})

		t.Run("update changes only what is given", func(t *testing.T) {
			due := now.Add(48 * time.Hour)
			task, err := svc.CreateTask(ctx, "erin", personal.NewTask{Name: "write", Description: "d", DueDate: &due, Tags: []string{"a"}})
			require.NoError(t, err)
			now = now.Add(time.Minute)
			got, err := svc.UpdateTask(ctx, "erin", task.ID, personal.TaskChange{Status: ptr(personal.InProgress), Priority: ptr(personal.High)})
			require.NoError(t, err)
			assert.Equal(t, personal.InProgress, got.Status)
			assert.Equal(t, personal.High, got.Priority)
			assert.Equal(t, "write", got.Name)
			assert.Equal(t, due, *got.DueDate)
			assert.Equal(t, []string{"a"}, got.Tags)
			assert.Equal(t, now, got.UpdatedAt)
			assert.Equal(t, task.CreatedAt, got.CreatedAt)

			got, err = svc.UpdateTask(ctx, "erin", task.ID, personal.TaskChange{ClearDueDate: true, Tags: &[]string{"B", "c"}})
			require.NoError(t, err)
			assert.Nil(t, got.DueDate)
			assert.Equal(t, []string{"b", "c"}, got.Tags)
			stored, err := svc.Task(ctx, "erin", task.ID)
			require.NoError(t, err)
			assert.Equal(t, got, stored)

			_, err = svc.UpdateTask(ctx, "erin", task.ID, personal.TaskChange{Name: ptr("")})
			require.ErrorIs(t, err, errs.ErrInvalid)
			_, err = svc.UpdateTask(ctx, "erin", task.ID, personal.TaskChange{Status: ptr(personal.Status("done"))})
			require.ErrorIs(t, err, errs.ErrInvalid)
			_, err = svc.UpdateTask(ctx, "erin", task.ID, personal.TaskChange{DueDate: &due, ClearDueDate: true})
			require.ErrorIs(t, err, errs.ErrInvalid)
			_, err = svc.UpdateTask(ctx, "erin", "no-such-id", personal.TaskChange{Name: ptr("x")})
			require.ErrorIs(t, err, errs.ErrNotFound)
		})

		t.Run("delete", func(t *testing.T) {
			task, err := svc.CreateTask(ctx, "frank", personal.NewTask{Name: "gone soon", Tags: []string{"x"}})
			require.NoError(t, err)
			require.NoError(t, svc.DeleteTask(ctx, "frank", task.ID))
			_, err = svc.Task(ctx, "frank", task.ID)
			require.ErrorIs(t, err, errs.ErrNotFound)
			require.ErrorIs(t, svc.DeleteTask(ctx, "frank", task.ID), errs.ErrNotFound)
			assert.Contains(t, rec.actions(), "delete_personal_task personal_task")
		})

		t.Run("filters", func(t *testing.T) {
			day := func(d int) *time.Time { v := now.AddDate(0, 0, d); return &v }
			for _, in := range []personal.NewTask{
				{Name: "Pay rent", Priority: personal.Urgent, DueDate: day(1), Tags: []string{"home", "money"}},
				{Name: "Write report", Description: "quarterly NUMBERS", Priority: personal.High, DueDate: day(3), Tags: []string{"work"}},
				{Name: "Read 100% of the book", Priority: personal.Low, Tags: []string{"home"}},
				{Name: "Call mum", Status: personal.Completed, DueDate: day(-2)},
			} {
				_, err := svc.CreateTask(ctx, "gina", in)
				require.NoError(t, err)
			}
			list := func(f personal.Filter) []string {
				t.Helper()
				got, err := svc.ListTasks(ctx, "gina", f)
				require.NoError(t, err)
				return names(got)
			}
			assert.Equal(t, []string{"Call mum", "Pay rent", "Write report", "Read 100% of the book"}, list(personal.Filter{}), "by due date, undated last")
			assert.Equal(t, []string{"Call mum"}, list(personal.Filter{Status: personal.Completed}))
			assert.Equal(t, []string{"Write report"}, list(personal.Filter{Priority: personal.High}))
			assert.Equal(t, []string{"Pay rent", "Read 100% of the book"}, list(personal.Filter{Tag: " HOME "}))
			assert.Equal(t, []string{"Call mum", "Pay rent"}, list(personal.Filter{DueBefore: day(3)}), "due_before is exclusive")
			assert.Equal(t, []string{"Write report"}, list(personal.Filter{DueAfter: day(1)}), "due_after is exclusive")
			assert.Equal(t, []string{"Write report"}, list(personal.Filter{Q: "numbers"}), "q searches descriptions in any case")
			assert.Equal(t, []string{"Pay rent"}, list(personal.Filter{Q: "RENT"}))
			assert.Equal(t, []string{"Read 100% of the book"}, list(personal.Filter{Q: "100%"}), "% is literal")
			assert.Empty(t, list(personal.Filter{Q: "_"}), "_ is literal")
			assert.Equal(t, []string{"Pay rent"}, list(personal.Filter{Tag: "home", DueBefore: day(2), Priority: personal.Urgent}))

			_, err := svc.ListTasks(ctx, "gina", personal.Filter{Status: "done"})
			assert.Equal(t, []string{"status"}, errs.As(err).FieldNames())
			_, err = svc.ListTasks(ctx, "gina", personal.Filter{Priority: "critical"})
			assert.Equal(t, []string{"priority"}, errs.As(err).FieldNames())
			_, err = svc.ListTasks(ctx, "gina", personal.Filter{Q: strings.Repeat("q", personal.MaxQueryLength)})
			require.NoError(t, err)
			_, err = svc.ListTasks(ctx, "gina", personal.Filter{Q: strings.Repeat("q", personal.MaxQueryLength+1)})
			assert.Equal(t, []string{"q"}, errs.As(err).FieldNames())
			_, err = svc.ListTasks(ctx, "gina", personal.Filter{Tag: strings.Repeat("t", personal.MaxTagLength+1)})
			assert.Equal(t, []string{"tag"}, errs.As(err).FieldNames())
		})

		t.Run("every change is audited", func(t *testing.T) {
			acts := rec.actions()
			for _, a := range []string{"create_personal_task", "update_personal_task", "delete_personal_task"} {
				assert.True(t, slices.Contains(acts, a+" personal_task"), a)
			}
		})
	})
}
