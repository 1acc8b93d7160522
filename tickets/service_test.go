package tickets_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
	"github.com/bugflow/bugflow/workflow"
)

// probeRow is what probeIntake writes for each task it starts, through
// store.RunInTx as the workflow engine does, so that a test sees whether
// the intake's write committed or rolled back with the ticket.
type probeRow struct {
	bun.BaseModel `bun:"table:tickets_test_probe"`
	ID            int64  `bun:"id,pk,autoincrement"`
	TicketID      string `bun:"ticket_id,notnull"`
}

var probeMigrations = []store.Migration{{ID: "20261207119000", Comment: "tickets tests: intake probe", Up: func(ctx context.Context, tx bun.Tx) error {
	_, err := tx.NewCreateTable().Model((*probeRow)(nil)).Exec(ctx)
	return err
}}}

// probeIntake starts a "task" for tickets of department IT by writing a
// probe row; other departments match no workflow. failAfterWrite makes it
// fail once it has written.
type probeIntake struct {
	db             bun.IDB
	failAfterWrite bool
	owner          string
}

var errIntake = errors.New("intake broke after writing")

func (p *probeIntake) StartTask(ctx context.Context, in workflow.TaskStart) (workflow.Task, error) {
	if in.Department != "IT" {
		return workflow.Task{}, errs.Wrap(errs.NotFound, workflow.ErrNoWorkflow, "no workflow")
	}
	row := &probeRow{TicketID: in.TicketID}
	err := store.RunInTx(ctx, p.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewInsert().Model(row).Exec(ctx)
		return err
	})
	if err != nil {
		return workflow.Task{}, err
	}
	if p.failAfterWrite {
		return workflow.Task{}, errIntake
	}
	owner := p.owner
	return workflow.Task{ID: row.ID, WorkflowID: 7, TicketID: in.TicketID, Status: workflow.TaskNew, TicketOwnerID: &owner, Priority: in.Priority}, nil
}

type fixture struct {
	db     *store.DB
	svc    *tickets.Service
	intake *probeIntake
	audit  *audit.Service
}

var clock = time.Date(2026, 12, 5, 23, 59, 0, 0, time.UTC)

func newFixture(t *testing.T, db *store.DB, random []byte) fixture {
	f := fixture{db: db, intake: &probeIntake{db: db.DB, owner: "coord-1"}}
	f.audit = audit.New(audit.NewBunStore(db.DB), audit.Config{})
	cfg := tickets.Config{Intake: f.intake, Audit: f.audit, Now: func() time.Time { return clock }}
	if random != nil {
		cfg.Random = bytes.NewReader(random)
	}
	f.svc = tickets.New(tickets.NewBunStore(db.DB), cfg)
	return f
}

func migrations() []store.Migration {
	return slices.Concat(tickets.Migrations(), audit.Migrations(), probeMigrations)
}

func (f fixture) probes(t *testing.T) int {
	n, err := f.db.NewSelect().Model((*probeRow)(nil)).Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

func (f fixture) events(t *testing.T, action string) []audit.Event {
	events, _, err := f.audit.List(context.Background(), audit.Filter{Action: action}, 1, 100)
	require.NoError(t, err)
	return events
}

var laptop = tickets.Input{
	Subject: "Laptop not turning on", Description: "My laptop shows no signs of power",
	Category: "Technology", SubCategory: "Hardware", Department: "IT", Priority: "High",
	Employee: &tickets.Employee{ID: 101, Name: "John Smith", Email: "john.smith@company.com"},
}

var (
	admin     = tickets.Caller{UserID: "admin-1", Admin: true}
	alice     = tickets.Caller{UserID: "alice"}
	bob       = tickets.Caller{UserID: "bob"}
	coord     = tickets.Caller{UserID: "coord-2", Coordinator: true}
	ownerUser = tickets.Caller{UserID: "coord-1"}
)

func TestSubmitRunsIntakeInTheTicketsTransaction(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := audit.WithActor(context.Background(), audit.Actor{UserID: "alice", Username: "alice"})
		f := newFixture(t, db, nil)

		res, err := f.svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		assert.Regexp(t, `^TX20261205\d{6}$`, res.TicketID)
		assert.Equal(t, tickets.StatusOpen, res.Status)
		assert.Empty(t, res.Message)
		require.NotNil(t, res.TaskID)
		assert.Equal(t, int64(7), *res.WorkflowID)
		assert.Equal(t, "coord-1", *res.OwnerID)
		assert.Equal(t, "alice", *res.SubmittedBy)
		assert.Equal(t, *laptop.Employee, *res.Employee)
		assert.Equal(t, 1, f.probes(t))
		got, err := f.svc.Get(ctx, alice, res.ID)
		require.NoError(t, err)
		assert.Equal(t, res.Ticket, got)
		events := f.events(t, "create_ticket")
		require.Len(t, events, 1)
		assert.Equal(t, "Ticket", events[0].TargetType)
		assert.Contains(t, string(events[0].After), res.TicketID)

		// No workflow matches: stored New without a task, and it says so.
		hr := laptop
		hr.Department = "HR"
		res, err = f.svc.Submit(ctx, alice, hr)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusNew, res.Status)
		assert.Nil(t, res.TaskID)
		assert.Equal(t, tickets.NoWorkflowMessage, res.Message)
		_, err = f.svc.Get(ctx, alice, res.ID)
		require.NoError(t, err)

		// Any other intake failure rolls back the ticket, the intake's own
		// write and the audit event.
		f.intake.failAfterWrite = true
		_, err = f.svc.Submit(ctx, alice, laptop)
		require.ErrorIs(t, err, errIntake)
		assert.Equal(t, 1, f.probes(t), "the failed intake's write rolled back")
		_, n, err := f.svc.List(ctx, admin, tickets.Filter{}, tickets.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, n, "the failed ticket rolled back")
		assert.Len(t, f.events(t, "create_ticket"), 2)
	})
}

func TestTicketIDsAreRetriedOnACollision(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Three bytes make one draw of rand.Int below a million.
		f := newFixture(t, db, []byte{0, 0, 5, 0, 0, 5, 0x0f, 0x42, 0x3f})
		first, err := f.svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		assert.Equal(t, "TX20261205000005", first.TicketID)
		second, err := f.svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		assert.Equal(t, "TX20261205999999", second.TicketID, "the colliding draw was retried")
		assert.Equal(t, 2, f.probes(t))

		// A run of collisions as long as the attempts gives up, storing
		// nothing.
		same := bytes.Repeat([]byte{0, 0, 5}, tickets.MaxTicketIDAttempts)
		f = newFixture(t, db, same)
		_, err = f.svc.Submit(ctx, alice, laptop)
		require.ErrorIs(t, err, errs.ErrUnavailable)
		assert.Equal(t, 2, f.probes(t))
		// One attempt short of the limit still finds a free id.
		f = newFixture(t, db, append(bytes.Repeat([]byte{0, 0, 5}, tickets.MaxTicketIDAttempts-1), 0, 0, 6))
		third, err := f.svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		assert.Equal(t, "TX20261205000006", third.TicketID)
	})
}

func TestSubmitValidatesEveryField(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, nil)
		with := func(change func(in *tickets.Input)) tickets.Input {
			in := laptop
			e := *laptop.Employee
			in.Employee = &e
			change(&in)
			return in
		}
		ok := []tickets.Input{
			with(func(in *tickets.Input) { in.Subject = strings.Repeat("s", tickets.MaxSubjectLength) }),
			with(func(in *tickets.Input) { in.Description = strings.Repeat("é", tickets.MaxDescriptionLength) }),
			with(func(in *tickets.Input) { in.Category = strings.Repeat("c", tickets.MaxNameLength) }),
			with(func(in *tickets.Input) { in.Employee.Name = strings.Repeat("n", tickets.MaxEmployeeName) }),
			with(func(in *tickets.Input) { in.Priority = "uRGENT" }),
			with(func(in *tickets.Input) { in.Priority = "" }),
			with(func(in *tickets.Input) { in.Employee = nil }),
			with(func(in *tickets.Input) { in.Employee.ID = 0 }),
		}
		for _, in := range ok {
			res, err := f.svc.Submit(ctx, alice, in)
			require.NoError(t, err)
			assert.Contains(t, tickets.Priorities, res.Priority)
		}
		res, err := f.svc.Submit(ctx, alice, with(func(in *tickets.Input) { in.Priority = "uRGENT" }))
		require.NoError(t, err)
		assert.Equal(t, workflow.PriorityUrgent, res.Priority, "stored canonical")
		res, err = f.svc.Submit(ctx, alice, with(func(in *tickets.Input) { in.Priority = "" }))
		require.NoError(t, err)
		assert.Equal(t, workflow.PriorityMedium, res.Priority)

		bad := map[string]tickets.Input{
			"subject":        with(func(in *tickets.Input) { in.Subject = strings.Repeat("s", tickets.MaxSubjectLength+1) }),
			"description":    with(func(in *tickets.Input) { in.Description = strings.Repeat("é", tickets.MaxDescriptionLength+1) }),
			"category":       with(func(in *tickets.Input) { in.Category = strings.Repeat("c", tickets.MaxNameLength+1) }),
			"subcategory":    with(func(in *tickets.Input) { in.SubCategory = "nul\x00" }),
			"department":     with(func(in *tickets.Input) { in.Department = "bad\xff" }),
			"priority":       with(func(in *tickets.Input) { in.Priority = "Critical" }),
			"employee.name":  with(func(in *tickets.Input) { in.Employee.Name = strings.Repeat("n", tickets.MaxEmployeeName+1) }),
			"employee.email": with(func(in *tickets.Input) { in.Employee.Email = "not an email" }),
			"employee.id":    with(func(in *tickets.Input) { in.Employee.ID = -1 }),
		}
		for field, in := range bad {
			_, err := f.svc.Submit(ctx, alice, in)
			require.ErrorIs(t, err, errs.ErrInvalid, field)
			assert.Equal(t, []string{field}, errs.As(err).FieldNames(), field)
		}
		for _, subject := range []string{"", "   "} {
			_, err := f.svc.Submit(ctx, alice, with(func(in *tickets.Input) { in.Subject = subject }))
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{"subject"}, errs.As(err).FieldNames())
		}
		_, n, err := f.svc.List(ctx, admin, tickets.Filter{}, tickets.ListOptions{})
		require.NoError(t, err)
		assert.Equal(t, len(ok)+2, n, "no refused ticket was stored")
	})
}

func TestWhoMayReadChangeAndDeleteATicket(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, nil)
		mine, err := f.svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		hr := laptop
		hr.Department = "HR"
		bobs, err := f.svc.Submit(ctx, bob, hr)
		require.NoError(t, err)

		subject := "still dark"
		for _, who := range []tickets.Caller{alice, ownerUser, coord, admin} {
			_, err := f.svc.Get(ctx, who, mine.ID)
			require.NoError(t, err, who.UserID)
			_, err = f.svc.GetByTicketID(ctx, who, mine.TicketID)
			require.NoError(t, err, who.UserID)
			_, err = f.svc.Update(ctx, who, mine.ID, tickets.Update{Subject: &subject})
			require.NoError(t, err, who.UserID)
		}
		for _, who := range []tickets.Caller{bob, {}, {Coordinator: false, UserID: "coord-1x"}} {
			_, err := f.svc.Get(ctx, who, mine.ID)
			require.ErrorIs(t, err, errs.ErrNotFound, who.UserID)
			_, err = f.svc.GetByTicketID(ctx, who, mine.TicketID)
			require.ErrorIs(t, err, errs.ErrNotFound, who.UserID)
			_, err = f.svc.Update(ctx, who, mine.ID, tickets.Update{Subject: &subject})
			require.ErrorIs(t, err, errs.ErrNotFound, who.UserID)
		}

		ids := func(who tickets.Caller) []int64 {
			list, n, err := f.svc.List(ctx, who, tickets.Filter{}, tickets.ListOptions{})
			require.NoError(t, err)
			out := []int64{}
			for _, tk := range list {
				out = append(out, tk.ID)
			}
			assert.Len(t, out, n)
			return out
		}
		assert.Equal(t, []int64{mine.ID}, ids(alice))
		assert.Equal(t, []int64{mine.ID}, ids(ownerUser), "the owner sees the ticket they own")
		assert.Equal(t, []int64{bobs.ID}, ids(bob))
		assert.Equal(t, []int64{bobs.ID, mine.ID}, ids(coord))
		assert.Equal(t, []int64{bobs.ID, mine.ID}, ids(admin))
		assert.Empty(t, ids(tickets.Caller{}))

		for _, who := range []tickets.Caller{alice, coord, ownerUser} {
			require.ErrorIs(t, f.svc.Delete(ctx, who, mine.ID), errs.ErrForbidden, who.UserID)
		}
		require.NoError(t, f.svc.Delete(ctx, admin, mine.ID))
		_, err = f.svc.Get(ctx, admin, mine.ID)
		require.ErrorIs(t, err, errs.ErrNotFound)
		require.ErrorIs(t, f.svc.Delete(ctx, admin, mine.ID), errs.ErrNotFound)
		deleted := f.events(t, "delete_ticket")
		require.Len(t, deleted, 1)
		assert.Equal(t, "null", string(deleted[0].After))
		assert.Contains(t, string(deleted[0].Before), mine.TicketID)
	})
}

func TestUpdateKeepsRoutingOnceAWorkflowTookTheTicket(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, nil)
		taken, err := f.svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		hr := laptop
		hr.Department = "HR"
		waiting, err := f.svc.Submit(ctx, alice, hr)
		require.NoError(t, err)
		str := func(s string) *string { return &s }

		_, err = f.svc.Update(ctx, alice, taken.ID, tickets.Update{Department: str("HR"), Category: str("People")})
		require.ErrorIs(t, err, errs.ErrInvalid)
		assert.Equal(t, []string{"category", "department"}, errs.As(err).FieldNames())
		// Giving the same value is no change.
		res, err := f.svc.Update(ctx, alice, taken.ID, tickets.Update{Department: str("IT"), Priority: str("low"), Description: str("")})
		require.NoError(t, err)
		assert.Equal(t, workflow.PriorityLow, res.Priority)
		assert.Equal(t, "", res.Description)
		assert.Equal(t, tickets.StatusOpen, res.Status)
		for _, u := range []tickets.Update{{Priority: str("")}, {Priority: str("Critical")}, {Subject: str("")}, {Subject: str(strings.Repeat("s", tickets.MaxSubjectLength+1))}} {
			_, err = f.svc.Update(ctx, alice, taken.ID, u)
			require.ErrorIs(t, err, errs.ErrInvalid)
		}

		// A New ticket may be rerouted, and is offered to intake again.
		res, err = f.svc.Update(ctx, alice, waiting.ID, tickets.Update{Category: str("Paperwork")})
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusNew, res.Status)
		assert.Equal(t, tickets.NoWorkflowMessage, res.Message)
		assert.Equal(t, "Paperwork", res.Category)
		res, err = f.svc.Update(ctx, alice, waiting.ID, tickets.Update{Department: str("IT")})
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusOpen, res.Status)
		assert.NotNil(t, res.TaskID)
		assert.Empty(t, res.Message)

		updates := f.events(t, "update_ticket")
		require.Len(t, updates, 3)
		assert.Contains(t, string(updates[0].Before), `"department":"HR"`)
		assert.Contains(t, string(updates[0].After), `"department":"IT"`)
	})
}

func TestTicketStatusFollowsItsTask(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, nil)
		res, err := f.svc.Submit(ctx, alice, laptop)
		require.NoError(t, err)
		task := workflow.Task{ID: *res.TaskID, WorkflowID: 7, TicketID: res.TicketID, Status: workflow.TaskInProgress}
		require.NoError(t, store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			return f.svc.TaskStatusChanged(ctx, task)
		}))
		got, err := f.svc.Get(ctx, admin, res.ID)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusInProgress, got.Status)
		assert.Equal(t, "coord-1", *got.OwnerID, "an unchanged owner stays")

		// The change rolls back with the task's transaction.
		boom := errors.New("the transition failed")
		task.Status = workflow.TaskResolved
		err = store.RunInTx(ctx, db.DB, func(ctx context.Context, _ bun.IDB) error {
			require.NoError(t, f.svc.TaskStatusChanged(ctx, task))
			return boom
		})
		require.ErrorIs(t, err, boom)
		got, err = f.svc.Get(ctx, admin, res.ID)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusInProgress, got.Status)

		require.NoError(t, f.svc.TaskStatusChanged(ctx, task))
		got, err = f.svc.Get(ctx, admin, res.ID)
		require.NoError(t, err)
		assert.Equal(t, tickets.StatusResolved, got.Status)
		assert.Len(t, f.events(t, "update_ticket"), 2)
		// Told again, nothing changes and nothing is recorded.
		require.NoError(t, f.svc.TaskStatusChanged(ctx, task))
		assert.Len(t, f.events(t, "update_ticket"), 2)

		// Tasks without a ticket, or of a ticket that is gone, change nothing.
		require.NoError(t, f.svc.TaskStatusChanged(ctx, workflow.Task{ID: 99, Status: workflow.TaskResolved}))
		require.NoError(t, f.svc.TaskStatusChanged(ctx, workflow.Task{ID: 99, TicketID: "TX20261205000000", Status: workflow.TaskResolved}))
	})
}

func TestListFiltersAndPages(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, nil)
		for i := range 12 {
			in := laptop
			if i%3 == 0 {
				in.Department, in.Priority = "HR", "low"
			}
			_, err := f.svc.Submit(ctx, alice, in)
			require.NoError(t, err)
		}
		count := func(fl tickets.Filter, o tickets.ListOptions) (int, int) {
			list, n, err := f.svc.List(ctx, admin, fl, o)
			require.NoError(t, err)
			return len(list), n
		}
		got, n := count(tickets.Filter{}, tickets.ListOptions{})
		assert.Equal(t, []int{10, 12}, []int{got, n})
		got, _ = count(tickets.Filter{}, tickets.ListOptions{Page: 2})
		assert.Equal(t, 2, got)
		got, n = count(tickets.Filter{Status: tickets.StatusNew}, tickets.ListOptions{})
		assert.Equal(t, []int{4, 4}, []int{got, n})
		got, n = count(tickets.Filter{Status: tickets.StatusOpen, Priority: "HIGH", Department: "IT", Category: "Technology"}, tickets.ListOptions{PageSize: tickets.MaxPageSize})
		assert.Equal(t, []int{8, 8}, []int{got, n})
		got, _ = count(tickets.Filter{Priority: "Low"}, tickets.ListOptions{PageSize: 1})
		assert.Equal(t, 1, got)

		for field, c := range map[string]struct {
			f tickets.Filter
			o tickets.ListOptions
		}{
			"status":     {tickets.Filter{Status: "Closed"}, tickets.ListOptions{}},
			"priority":   {tickets.Filter{Priority: "Critical"}, tickets.ListOptions{}},
			"department": {tickets.Filter{Department: "a\x00"}, tickets.ListOptions{}},
			"page_size":  {tickets.Filter{}, tickets.ListOptions{PageSize: tickets.MaxPageSize + 1}},
			"page":       {tickets.Filter{}, tickets.ListOptions{Page: -1}},
		} {
			_, _, err := f.svc.List(ctx, admin, c.f, c.o)
			require.ErrorIs(t, err, errs.ErrInvalid, field)
			assert.Equal(t, []string{field}, errs.As(err).FieldNames())
		}
	})
}
