package personal

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Auditor records the changes the service makes (package audit's Service),
// inside the change's transaction.
type Auditor interface {
	Record(ctx context.Context, c audit.Change) error
}

// Config configures a Service. The zero value works.
type Config struct {
	// Audit, when set, records every change to a task.
	Audit Auditor
	// MaxTasksPerUser bounds how many tasks one user may keep (creating
	// one more is a Conflict). Default DefaultMaxTasksPerUser.
	MaxTasksPerUser int
	// Processes stores automated processes. Default: the task Store, when
	// it implements ProcessStore (BunStore does).
	Processes ProcessStore
	// MaxProcessesPerUser bounds how many processes one user may keep.
	// Default DefaultMaxProcessesPerUser.
	MaxProcessesPerUser int
	// Location is the time zone that process schedules and "today" are
	// evaluated in. Default UTC.
	Location *time.Location
	// Mailer sends the daily digest; Directory says where. Without both,
	// digests fail with a message saying so.
	Mailer    auth.Mailer
	Directory Directory
	// Planner reads chat messages. Default BuiltinPlanner.
	Planner Planner
	// Chats stores chat sessions. Default: the task Store, when it
	// implements ChatStore (BunStore does).
	Chats ChatStore
	// Events enqueues the runs of event-based processes. Without it, no
	// event starts a process (they still run manually).
	Events EventQueue
	// Logger receives the service's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the service's clock. Default time.Now; readings are used in
	// UTC, truncated to microseconds.
	Now func() time.Time
}

// Service manages personal tasks.
type Service struct {
	store        Store
	processes    ProcessStore
	chats        ChatStore
	planner      Planner
	audit        Auditor
	maxTasks     int
	maxProcesses int
	loc          *time.Location
	mailer       auth.Mailer
	directory    Directory
	events       EventQueue
	log          *slog.Logger
	now          func() time.Time
}

// New returns a Service on st.
func New(st Store, cfg Config) *Service {
	s := &Service{
		store: st, processes: cfg.Processes, audit: cfg.Audit,
		maxTasks:     cmp.Or(cfg.MaxTasksPerUser, DefaultMaxTasksPerUser),
		maxProcesses: cmp.Or(cfg.MaxProcessesPerUser, DefaultMaxProcessesPerUser),
		loc:          cfg.Location,
		mailer:       cfg.Mailer, directory: cfg.Directory, events: cfg.Events,
		log: cmp.Or(cfg.Logger, slog.Default()),
		now: store.Clock(cfg.Now),
	}
	if s.processes == nil {
		s.processes, _ = st.(ProcessStore)
	}
	if s.chats = cfg.Chats; s.chats == nil {
		s.chats, _ = st.(ChatStore)
	}
	if s.planner = cfg.Planner; s.planner == nil {
		s.planner = BuiltinPlanner{}
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	return s
}

// targetType names personal tasks in the audit trail.
const targetType = "personal_task"

// CreateTask stores a new task of owner.
func (s *Service) CreateTask(ctx context.Context, owner string, in NewTask) (Task, error) {
	if owner == "" {
		return Task{}, errs.Invalidf("personal: a task needs an owner")
	}
	now := s.now()
	t := Task{
		ID: uuid.NewString(), OwnerID: owner, Name: in.Name, Description: in.Description,
		Status: cmp.Or(in.Status, NotStarted), Priority: cmp.Or(in.Priority, Medium),
		DueDate: utcMicro(in.DueDate), CreatedAt: now, UpdatedAt: now,
	}
	tags, err := normalTags(in.Tags)
	if err != nil {
		return Task{}, err
	}
	t.Tags = tags
	if err := t.validate(); err != nil {
		return Task{}, err
	}
	t.Name = strings.TrimSpace(t.Name)
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		n, err := st.Count(ctx, owner)
		if err != nil {
			return err
		}
		if n >= s.maxTasks {
			return errs.Conflictf("you have %d tasks, the most one user may keep: delete some first", n)
		}
		if err := st.Insert(ctx, t); err != nil {
			return err
		}
		if err := s.record(ctx, "create_personal_task", t.ID, nil, t); err != nil {
			return err
		}
		return s.fire(ctx, TaskCreated, owner, t.ID)
	})
	if err != nil {
		return Task{}, fmt.Errorf("personal: create task: %w", err)
	}
	return t, nil
}

// Task returns owner's task id.
func (s *Service) Task(ctx context.Context, owner, id string) (Task, error) {
	t, err := s.store.Get(ctx, owner, id)
	if err != nil {
		return Task{}, fmt.Errorf("personal: get task: %w", err)
	}
	return t, nil
}

// UpdateTask applies ch to owner's task id and returns it as stored.
func (s *Service) UpdateTask(ctx context.Context, owner, id string, ch TaskChange) (Task, error) {
	var tags []string
	if ch.Tags != nil {
		var err error
		if tags, err = normalTags(*ch.Tags); err != nil {
			return Task{}, err
		}
	}
	if ch.ClearDueDate && ch.DueDate != nil {
		return Task{}, errs.InvalidField("due_date", "cannot be both set and cleared")
	}
	var out Task
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		before, err := st.Get(ctx, owner, id)
		if err != nil {
			return err
		}
		t := before
		if ch.Name != nil {
			t.Name = *ch.Name
		}
		if ch.Description != nil {
			t.Description = *ch.Description
		}
		if ch.Status != nil {
			t.Status = *ch.Status
		}
		if ch.Priority != nil {
			t.Priority = *ch.Priority
		}
		if ch.DueDate != nil {
			t.DueDate = utcMicro(ch.DueDate)
		}
		if ch.ClearDueDate {
			t.DueDate = nil
		}
		if ch.Tags != nil {
			t.Tags = tags
		}
		if err := t.validate(); err != nil {
			return err
		}
		t.Name = strings.TrimSpace(t.Name)
		t.UpdatedAt = s.now()
		if err := st.Update(ctx, t); err != nil {
			return err
		}
		out = t
		if err := s.record(ctx, "update_personal_task", t.ID, before, t); err != nil {
			return err
		}
		if err := s.fire(ctx, TaskUpdated, owner, t.ID); err != nil {
			return err
		}
		if t.Status == Completed && before.Status != Completed {
			return s.fire(ctx, TaskCompleted, owner, t.ID)
		}
		return nil
	})
	if err != nil {
		return Task{}, fmt.Errorf("personal: update task: %w", err)
	}
	return out, nil
}

// DeleteTask removes owner's task id.
func (s *Service) DeleteTask(ctx context.Context, owner, id string) error {
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		before, err := st.Get(ctx, owner, id)
		if err != nil {
			return err
		}
		if err := st.Delete(ctx, owner, id); err != nil {
			return err
		}
		return s.record(ctx, "delete_personal_task", id, before, nil)
	})
	if err != nil {
		return fmt.Errorf("personal: delete task: %w", err)
	}
	return nil
}

// ListTasks returns owner's tasks matching f (at most MaxTasksPerUser, so
// every one), by due date with undated ones last, then by creation.
func (s *Service) ListTasks(ctx context.Context, owner string, f Filter) ([]Task, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	f.Tag = strings.ToLower(strings.TrimSpace(f.Tag))
	f.DueBefore, f.DueAfter = utcMicro(f.DueBefore), utcMicro(f.DueAfter)
	tasks, err := s.store.List(ctx, owner, f, s.maxTasks)
	if err != nil {
		return nil, fmt.Errorf("personal: list tasks: %w", err)
	}
	return tasks, nil
}

// record has the Auditor record a change inside its transaction.
func (s *Service) record(ctx context.Context, action, id string, before, after any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Change{Action: action, TargetType: targetType, TargetID: id, Before: before, After: after})
}

// utcMicro is t as the database keeps it, or nil.
func utcMicro(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}
