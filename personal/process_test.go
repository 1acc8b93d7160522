package personal_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/personal"
)

// clock is a movable clock shared by the services of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// outbox is a Mailer that keeps what it sends.
type outbox struct {
	mu   sync.Mutex
	sent []auth.Message
}

func (o *outbox) Send(_ context.Context, m auth.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

// people is a Directory from a map of user id to email.
type people map[string]string

func (p people) Contact(_ context.Context, id string) (string, string, error) {
	return p[id], strings.ToUpper(id[:1]) + id[1:], nil
}

var (
	admin = personal.Viewer{UserID: "root", Admin: true}
	alice = personal.Viewer{UserID: "alice"}
	bob   = personal.Viewer{UserID: "bob"}
)

func processIDs(ps []personal.Process) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func TestProcesses(t *testing.T) {
	dbtest.ForEachDB(t, personal.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// 07:00 in a zone five hours behind UTC.
		zone := time.FixedZone("UTC-5", -5*3600)
		clk := &clock{t: time.Date(2026, 12, 18, 7, 0, 0, 0, zone)}
		mail := &outbox{}
		rec := &changes{}
		cfg := personal.Config{Audit: rec, Now: clk.now, Location: zone, Mailer: mail, Directory: people{"alice": "alice@example.com"}, MaxProcessesPerUser: 2}
		svc := personal.New(personal.NewBunStore(db.DB), cfg)
		replica := personal.New(personal.NewBunStore(db.DB), cfg)
		require.NoError(t, svc.EnsureBuiltins(ctx))
		require.NoError(t, replica.EnsureBuiltins(ctx), "idempotent")

		t.Run("create validates on both sides of each rule", func(t *testing.T) {
			bad := func(in personal.NewProcess, field string) {
				t.Helper()
				_, err := svc.CreateProcess(ctx, "alice", in)
				require.ErrorIs(t, err, errs.ErrInvalid)
				assert.Equal(t, []string{field}, errs.As(err).FieldNames(), "%+v", in)
			}
			bad(personal.NewProcess{Name: " ", Trigger: personal.Manual, Action: personal.RescheduleOverdue}, "name")
			bad(personal.NewProcess{Name: strings.Repeat("n", personal.MaxProcessNameLength+1), Trigger: personal.Manual, Action: personal.RescheduleOverdue}, "name")
			bad(personal.NewProcess{Name: "x", Trigger: personal.EventBased, Action: personal.RescheduleOverdue}, "event")
			bad(personal.NewProcess{Name: "x", Trigger: personal.EventBased, Event: "task_deleted", Action: personal.RescheduleOverdue}, "event")
			bad(personal.NewProcess{Name: "x", Trigger: personal.EventBased, Event: personal.TaskCreated, Schedule: "0 9 * * *", Action: personal.RescheduleOverdue}, "schedule")
			bad(personal.NewProcess{Name: "x", Trigger: personal.Manual, Event: personal.TaskCreated, Action: personal.RescheduleOverdue}, "event")
			bad(personal.NewProcess{Name: "x", Trigger: personal.TimeBased, Schedule: "0 9 * * *", Event: personal.TaskCreated, Action: personal.RescheduleOverdue}, "event")
			bad(personal.NewProcess{Name: "x", Trigger: "hourly", Action: personal.RescheduleOverdue}, "trigger_type")
			bad(personal.NewProcess{Name: "x", Trigger: personal.TimeBased, Action: personal.RescheduleOverdue}, "schedule")
			bad(personal.NewProcess{Name: "x", Trigger: personal.TimeBased, Schedule: "61 * * * *", Action: personal.RescheduleOverdue}, "schedule")
			bad(personal.NewProcess{Name: "x", Trigger: personal.TimeBased, Schedule: "CRON_TZ=UTC 0 9 * * *", Action: personal.RescheduleOverdue}, "schedule")
			bad(personal.NewProcess{Name: "x", Trigger: personal.Manual, Schedule: "0 9 * * *", Action: personal.RescheduleOverdue}, "schedule")
			bad(personal.NewProcess{Name: "x", Trigger: personal.Manual, Action: "delete_everything"}, "action")

			_, err := svc.CreateProcess(ctx, "alice", personal.NewProcess{Name: strings.Repeat("n", personal.MaxProcessNameLength), Trigger: personal.Manual, Action: personal.RescheduleOverdue})
			require.NoError(t, err)
			_, err = svc.CreateProcess(ctx, "alice", personal.NewProcess{Name: "alice's 9 o'clock", Trigger: personal.TimeBased, Schedule: "0 9 * * *", Action: personal.RescheduleOverdue})
			require.NoError(t, err)
			_, err = svc.CreateProcess(ctx, "alice", personal.NewProcess{Name: "third", Trigger: personal.Manual, Action: personal.RescheduleOverdue})
			require.ErrorIs(t, err, errs.ErrConflict, "two processes each at most")
			_, err = svc.CreateProcess(ctx, "bob", personal.NewProcess{Name: "bob's", Trigger: personal.Manual, Action: personal.DailyDigest})
			require.NoError(t, err)
			assert.Equal(t, []string{"create_process personal_process", "create_process personal_process", "create_process personal_process"}, rec.actions(),
				"each creation audited, the refused ones not")
		})

		t.Run("users see the built-ins and their own; admins every one", func(t *testing.T) {
			all, err := svc.Processes(ctx, admin)
			require.NoError(t, err)
			assert.Len(t, all, 5)
			assert.Equal(t, "Reschedule overdue tasks", all[0].Name, "built-ins first")
			mine, err := svc.Processes(ctx, bob)
			require.NoError(t, err)
			assert.Equal(t, []string{"Reschedule overdue tasks", "Daily digest", "bob's"}, processIDs(mine))
			assert.Equal(t, "30 7 * * *", mine[0].Schedule)
			assert.Equal(t, personal.TimeBased, mine[0].Trigger)
			assert.True(t, mine[0].IsActive)
			assert.Nil(t, mine[0].LastExecution)

			alices, err := svc.Processes(ctx, alice)
			require.NoError(t, err)
			_, err = svc.Execute(ctx, bob, alices[2].ID)
			require.ErrorIs(t, err, errs.ErrNotFound, "another user's process is not found")
			_, _, err = svc.Executions(ctx, bob, alices[2].ID, 10, 0)
			require.ErrorIs(t, err, errs.ErrNotFound)
			_, err = svc.Execute(ctx, bob, personal.RescheduleOverdueID)
			require.ErrorIs(t, err, errs.ErrForbidden, "built-ins touch every user's tasks")
		})

		day := func(d, h, m int) *time.Time {
			v := time.Date(2026, 12, 18+d, h, m, 0, 0, zone)
			return &v
		}
		type seeded struct{ owner, id string }
		var overdue, done, future seeded
		t.Run("seed tasks", func(t *testing.T) {
			mk := func(owner string, in personal.NewTask) seeded {
				task, err := svc.CreateTask(ctx, owner, in)
				require.NoError(t, err)
				return seeded{owner, task.ID}
			}
			overdue = mk("alice", personal.NewTask{Name: "overdue", Status: personal.InProgress, DueDate: day(-3, 16, 45)})
			done = mk("alice", personal.NewTask{Name: "done", Status: personal.Completed, DueDate: day(-3, 16, 45)})
			future = mk("bob", personal.NewTask{Name: "later", DueDate: day(2, 9, 0)})
			mk("bob", personal.NewTask{Name: "bob overdue", DueDate: day(-1, 23, 59)})
			mk("alice", personal.NewTask{Name: "due today", DueDate: day(0, 18, 0)})
		})

		t.Run("the reschedule runs at 07:30 in the configured zone, once a tick, on one replica", func(t *testing.T) {
			clk.set(*day(0, 7, 29))
			ran, err := svc.RunDue(ctx)
			require.NoError(t, err)
			assert.Zero(t, ran, "not yet 07:30")

			clk.set(*day(0, 7, 30))
			var wg sync.WaitGroup
			counts := make([]int, 2)
			for i, s := range []*personal.Service{svc, replica} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := s.RunDue(ctx)
					assert.NoError(t, err)
					counts[i] = n
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, counts[0]+counts[1], "two replicas run one tick once")

			got, err := svc.Task(ctx, overdue.owner, overdue.id)
			require.NoError(t, err)
			assert.Equal(t, day(0, 16, 45).UTC(), *got.DueDate, "moved to today, keeping its time of day")
			got, err = svc.Task(ctx, done.owner, done.id)
			require.NoError(t, err)
			assert.Equal(t, day(-3, 16, 45).UTC(), *got.DueDate, "completed tasks stay")
			got, err = svc.Task(ctx, future.owner, future.id)
			require.NoError(t, err)
			assert.Equal(t, day(2, 9, 0).UTC(), *got.DueDate)
			bobs, err := svc.ListTasks(ctx, "bob", personal.Filter{Q: "bob overdue"})
			require.NoError(t, err)
			assert.Equal(t, day(0, 23, 59).UTC(), *bobs[0].DueDate)

			runs, n, err := svc.Executions(ctx, admin, personal.RescheduleOverdueID, 10, 0)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			assert.Equal(t, personal.ExecutionSuccess, runs[0].Status)
			assert.Equal(t, "moved 2 overdue task(s) to today", runs[0].Message)
			assert.Equal(t, day(0, 7, 30).UTC(), runs[0].StartedAt)
			require.NotNil(t, runs[0].CompletedAt)

			clk.set(*day(0, 7, 31))
			ran, err = svc.RunDue(ctx)
			require.NoError(t, err)
			assert.Zero(t, ran, "the 07:30 tick ran already")
		})

		t.Run("after downtime a missed run happens once", func(t *testing.T) {
			// Down from 07:31 on day 0 to 10:00 on day 3: the reschedule
			// missed three ticks, the digest (07:45) three too.
			clk.set(*day(3, 10, 0))
			ran, err := svc.RunDue(ctx)
			require.NoError(t, err)
			assert.Equal(t, 3, ran, "the reschedule, the digest and alice's 9 o'clock, once each")
			_, n, err := svc.Executions(ctx, admin, personal.RescheduleOverdueID, 10, 0)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			ran, err = svc.RunDue(ctx)
			require.NoError(t, err)
			assert.Zero(t, ran)
			ps, err := svc.Processes(ctx, alice)
			require.NoError(t, err)
			assert.Equal(t, day(3, 10, 0).UTC(), *ps[0].LastExecution)
		})

		t.Run("the digest mails users with an address their tasks due today", func(t *testing.T) {
			mail.mu.Lock()
			mail.sent = nil
			mail.mu.Unlock()
			// Day 3, when the reschedule has moved every unfinished task
			// to: alice's two, and bob's two (bob has no address).
			clk.set(*day(3, 12, 0))
			e, err := svc.Execute(ctx, admin, personal.DailyDigestID)
			require.NoError(t, err)
			assert.Equal(t, personal.ExecutionSuccess, e.Status, e.Message)
			assert.Equal(t, "mailed 1 digest(s); 1 user(s) without an email address skipped", e.Message)
			require.Len(t, mail.sent, 1)
			assert.Equal(t, "alice@example.com", mail.sent[0].To)
			assert.Equal(t, "2 task(s) due today", mail.sent[0].Subject)
			assert.Contains(t, mail.sent[0].Text, "16:45 overdue [medium, in_progress]")
			assert.Contains(t, mail.sent[0].Text, "18:00 due today")
			assert.NotContains(t, mail.sent[0].Text, "done")

			noMail := personal.New(personal.NewBunStore(db.DB), personal.Config{Now: clk.now})
			e, err = noMail.Execute(ctx, admin, personal.DailyDigestID)
			require.NoError(t, err)
			assert.Equal(t, personal.ExecutionFailed, e.Status)
			assert.Contains(t, e.Message, "no mail transport")
		})

		t.Run("a user's process works on their tasks only", func(t *testing.T) {
			clk.set(*day(5, 12, 0))
			mk, err := svc.CreateTask(ctx, "bob", personal.NewTask{Name: "bob late", DueDate: day(4, 8, 0)})
			require.NoError(t, err)
			al, err := svc.CreateTask(ctx, "alice", personal.NewTask{Name: "alice late", DueDate: day(4, 8, 0)})
			require.NoError(t, err)
			ps, err := svc.Processes(ctx, alice)
			require.NoError(t, err)
			e, err := svc.Execute(ctx, alice, ps[2].ID)
			require.NoError(t, err)
			assert.Equal(t, "moved 3 overdue task(s) to today", e.Message, "alice late, and alice's two of day 3")
			got, err := svc.Task(ctx, "bob", mk.ID)
			require.NoError(t, err)
			assert.Equal(t, day(4, 8, 0).UTC(), *got.DueDate)
			got, err = svc.Task(ctx, "alice", al.ID)
			require.NoError(t, err)
			assert.Equal(t, day(5, 8, 0).UTC(), *got.DueDate)
		})

		t.Run("one execution at a time; a stale one is failed after an hour", func(t *testing.T) {
			st := personal.NewBunStore(db.DB)
			start := clk.now()
			stuck := personal.Execution{ID: "stuck-run", ProcessID: personal.RescheduleOverdueID, Status: personal.ExecutionRunning, StartedAt: start}
			require.NoError(t, st.StartExecution(ctx, stuck))
			_, err := svc.Execute(ctx, admin, personal.RescheduleOverdueID)
			require.ErrorIs(t, err, errs.ErrConflict)
			clk.set(start.Add(personal.StaleRunAfter - time.Second))
			_, err = svc.Execute(ctx, admin, personal.RescheduleOverdueID)
			require.ErrorIs(t, err, errs.ErrConflict, "just under the limit it still counts as running")
			clk.set(start.Add(personal.StaleRunAfter + time.Second))
			e, err := svc.Execute(ctx, admin, personal.RescheduleOverdueID)
			require.NoError(t, err)
			assert.Equal(t, personal.ExecutionSuccess, e.Status)
			runs, _, err := svc.Executions(ctx, admin, personal.RescheduleOverdueID, 1, 1)
			require.NoError(t, err)
			require.Len(t, runs, 1)
			assert.Equal(t, "stuck-run", runs[0].ID, "newest first; page of one at offset one")
			assert.Equal(t, personal.ExecutionFailed, runs[0].Status)
			assert.Contains(t, runs[0].Message, "interrupted")
		})

		t.Run("a tick is claimed once", func(t *testing.T) {
			// What keeps replicas that read the same last tick from both
			// running it: only one conditional update wins.
			st := personal.NewBunStore(db.DB)
			tick := day(30, 7, 30).UTC()
			ok, err := st.ClaimTick(ctx, personal.DailyDigestID, tick)
			require.NoError(t, err)
			assert.True(t, ok)
			ok, err = st.ClaimTick(ctx, personal.DailyDigestID, tick)
			require.NoError(t, err)
			assert.False(t, ok, "the same tick again")
			ok, err = st.ClaimTick(ctx, personal.DailyDigestID, tick.Add(-time.Minute))
			require.NoError(t, err)
			assert.False(t, ok, "an earlier tick")
			ok, err = st.ClaimTick(ctx, personal.DailyDigestID, tick.Add(time.Minute))
			require.NoError(t, err)
			assert.True(t, ok, "a later one")
		})

		t.Run("execution pages are bounded", func(t *testing.T) {
			for _, tc := range []struct{ limit, offset int }{{0, 0}, {personal.MaxExecutionsPage + 1, 0}, {1, -1}} {
				_, _, err := svc.Executions(ctx, admin, personal.RescheduleOverdueID, tc.limit, tc.offset)
				require.ErrorIs(t, err, errs.ErrInvalid, "%+v", tc)
			}
			_, _, err := svc.Executions(ctx, admin, personal.RescheduleOverdueID, personal.MaxExecutionsPage, 0)
			require.NoError(t, err)
		})
	})
}
