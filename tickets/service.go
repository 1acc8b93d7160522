package tickets

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// Intake starts the work on a ticket: the workflow engine
// (workflow.Service) matches an initialized workflow and starts a task at
// its start step. It is called inside the ticket's transaction, with its
// ctx, and must join it (internal/store.RunInTx) so that the ticket and its
// task commit or roll back together. When no workflow matches it fails
// with an error that wraps workflow.ErrNoWorkflow.
type Intake interface {
	StartTask(ctx context.Context, in workflow.TaskStart) (workflow.Task, error)
}

// Auditor records the changes the service makes (package audit's Service),
// inside the change's transaction, with its ctx.
type Auditor interface {
	Record(ctx context.Context, c audit.Change) error
}

// Config configures a Service. The zero value works, with the defaults
// each field gives.
type Config struct {
	// Intake starts a task for each ticket. Nil leaves every ticket New.
	Intake Intake
	// Audit records every change. Nil records nothing.
	Audit Auditor
	// Random is the source of the ticket ids' random digits. Default
	// crypto/rand.Reader.
	Random io.Reader
	// Now is the service's clock. Default time.Now; readings are used in
	// UTC, truncated to microseconds.
	Now func() time.Time
}

// Service keeps tickets and hands them to intake. It is also the engine's
// workflow.TaskObserver, which keeps each ticket's status in step with its
// task.
type Service struct {
	store  Store
	intake Intake
	audit  Auditor
	random io.Reader
	now    func() time.Time
}

var _ workflow.TaskObserver = (*Service)(nil)

// New returns a Service on st.
func New(st Store, cfg Config) *Service {
	return &Service{store: st, intake: cfg.Intake, audit: cfg.Audit, random: cmp.Or[io.Reader](cfg.Random, rand.Reader), now: store.Clock(cfg.Now)}
}

// Result is a ticket as Submit and Update leave it, with what intake made
// of it.
type Result struct {
	Ticket
	// Message says why the ticket has no task ("" when it has one).
	Message string `json:"message,omitempty"`
}

// NoWorkflowMessage is Result.Message for a ticket that no workflow
// matched.
const NoWorkflowMessage = "No initialized workflow matches this ticket's department and category; it is stored as New, without a task."

// Submit stores a new ticket by who and, in the same transaction, hands it
// to intake. A ticket that no workflow matches is stored New, without a
// task, and the Result says so; any other intake error stores nothing.
func (s *Service) Submit(ctx context.Context, who Caller, in Input) (Result, error) {
	priority, err := in.Validate()
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	t := Ticket{
		Subject: strings.TrimSpace(in.Subject), Description: in.Description,
		Category: strings.TrimSpace(in.Category), SubCategory: strings.TrimSpace(in.SubCategory), Department: strings.TrimSpace(in.Department),
		Priority: priority, Status: StatusNew, Employee: in.Employee, CreatedAt: now, UpdatedAt: now,
	}
	if who.UserID != "" {
		t.SubmittedBy = &who.UserID
	}
	var res Result
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		if err := s.insert(ctx, st, &t); err != nil {
			return err
		}
		msg, err := s.startTask(ctx, &t)
		if err != nil {
			return err
		}
		if t.TaskID != nil {
			if err := st.Update(ctx, t); err != nil {
				return err
			}
		}
		res = Result{Ticket: t, Message: msg}
		return s.record(ctx, "create_ticket", t.ID, nil, t)
	})
	if err != nil {
		return Result{}, fmt.Errorf("submit ticket: %w", err)
	}
	return res, nil
}

// insert stores t under a fresh ticket id, trying another on a collision.
func (s *Service) insert(ctx context.Context, st Store, t *Ticket) error {
	for range MaxTicketIDAttempts {
		id, err := s.newTicketID()
		if err != nil {
			return err
		}
		t.TicketID = id
		ok, err := st.Insert(ctx, t)
		if err != nil || ok {
			return err
		}
	}
	return errs.Unavailablef("no free ticket id was found in %d attempts; try again", MaxTicketIDAttempts)
}

// newTicketID is "TX" + the UTC date + 6 uniformly random digits.
func (s *Service) newTicketID() (string, error) {
	n, err := rand.Int(s.random, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("ticket id: %w", err)
	}
	return fmt.Sprintf("TX%s%06d", s.now().UTC().Format("20060102"), n.Int64()), nil
}

// intakeKey marks the ctx of a ticket's intake, whose task changes the
// ticket itself takes in (TaskStatusChanged ignores them).
type intakeKey struct{}

// startTask hands t to intake and takes in its task. It returns the
// message of a ticket without a task.
func (s *Service) startTask(ctx context.Context, t *Ticket) (string, error) {
	if s.intake == nil {
		return NoWorkflowMessage, nil
	}
	task, err := s.intake.StartTask(context.WithValue(ctx, intakeKey{}, t.TicketID), workflow.TaskStart{
		TicketID: t.TicketID, Subject: t.Subject, Description: t.Description,
		Department: t.Department, Category: t.Category, SubCategory: t.SubCategory, Priority: t.Priority,
	})
	if errors.Is(err, workflow.ErrNoWorkflow) {
		return NoWorkflowMessage, nil
	}
	if err != nil {
		return "", fmt.Errorf("intake: %w", err)
	}
	t.TaskID, t.WorkflowID, t.OwnerID = &task.ID, &task.WorkflowID, task.TicketOwnerID
	t.Status = statusOf(task.Status)
	return "", nil
}

// statusOf is the ticket status of a task status.
func statusOf(s workflow.TaskStatus) Status {
	switch s {
	case workflow.TaskNew:
		return StatusOpen
	case workflow.TaskResolved:
		return StatusResolved
	default:
		return StatusInProgress
	}
}

// TaskStatusChanged implements workflow.TaskObserver: the ticket of task
// takes the status that follows from the task's, audited as an
// update_ticket. It runs in the task's transaction. A task without a
// ticket, or whose ticket was deleted, changes nothing.
func (s *Service) TaskStatusChanged(ctx context.Context, task workflow.Task) error {
	if task.TicketID == "" || ctx.Value(intakeKey{}) == task.TicketID {
		return nil
	}
	return s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		t, err := st.GetByTicketID(ctx, task.TicketID)
		if errors.Is(err, errs.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		before := t
		t.Status = statusOf(task.Status)
		t.TaskID, t.WorkflowID = &task.ID, &task.WorkflowID
		if task.TicketOwnerID != nil {
			t.OwnerID = task.TicketOwnerID
		}
		if t.Status == before.Status && deref(t.OwnerID) == deref(before.OwnerID) && before.TaskID != nil && *before.TaskID == task.ID {
			return nil
		}
		t.UpdatedAt = s.now()
		if err := st.Update(ctx, t); err != nil {
			return err
		}
		return s.record(ctx, "update_ticket", t.ID, before, t)
	})
}

// Get returns the ticket with id, when who may read it; a ticket who may
// not read is NotFound, as if it did not exist.
func (s *Service) Get(ctx context.Context, who Caller, id int64) (Ticket, error) {
	t, err := s.store.Get(ctx, id)
	return visible(who, t, err)
}

// GetByTicketID is Get by the "TX…" ticket id.
func (s *Service) GetByTicketID(ctx context.Context, who Caller, ticketID string) (Ticket, error) {
	if err := store.CheckText("ticket_id", ticketID); err != nil {
		return Ticket{}, err
	}
	t, err := s.store.GetByTicketID(ctx, ticketID)
	return visible(who, t, err)
}

func visible(who Caller, t Ticket, err error) (Ticket, error) {
	if err != nil {
		return Ticket{}, err
	}
	if !who.mayAccess(t) {
		return Ticket{}, errs.NotFoundf("ticket %d not found", t.ID)
	}
	return t, nil
}

// List returns one page of the tickets who may read that match f, newest
// first, and how many match.
func (s *Service) List(ctx context.Context, who Caller, f Filter, o ListOptions) ([]Ticket, int, error) {
	if err := store.CheckTexts(map[string]string{"status": string(f.Status), "priority": f.Priority, "department": f.Department, "category": f.Category}); err != nil {
		return nil, 0, err
	}
	p := problems{}
	size := cmp.Or(o.PageSize, DefaultPageSize)
	if size < 1 || size > MaxPageSize {
		p.add("page_size", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	// Bounded so that page times size cannot overflow.
	if o.Page < 0 || o.Page > math.MaxInt32/MaxPageSize {
		p.add("page", fmt.Sprintf("must be between 1 and %d", math.MaxInt32/MaxPageSize))
	}
	if f.Status != "" && !validStatus(f.Status) {
		p.add("status", "must be one of New, Open, In Progress, Resolved")
	}
	if f.Priority != "" {
		pr, ok := ParsePriority(f.Priority)
		if !ok {
			p.add("priority", "Invalid priority value: must be one of Low, Medium, High, Urgent.")
		}
		f.Priority = string(pr)
	}
	p.routing(f.Category, "", f.Department)
	if err := p.err("invalid ticket filter"); err != nil {
		return nil, 0, err
	}
	visibleTo := ""
	if !who.seesAll() {
		if who.UserID == "" {
			return nil, 0, nil
		}
		visibleTo = who.UserID
	}
	w := store.PageNumber(o.Page, size)
	return s.store.List(ctx, f, visibleTo, w.Limit, w.Offset)
}

func validStatus(st Status) bool {
	for _, v := range Statuses {
		if v == st {
			return true
		}
	}
	return false
}

// Update changes the ticket with id as u says, when who may (see Get). The
// fields that route a ticket change only while it is New, and such a
// change offers it to intake again.
func (s *Service) Update(ctx context.Context, who Caller, id int64, u Update) (Result, error) {
	p := problems{}
	if u.Subject != nil {
		p.subject(*u.Subject)
	}
	if u.Description != nil {
		p.text("description", *u.Description, MaxDescriptionLength)
	}
	p.routing(deref(u.Category), deref(u.SubCategory), deref(u.Department))
	var priority workflow.Priority
	if u.Priority != nil {
		if priority = p.priority(*u.Priority); strings.TrimSpace(*u.Priority) == "" {
			p.add("priority", "must not be empty")
		}
	}
	if err := p.err("invalid ticket"); err != nil {
		return Result{}, err
	}
	var res Result
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		got, err := st.Get(ctx, id)
		before, err := visible(who, got, err)
		if err != nil {
			return err
		}
		t := before
		if u.Subject != nil {
			t.Subject = strings.TrimSpace(*u.Subject)
		}
		if u.Description != nil {
			t.Description = *u.Description
		}
		if u.Priority != nil {
			t.Priority = priority
		}
		rerouted, err := t.reroute(u)
		if err != nil {
			return err
		}
		if rerouted {
			if res.Message, err = s.startTask(ctx, &t); err != nil {
				return err
			}
		} else if t.Status == StatusNew {
			res.Message = NoWorkflowMessage
		}
		t.UpdatedAt = s.now()
		if err := st.Update(ctx, t); err != nil {
			return err
		}
		res.Ticket = t
		return s.record(ctx, "update_ticket", t.ID, before, t)
	})
	if err != nil {
		return Result{}, fmt.Errorf("update ticket: %w", err)
	}
	return res, nil
}

// reroute applies u's routing fields to t and reports whether they
// changed, which only a New ticket allows.
func (t *Ticket) reroute(u Update) (bool, error) {
	changed := false
	p := problems{}
	for _, f := range []struct {
		name string
		in   *string
		to   *string
	}{{"category", u.Category, &t.Category}, {"subcategory", u.SubCategory, &t.SubCategory}, {"department", u.Department, &t.Department}} {
		if f.in == nil || strings.TrimSpace(*f.in) == *f.to {
			continue
		}
		if t.Status != StatusNew {
			p.add(f.name, fmt.Sprintf("cannot change once a workflow has taken the ticket (status %s)", t.Status))
			continue
		}
		*f.to, changed = strings.TrimSpace(*f.in), true
	}
	return changed, p.err("invalid ticket update")
}

// Delete deletes the ticket with id; only admins may. Its task, if any,
// stays with its history (it names the ticket by its ticket id).
func (s *Service) Delete(ctx context.Context, who Caller, id int64) error {
	if !who.Admin {
		return errs.Forbiddenf("only admins may delete tickets")
	}
	return s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		t, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		if err := st.Delete(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, "delete_ticket", id, t, nil)
	})
}

func (s *Service) record(ctx context.Context, action string, id int64, before, after any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Change{Action: action, TargetType: "Ticket", TargetID: strconv.FormatInt(id, 10), Before: before, After: after})
}
