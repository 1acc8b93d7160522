package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/notify"
)

// The task engine. Every change runs in one transaction that first locks
// the task's row (PostgreSQL: FOR UPDATE; SQLite transactions hold the
// write lock), so that two changes to one task take turns and the second
// sees what the first did. Who holds a role is read BEFORE that
// transaction (through People, which joins a transaction ctx already
// carries), because SQLite has one connection; the transaction then checks
// that the definitions it planned on still stand, and plans again when
// they changed.

// planTries bounds how often a change is planned again when the
// definitions it planned on change under it.
const planTries = 3

// errStale says that the definitions a change was planned on changed.
var errStale = errors.New("the workflow changed while the change was planned")

// staleConflict is what a change that kept going stale returns.
func staleConflict(what string) error {
	return errs.Conflictf("%s: the workflow kept changing while it was planned; try again", what)
}

// roleStaff is a role with its name and holders, read before a
// transaction.
type roleStaff struct {
	id      int64
	name    string
	holders []Holder
}

// staff reads a role's name and holders; a role that no longer exists has
// none.
func (s *Service) staff(ctx context.Context, roleID *int64) (*roleStaff, error) {
	if roleID == nil {
		return nil, nil
	}
	r := &roleStaff{id: *roleID}
	if s.people == nil {
		return r, nil
	}
	name, err := s.people.RoleName(ctx, *roleID)
	if errors.Is(err, errs.ErrNotFound) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up role %d: %w", *roleID, err)
	}
	r.name = name
	if r.holders, err = s.people.RoleHolders(ctx, *roleID); err != nil {
		return nil, fmt.Errorf("look up holders of role %d: %w", *roleID, err)
	}
	return r, nil
}

// coordinators reads the Ticket Coordinators; nil when there is no such
// role.
func (s *Service) coordinators(ctx context.Context) (*roleStaff, error) {
	if s.people == nil {
		return nil, nil
	}
	id, err := s.people.CoordinatorRole(ctx)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up the Ticket Coordinator role: %w", err)
	}
	return s.staff(ctx, &id)
}

// pick takes the role's next holder in turn, or reports none.
func pick(ctx context.Context, st Store, r *roleStaff) (Holder, bool, error) {
	if r == nil || len(r.holders) == 0 {
		return Holder{}, false, nil
	}
	turn, err := st.NextTurn(ctx, r.id)
	if err != nil {
		return Holder{}, false, err
	}
	return r.holders[(turn-1)%int64(len(r.holders))], true, nil
}

// sameRole reports whether a step names the role that was planned on.
func sameRole(id *int64, r *roleStaff) bool {
	if id == nil || r == nil {
		return id == nil && r == nil
	}
	return *id == r.id
}

// slaFor is the SLA for priority p, if there is one.
func (w SLAs) slaFor(p Priority) *time.Duration {
	var d *Duration
	switch p {
	case PriorityLow:
		d = w.Low
	case PriorityMedium:
		d = w.Medium
	case PriorityHigh:
		d = w.High
	case PriorityUrgent:
		d = w.Urgent
	}
	if d == nil {
		return nil
	}
	v := time.Duration(*d)
	return &v
}

// stepTarget is when a step assigned at now should be done: now + the
// task's SLA × the step's weight over the sum of the workflow's weights
// (equal shares when they sum to 0), in SLA time on clk; nil without an
// SLA.
func stepTarget(clk slaClock, w Workflow, p Priority, step Step, steps []Step, now time.Time) *time.Time {
	sla := w.slaFor(p)
	if sla == nil {
		return nil
	}
	sum := 0.0
	for _, s := range steps {
		sum += s.Weight
	}
	share := 1 / float64(len(steps))
	if sum > 0 {
		share = step.Weight / sum
	}
	t := clk.add(now, time.Duration(float64(*sla)*share))
	return &t
}

// startPlan is what creating a task needs read before its transaction.
type startPlan struct {
	workflow Workflow
	start    Step
	role     *roleStaff
	owners   *roleStaff
}

// StartTask is intake: it starts a task for a ticket on the initialized
// (or deployed) workflow whose department and category match the ticket's
// (in any case, trimmed); where several do, the one whose sub_category is
// the ticket's subcategory, else the oldest. None is a NotFound error
// wrapping ErrNoWorkflow. The task stands at the start step with target
// created + SLA(priority); a Ticket Coordinator owns it in turn and the
// start step's role is assigned in turn; a role with no holders leaves the
// task waiting unassigned. Called inside the caller's transaction (ctx),
// it joins it. Priority "" is Medium.
func (s *Service) StartTask(ctx context.Context, in TaskStart) (Task, error) {
	t := TaskInput{TicketID: in.TicketID, Subject: in.Subject, Description: in.Description, Priority: in.Priority}
	if err := t.check(); err != nil {
		return Task{}, err
	}
	// Intake is the system's doing: its history names no user.
	return s.startTask(ctx, nil, t, func(ctx context.Context, st Store) (Workflow, error) {
		ws, _, err := st.ListWorkflows(ctx, 0, 0)
		if err != nil {
			return Workflow{}, err
		}
		w, ok := matchWorkflow(ws, in)
		if !ok {
			return Workflow{}, errs.Wrap(errs.NotFound, ErrNoWorkflow, "no initialized workflow has department %q and category %q", in.Department, in.Category)
		}
		return w, nil
	})
}

// usable reports whether tasks may start on a workflow in status st.
func usable(st Status) bool { return st == StatusInitialized || st == StatusDeployed }

// matchWorkflow picks the workflow for a ticket; ws are by id.
func matchWorkflow(ws []Workflow, in TaskStart) (Workflow, bool) {
	dept, cat, sub := strings.TrimSpace(in.Department), strings.TrimSpace(in.Category), strings.TrimSpace(in.SubCategory)
	var found []Workflow
	for _, w := range ws {
		if usable(w.Status) && strings.EqualFold(w.Department, dept) && strings.EqualFold(w.Category, cat) {
			found = append(found, w)
		}
	}
	if len(found) == 0 {
		return Workflow{}, false
	}
	for _, w := range found {
		if sub != "" && strings.EqualFold(w.SubCategory, sub) {
			return w, true
		}
	}
	return found[0], true
}

// check validates a task's details, defaulting its priority.
func (in *TaskInput) check() error {
	p := problems{}
	in.Subject = strings.TrimSpace(in.Subject)
	if in.Subject == "" {
		p.add("subject", "This field is required.")
	}
	p.text("subject", in.Subject, MaxNameLength)
	p.text("description", in.Description, MaxTextLength)
	p.text("ticket_id", in.TicketID, MaxNameLength)
	if in.Priority == "" {
		in.Priority = PriorityMedium
	}
	if !in.Priority.Valid() {
		p.add("priority", "Invalid priority value: must be Low, Medium, High or Urgent.")
	}
	return p.err("invalid task")
}

// CreateTask starts a task on the workflow in.WorkflowID as StartTask does
// (owner, assignment, targets); only admins may. A workflow that is not
// initialized or deployed is a Conflict.
func (s *Service) CreateTask(ctx context.Context, actor Actor, in TaskInput) (Task, error) {
	if !actor.Admin {
		return Task{}, errs.Forbiddenf("only admins may create tasks")
	}
	if err := in.check(); err != nil {
		return Task{}, err
	}
	return s.startTask(ctx, &actor, in, func(ctx context.Context, st Store) (Workflow, error) {
		w, err := st.TaskWorkflow(ctx, in.WorkflowID)
		if errors.Is(err, errs.ErrNotFound) {
			return Workflow{}, errs.InvalidField("workflow_id", fmt.Sprintf("workflow %d does not exist", in.WorkflowID))
		}
		if err != nil {
			return Workflow{}, err
		}
		if !usable(w.Status) {
			return Workflow{}, errs.Conflictf("workflow %q is %s; tasks start only on initialized or deployed workflows", w.Name, w.Status)
		}
		return w, nil
	})
}

// startTask plans a task on the workflow that find returns and creates it.
func (s *Service) startTask(ctx context.Context, actor *Actor, in TaskInput, find func(ctx context.Context, st Store) (Workflow, error)) (Task, error) {
	for range planTries {
		var plan startPlan
		err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
			var err error
			if plan.workflow, err = find(ctx, st); err != nil {
				return err
			}
			steps, _, err := st.ListSteps(ctx, plan.workflow.ID, 0, 0)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(steps, func(s Step) bool { return s.IsStart })
			if i < 0 {
				return errs.Conflictf("workflow %q has no start step", plan.workflow.Name)
			}
			plan.start = steps[i]
			return nil
		})
		if err != nil {
			return Task{}, fmt.Errorf("start task: %w", err)
		}
		if plan.role, err = s.staff(ctx, plan.start.RoleID); err != nil {
			return Task{}, err
		}
		if plan.owners, err = s.coordinators(ctx); err != nil {
			return Task{}, err
		}
		t, err := s.createTask(ctx, actor, in, plan)
		if !errors.Is(err, errStale) {
			return t, err
		}
	}
	return Task{}, staleConflict("start task")
}

// createTask is one try of startTask.
func (s *Service) createTask(ctx context.Context, actor *Actor, in TaskInput, plan startPlan) (Task, error) {
	var t Task
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		// Locking the workflow makes a graph change and a new task take
		// turns: the change counts the tasks, the task reads the graph.
		w, err := st.GetWorkflow(ctx, plan.workflow.ID)
		if err != nil {
			return err
		}
		steps, _, err := st.ListSteps(ctx, w.ID, 0, 0)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(steps, func(s Step) bool { return s.ID == plan.start.ID && s.IsStart })
		if !usable(w.Status) || i < 0 || !sameRole(steps[i].RoleID, plan.role) {
			return errStale
		}
		start := steps[i]
		now := s.now()
		t = Task{
			WorkflowID: w.ID, TicketID: in.TicketID, Subject: in.Subject, Description: in.Description, Priority: in.Priority,
			Status: TaskNew, CurrentStep: StepRef{ID: start.ID, Name: start.Name}, CreatedAt: now, UpdatedAt: now, SLAState: SLAOnTime,
			SLAVersion: w.SLAVersion,
		}
		clk, err := w.policy().clock()
		if err != nil {
			return err
		}
		t.TargetResolution = w.policy().target(clk, t.Priority, now, 0)
		owner, ok, err := pick(ctx, st, plan.owners)
		if err != nil {
			return err
		}
		if ok {
			t.TicketOwnerID = &owner.UserID
		}
		if err := st.InsertTask(ctx, &t, searchText(t.Subject, t.Description)); err != nil {
			return err
		}
		if err := s.history(ctx, st, actor, t.ID, LogCreated, start.ID, "", now); err != nil {
			return err
		}
		if err := addSLAEvent(ctx, st, t, SLAEventStart, now, 0); err != nil {
			return err
		}
		a, err := s.assign(ctx, st, actor, t, w, start, steps, plan.role, now)
		if err != nil {
			return err
		}
		if err := s.observe(ctx, t); err != nil {
			return err
		}
		return s.record(ctx, "create_task", "Task", t.ID, nil, TaskDetail{Task: t, Assignments: a})
	})
	if errors.Is(err, errStale) {
		return Task{}, err
	}
	if err != nil {
		return Task{}, fmt.Errorf("start task: %w", err)
	}
	return t, nil
}

// searchText is what all-tasks search matches of a task's own text.
func searchText(subject, description string) string {
	return strings.ToLower(subject + "\n" + description)
}

// assign gives step of task t to the next holder of role in turn, with
// the step's target from now; with no holder the task waits unassigned
// (logged). It returns the assignments made (none or one).
func (s *Service) assign(ctx context.Context, st Store, actor *Actor, t Task, w Workflow, step Step, steps []Step, role *roleStaff, now time.Time) ([]Assignment, error) {
	h, ok, err := pick(ctx, st, role)
	if err != nil {
		return nil, err
	}
	if !ok {
		return []Assignment{}, s.history(ctx, st, actor, t.ID, LogUnassigned, step.ID, "the step's role has no users; the task waits unassigned", now)
	}
	clk, err := w.policy().clock()
	if err != nil {
		return nil, err
	}
	a := Assignment{
		TaskID: t.ID, UserID: h.UserID, Username: h.Username, RoleID: role.id, RoleName: role.name, StepID: step.ID,
		Status: AssignmentNew, Origin: OriginSystem, TargetResolution: stepTarget(clk, w, t.Priority, step, steps, now), AssignedAt: now,
	}
	if err := s.addAssignment(ctx, st, &a); err != nil {
		return nil, err
	}
	return []Assignment{a}, s.history(ctx, st, actor, t.ID, LogAssigned, step.ID, "assigned to "+h.Username, now)
}

// addAssignment stores a, makes the task findable by its holder and tells
// the holder (an assignment, a transfer or an escalation, by a's origin).
func (s *Service) addAssignment(ctx context.Context, st Store, a *Assignment) error {
	a.SLAState = SLAOnTime
	if err := st.InsertAssignment(ctx, a); err != nil {
		return err
	}
	if err := st.AddSearchText(ctx, a.TaskID, strings.ToLower(a.Username)); err != nil {
		return err
	}
	kind := "assigned"
	switch a.Origin {
	case OriginTransferred:
		kind = "transferred"
	case OriginEscalation:
		kind = "escalated"
	}
	return s.notify(ctx, notify.Message{
		Key: "task_item:" + strconv.FormatInt(a.ID, 10) + ":" + kind, Kind: kind, Recipient: a.UserID, TaskID: a.TaskID, TaskItemID: a.ID,
		Subject: fmt.Sprintf("Task %d is yours (%s)", a.TaskID, kind),
		Body:    fmt.Sprintf("Task %d was %s to you as %s. Notes: %s", a.TaskID, kind, a.RoleName, a.Notes),
	})
}

// history adds a line to a task's history; a nil actor is the system.
func (s *Service) history(ctx context.Context, st Store, actor *Actor, taskID int64, action string, stepID int64, notes string, at time.Time) error {
	e := LogEntry{TaskID: taskID, Action: action, StepID: stepID, Notes: notes, At: at, Username: "system"}
	if actor != nil {
		id := actor.UserID
		e.UserID, e.Username = &id, actor.Username
	}
	return st.InsertLog(ctx, &e)
}

// observe tells the Observer of t's status.
func (s *Service) observe(ctx context.Context, t Task) error {
	if s.observer == nil {
		return nil
	}
	return s.observer.TaskStatusChanged(ctx, t)
}

// canSee reports whether actor may read and work a task: admins, the
// ticket's owner and anyone with an assignment on it, active or not.
func canSee(actor Actor, t Task, items []Assignment) bool {
	if actor.Admin || (t.TicketOwnerID != nil && *t.TicketOwnerID == actor.UserID) {
		return true
	}
	return slices.ContainsFunc(items, func(a Assignment) bool { return a.UserID == actor.UserID })
}

// readTask reads a task and its assignments in st, the task's row locked
// when lock is set, for an actor who may see it (Forbidden otherwise).
func readTask(ctx context.Context, st Store, actor Actor, id int64, lock bool) (TaskDetail, error) {
	read := st.GetTask
	if lock {
		read = st.LockTask
	}
	t, err := read(ctx, id)
	if err != nil {
		return TaskDetail{}, err
	}
	items, err := st.Assignments(ctx, id)
	if err != nil {
		return TaskDetail{}, err
	}
	if !canSee(actor, t, items) {
		return TaskDetail{}, errs.Forbiddenf("only admins, the ticket's owner and people assigned to task %d may see it", id)
	}
	return TaskDetail{Task: t, Assignments: items}, nil
}

// GetTask returns a task with its assignments to an actor who may see it
// (admins, the ticket's owner, anyone assigned to it); others are
// Forbidden.
func (s *Service) GetTask(ctx context.Context, actor Actor, id int64) (TaskDetail, error) {
	var d TaskDetail
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		var err error
		d, err = readTask(ctx, st, actor, id, false)
		return err
	})
	if err != nil {
		return TaskDetail{}, fmt.Errorf("task %d: %w", id, err)
	}
	return d, nil
}

// ListTasks returns one page of the tasks actor may see, newest first,
// with their assignments, and how many there are: every task for an
// admin, the tasks one owns or is assigned to for others.
func (s *Service) ListTasks(ctx context.Context, actor Actor, o ListOptions) ([]TaskDetail, int, error) {
	f := TaskFilter{}
	if !actor.Admin {
		f.VisibleTo = &actor.UserID
	}
	return s.listTasks(ctx, f, o)
}

// AllTasks returns one page of every task, newest first, in a tab and
// matching a search; only admins may.
func (s *Service) AllTasks(ctx context.Context, actor Actor, f AllTasksFilter, o ListOptions) ([]TaskDetail, int, error) {
	if !actor.Admin {
		return nil, 0, errs.Forbiddenf("only admins may list all tasks")
	}
	switch f.Tab {
	case "", TabActive, TabInactive, TabUnassigned:
	default:
		return nil, 0, errs.InvalidField("tab", "must be active, inactive or unassigned")
	}
	p := problems{}
	p.text("search", f.Search, MaxNameLength)
	if err := p.err("invalid search"); err != nil {
		return nil, 0, err
	}
	return s.listTasks(ctx, TaskFilter{Tab: f.Tab, Search: strings.ToLower(strings.TrimSpace(f.Search))}, o)
}

// OwnedTickets returns one page of the tasks whose ticket actor owns (as a
// Ticket Coordinator), newest first.
func (s *Service) OwnedTickets(ctx context.Context, actor Actor, o ListOptions) ([]TaskDetail, int, error) {
	return s.listTasks(ctx, TaskFilter{OwnerID: &actor.UserID}, o)
}

func (s *Service) listTasks(ctx context.Context, f TaskFilter, o ListOptions) ([]TaskDetail, int, error) {
	limit, offset, err := o.window()
	if err != nil {
		return nil, 0, err
	}
	var out []TaskDetail
	var total int
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		tasks, n, err := st.ListTasks(ctx, f, limit, offset)
		if err != nil {
			return err
		}
		total = n
		ids := make([]int64, len(tasks))
		for i, t := range tasks {
			ids[i] = t.ID
		}
		items, err := st.Assignments(ctx, ids...)
		if err != nil {
			return err
		}
		byTask := map[int64][]Assignment{}
		for _, a := range items {
			byTask[a.TaskID] = append(byTask[a.TaskID], a)
		}
		out = make([]TaskDetail, len(tasks))
		for i, t := range tasks {
			out[i] = TaskDetail{Task: t, Assignments: byTask[t.ID]}
			if out[i].Assignments == nil {
				out[i].Assignments = []Assignment{}
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list tasks: %w", err)
	}
	return out, total, nil
}

// MyTasks returns one page of actor's assignments, newest first, with
// their tasks, and how many there are.
func (s *Service) MyTasks(ctx context.Context, actor Actor, f MyTasksFilter, o ListOptions) ([]MyTask, int, error) {
	switch f.AssignmentStatus {
	case "", AssignmentNew, AssignmentInProgress, AssignmentResolved, AssignmentEscalated, AssignmentReassigned, AssignmentBreached:
	default:
		return nil, 0, errs.InvalidField("assignment_status", "must be new, in progress, resolved, escalated, reassigned or breached")
	}
	limit, offset, err := o.window()
	if err != nil {
		return nil, 0, err
	}
	var out []MyTask
	var total int
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		var err error
		out, total, err = st.UserAssignments(ctx, actor.UserID, f, limit, offset)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("my tasks: %w", err)
	}
	return out, total, nil
}

// UpdateTask replaces a task's subject, description and priority (its
// target follows the priority: created + the SLA for it under the task's
// policy version + its paused time), for an actor who may see the task.
func (s *Service) UpdateTask(ctx context.Context, actor Actor, id int64, in TaskInput) (TaskDetail, error) {
	if err := in.check(); err != nil {
		return TaskDetail{}, err
	}
	var d TaskDetail
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		cur, err := readTask(ctx, st, actor, id, true)
		if err != nil {
			return err
		}
		t, items := cur.Task, cur.Assignments
		p, clk, err := policyClock(ctx, st, t.WorkflowID, t.SLAVersion, nil)
		if err != nil {
			return err
		}
		before := t
		t.Subject, t.Description, t.Priority, t.UpdatedAt = in.Subject, in.Description, in.Priority, s.now()
		t.TargetResolution = p.target(clk, t.Priority, t.CreatedAt, time.Duration(t.PausedSeconds)*time.Second)
		if err := st.UpdateTask(ctx, t); err != nil {
			return err
		}
		if t.Priority != before.Priority {
			if err := addSLAEvent(ctx, st, t, SLAEventRetarget, t.UpdatedAt, 0); err != nil {
				return err
			}
		}
		text := searchText(t.Subject, t.Description)
		for _, a := range items {
			text += "\n" + strings.ToLower(a.Username)
		}
		if err := st.SetSearchText(ctx, id, text); err != nil {
			return err
		}
		if err := s.history(ctx, st, &actor, id, LogUpdated, t.CurrentStep.ID, "", t.UpdatedAt); err != nil {
			return err
		}
		d = TaskDetail{Task: t, Assignments: items}
		return s.record(ctx, "update_task", "Task", id, before, t)
	})
	if err != nil {
		return TaskDetail{}, fmt.Errorf("update task %d: %w", id, err)
	}
	return d, nil
}

// DeleteTask deletes a task with its assignments and history; only admins
// may.
func (s *Service) DeleteTask(ctx context.Context, actor Actor, id int64) error {
	if !actor.Admin {
		return errs.Forbiddenf("only admins may delete tasks")
	}
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		t, err := st.LockTask(ctx, id)
		if err != nil {
			return err
		}
		items, err := st.Assignments(ctx, id)
		if err != nil {
			return err
		}
		if err := st.DeleteTask(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, "delete_task", "Task", id, TaskDetail{Task: t, Assignments: items}, nil)
	})
	if err != nil {
		return fmt.Errorf("delete task %d: %w", id, err)
	}
	return nil
}
