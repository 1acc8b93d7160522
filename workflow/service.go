package workflow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Roles names the roles that steps are worked by. The engine passes auth's
// roles; any other directory of roles will do.
type Roles interface {
	// RoleName returns the name of the role with id, or an errs.NotFound
	// error when there is none.
	RoleName(ctx context.Context, id int64) (string, error)
}

// TaskCounter says how many tasks run on a workflow's definitions. The
// task engine provides it. A workflow with tasks cannot be deleted, have
// its graph replaced or lose a step or transition, because its tasks
// stand on them.
type TaskCounter interface {
	// CountTasks returns how many tasks a workflow has. It is called
	// inside the transaction of the change, with that transaction's ctx,
	// after the workflow's row is locked.
	CountTasks(ctx context.Context, workflowID int64) (int, error)
}

// Auditor records the changes the service makes (package audit's Service).
// Record is called inside the change's transaction, with its ctx, so that
// an event is stored exactly when its change is.
type Auditor interface {
	Record(ctx context.Context, c audit.Change) error
}

// Config configures a Service. The zero value works, with the defaults
// each field gives.
type Config struct {
	// Roles checks the role ids that steps name and supplies role_name.
	// Nil accepts any positive role id and leaves role_name "", for an
	// embedder without roles.
	Roles Roles
	// Tasks counts a workflow's tasks. Nil counts the tasks of this
	// Service's own task engine, in the transaction of the change.
	Tasks TaskCounter
	// People are who tasks are assigned to: role holders, users, Ticket
	// Coordinators. Nil means no one: tasks wait unassigned, transitions
	// to a step with a role are Unavailable and transfers find no user.
	People People
	// Observer hears of every task's creation and change of status, in
	// the transaction of the change. Nil tells no one.
	Observer TaskObserver
	// Breaches hears of every task that breaches its SLA, in the
	// transaction that marks it. Nil tells no one.
	Breaches BreachObserver
	// Audit records every change. Nil records nothing.
	Audit Auditor
	// Notifier stores the notifications that task changes cause
	// (assignment, transfer, escalation, SLA warning and breach, a
	// resolved task), in the change's transaction. Nil sends none.
	Notifier Notifier
	// Logger receives the service's logs (steps that name a role that no
	// longer exists). Default slog.Default().
	Logger *slog.Logger
	// Now is the service's clock. Default time.Now; readings are used in
	// UTC, truncated to microseconds.
	Now func() time.Time
}

// Service defines workflows: their details, SLAs and graphs of steps and
// transitions, and the check that makes a draft usable.
type Service struct {
	store    Store
	roles    Roles
	tasks    TaskCounter
	people   People
	observer TaskObserver
	breaches BreachObserver
	audit    Auditor
	notifier Notifier
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Service on st.
func New(st Store, cfg Config) *Service {
	return &Service{store: st, roles: cfg.Roles, tasks: cfg.Tasks, people: cfg.People, observer: cfg.Observer, breaches: cfg.Breaches, audit: cfg.Audit, notifier: cfg.Notifier, log: cmp.Or(cfg.Logger, slog.Default()), now: store.Clock(cfg.Now)}
}

// CreateWorkflow stores a draft workflow and, when graph is not nil, its
// graph, in one transaction. Every problem with in and graph is named in
// one Invalid error; a name that another workflow has, in any case, is a
// Conflict.
func (s *Service) CreateWorkflow(ctx context.Context, in WorkflowInput, graph *GraphInput) (Created, error) {
	p := problems{}
	slas := in.check(p)
	var g GraphInput
	if graph != nil {
		g = *graph
	}
	names, err := s.checkGraph(ctx, p, g)
	if err != nil {
		return Created{}, err
	}
	if err := p.err("invalid workflow"); err != nil {
		return Created{}, err
	}
	now := s.now()
	w := Workflow{Status: StatusDraft, CreatedAt: now, UpdatedAt: now, SLAVersion: 1}
	w.setDetails(in, slas)
	var created Created
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		if err := st.InsertWorkflow(ctx, &w); err != nil {
			return err
		}
		if err := st.InsertSLAPolicy(ctx, w.policy()); err != nil {
			return err
		}
		var err error
		if created, err = insertGraph(ctx, st, w.ID, g, names); err != nil {
			return err
		}
		return s.record(ctx, "create_workflow", "Workflow", w.ID, nil, auditGraph{w, created.Graph})
	})
	if err != nil {
		return Created{}, fmt.Errorf("create workflow: %w", err)
	}
	created.Workflow = w
	return created, nil
}

func (w *Workflow) setDetails(in WorkflowInput, slas SLAs) {
	w.Name, w.Description = strings.TrimSpace(in.Name), in.Description
	w.Category, w.SubCategory, w.Department = strings.TrimSpace(in.Category), strings.TrimSpace(in.SubCategory), strings.TrimSpace(in.Department)
	w.SLAs = slas
	w.Calendar = nil
	if in.Calendar != nil {
		c := in.Calendar.normal()
		w.Calendar = &c
	}
}

// insertGraph stores g as workflow's graph, whose roles are named in names.
func insertGraph(ctx context.Context, st Store, workflowID int64, g GraphInput, names map[int64]string) (Created, error) {
	c := Created{TempIDMapping: map[string]int64{}, Detail: Detail{Graph: Graph{Nodes: []Node{}, Edges: []Transition{}}}}
	for i, n := range g.Nodes {
		step := newStep(workflowID, n.StepInput, i+1)
		if err := st.InsertStep(ctx, &step); err != nil {
			return Created{}, err
		}
		step.RoleName = roleName(names, step.RoleID)
		c.TempIDMapping[n.TempID] = step.ID
		c.Graph.Nodes = append(c.Graph.Nodes, Node{Step: step, TempID: n.TempID})
	}
	for _, e := range g.Edges {
		t := Transition{WorkflowID: workflowID, FromStepID: c.TempIDMapping[e.FromTempID], ToStepID: c.TempIDMapping[e.ToTempID], Name: strings.TrimSpace(e.Name)}
		if err := st.InsertTransition(ctx, &t); err != nil {
			return Created{}, err
		}
		c.Graph.Edges = append(c.Graph.Edges, t)
	}
	return c, nil
}

// newStep is the step that in describes, with defaultOrder when in has no
// order.
func newStep(workflowID int64, in StepInput, defaultOrder int) Step {
	return Step{
		WorkflowID: workflowID, Name: strings.TrimSpace(in.Name), Description: in.Description, Instruction: in.Instruction,
		RoleID: in.RoleID, EscalateTo: in.EscalateTo, Weight: deref(in.Weight, DefaultWeight),
		Order: deref(in.Order, defaultOrder), IsStart: in.IsStart, IsEnd: in.IsEnd, Design: in.Design,
	}
}

func deref[T any](p *T, otherwise T) T {
	if p == nil {
		return otherwise
	}
	return *p
}

// GetWorkflow returns one workflow.
func (s *Service) GetWorkflow(ctx context.Context, id int64) (Workflow, error) {
	return s.store.GetWorkflow(ctx, id)
}

// ListWorkflows returns one page of workflows, oldest first, and how many
// there are.
func (s *Service) ListWorkflows(ctx context.Context, o ListOptions) ([]Workflow, int, error) {
	limit, offset, err := o.window()
	if err != nil {
		return nil, 0, err
	}
	return s.store.ListWorkflows(ctx, limit, offset)
}

// DeleteWorkflow deletes a workflow with its steps and transitions. A
// workflow with tasks is a Conflict.
func (s *Service) DeleteWorkflow(ctx context.Context, id int64) error {
	return s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		w, err := st.GetWorkflow(ctx, id)
		if err != nil {
			return err
		}
		if err := s.checkNoTasks(ctx, st, w, "it cannot be deleted"); err != nil {
			return err
		}
		if err := st.DeleteWorkflow(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, "delete_workflow", "Workflow", id, w, nil)
	})
}

// UpdateDetails replaces a workflow's details, SLAs and calendar (not its
// status or graph). A workflow that is not a draft must keep a category.
// A change of the SLAs or the calendar makes a new SLA policy version and
// re-targets the workflow's open tasks by the rule SLAPolicy's file
// documents, in the same transaction.
func (s *Service) UpdateDetails(ctx context.Context, id int64, in WorkflowInput) (Workflow, error) {
	slas, err := in.Validate()
	if err != nil {
		return Workflow{}, err
	}
	var w Workflow
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		if w, err = st.GetWorkflow(ctx, id); err != nil {
			return err
		}
		before := w
		w.setDetails(in, slas)
		w.UpdatedAt = s.now()
		changed := !samePolicy(before, w)
		if changed {
			w.SLAVersion++
		}
		if err := st.UpdateWorkflow(ctx, w); err != nil {
			return err
		}
		if err := keepUsable(ctx, st, w); err != nil {
			return err
		}
		if err := s.record(ctx, "update_workflow", "Workflow", id, before, w); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		if err := st.InsertSLAPolicy(ctx, w.policy()); err != nil {
			return err
		}
		return s.retarget(ctx, st, w)
	})
	if err != nil {
		return Workflow{}, fmt.Errorf("update workflow %d: %w", id, err)
	}
	return w, nil
}

// SetStatus moves a workflow between initialized, deployed and paused, or
// back to draft. A draft leaves draft only through Initialize (Conflict).
func (s *Service) SetStatus(ctx context.Context, id int64, status Status) (Workflow, error) {
	if !status.Valid() {
		return Workflow{}, errs.InvalidField("status", fmt.Sprintf("must be one of %v", Statuses))
	}
	var w Workflow
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		var err error
		if w, err = st.GetWorkflow(ctx, id); err != nil {
			return err
		}
		if w.Status == StatusDraft && status != StatusDraft {
			return errs.Conflictf("workflow %q is a draft: initialize it first", w.Name)
		}
		before := w
		w.Status, w.UpdatedAt = status, s.now()
		if err := st.UpdateWorkflow(ctx, w); err != nil {
			return err
		}
		return s.record(ctx, "set_workflow_status", "Workflow", id, before, w)
	})
	if err != nil {
		return Workflow{}, fmt.Errorf("set status of workflow %d: %w", id, err)
	}
	return w, nil
}

// UpdateGraph replaces a workflow's whole graph in one transaction: on any
// failure the old graph stays. A workflow with tasks is a Conflict; one
// that is not a draft must get a graph that keeps every rule of
// Initialize.
func (s *Service) UpdateGraph(ctx context.Context, id int64, g GraphInput) (Created, error) {
	p := problems{}
	names, err := s.checkGraph(ctx, p, g)
	if err != nil {
		return Created{}, err
	}
	if err := p.err("invalid graph"); err != nil {
		return Created{}, err
	}
	var created Created
	err = s.changeGraph(ctx, id, "its graph cannot be replaced", func(ctx context.Context, st Store, w Workflow) error {
		before, err := loadGraph(ctx, st, id)
		if err != nil {
			return err
		}
		if err := st.DeleteSteps(ctx, id); err != nil {
			return err
		}
		if created, err = insertGraph(ctx, st, id, g, names); err != nil {
			return err
		}
		created.Workflow = w
		return s.record(ctx, "update_workflow_graph", "Workflow", id, before, created.Graph)
	})
	if err != nil {
		return Created{}, fmt.Errorf("update graph of workflow %d: %w", id, err)
	}
	return created, nil
}

// checkGraph adds g's problems to p, unknown roles included, and returns
// the names of the roles it names.
func (s *Service) checkGraph(ctx context.Context, p problems, g GraphInput) (map[int64]string, error) {
	g.check(p)
	names := map[int64]string{}
	for i, n := range g.Nodes {
		if err := s.checkRoles(ctx, p, names, fmt.Sprintf("graph.nodes[%d].", i), n.StepInput); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// Graph returns a workflow's steps, in order, and transitions.
func (s *Service) Graph(ctx context.Context, id int64) (Graph, error) {
	d, err := s.Detail(ctx, id)
	return d.Graph, err
}

// Detail returns a workflow with its graph.
func (s *Service) Detail(ctx context.Context, id int64) (Detail, error) {
	var d Detail
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		var err error
		if d.Workflow, err = st.GetWorkflow(ctx, id); err != nil {
			return err
		}
		d.Graph, err = loadGraph(ctx, st, id)
		return err
	})
	if err != nil {
		return Detail{}, fmt.Errorf("workflow %d: %w", id, err)
	}
	return d, s.nameRoles(ctx, d.Graph.Nodes)
}

// loadGraph reads a workflow's graph, roles not named.
func loadGraph(ctx context.Context, st Store, workflowID int64) (Graph, error) {
	steps, _, err := st.ListSteps(ctx, workflowID, 0, 0)
	if err != nil {
		return Graph{}, err
	}
	edges, _, err := st.ListTransitions(ctx, workflowID, 0, 0)
	if err != nil {
		return Graph{}, err
	}
	g := Graph{Nodes: make([]Node, len(steps)), Edges: edges}
	for i, step := range steps {
		g.Nodes[i] = Node{Step: step}
	}
	return g, nil
}

// Initialize makes a draft usable when it keeps every rule: it has a name
// and a category; it has steps, each with a role that exists; exactly one
// is the start and at least one is an end; every step can be reached from
// the start and an end can; every step that is not an end has a transition
// out. Otherwise it is an Invalid error naming each broken rule (under
// "name", "category" and "graph"). Initializing an initialized workflow
// changes nothing; a deployed or paused one is a Conflict.
func (s *Service) Initialize(ctx context.Context, id int64) (Detail, error) {
	// Roles are looked up before the transaction, not in it: the directory
	// of roles may need the database connection that the transaction holds
	// (SQLite has one). A graph that names other roles by the time the
	// transaction reads it is checked again.
	for range initializeTries {
		exists, err := s.rolesOfGraph(ctx, id)
		if err != nil {
			return Detail{}, fmt.Errorf("initialize workflow %d: %w", id, err)
		}
		d, err := s.initialize(ctx, id, exists)
		if !errors.Is(err, errRolesChanged) {
			return d, err
		}
	}
	return Detail{}, errs.Conflictf("workflow %d: its graph kept changing while it was checked; try again", id)
}

// initializeTries bounds how often Initialize checks a graph whose roles
// change under it.
const initializeTries = 3

// errRolesChanged says that a graph names roles that were not looked up.
var errRolesChanged = errors.New("the graph names roles that were not looked up")

// rolesOfGraph says for each role that a workflow's steps name whether it
// exists.
func (s *Service) rolesOfGraph(ctx context.Context, id int64) (map[int64]bool, error) {
	steps, _, err := s.store.ListSteps(ctx, id, 0, 0)
	if err != nil {
		return nil, err
	}
	exists, names := map[int64]bool{}, map[int64]string{}
	for _, step := range steps {
		for _, role := range []*int64{step.RoleID, step.EscalateTo} {
			if role == nil {
				continue
			}
			if exists[*role], err = s.lookUpRole(ctx, names, *role); err != nil {
				return nil, err
			}
		}
	}
	return exists, nil
}

// initialize is one try of Initialize, with exists saying which roles
// exist (errRolesChanged when a step names another).
func (s *Service) initialize(ctx context.Context, id int64, exists map[int64]bool) (Detail, error) {
	var d Detail
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		var err error
		if d.Workflow, err = st.GetWorkflow(ctx, id); err != nil {
			return err
		}
		if d.Graph, err = loadGraph(ctx, st, id); err != nil {
			return err
		}
		switch d.Status {
		case StatusInitialized:
			return nil
		case StatusDeployed, StatusPaused:
			return errs.Conflictf("workflow %q is %s; only a draft is initialized", d.Name, d.Status)
		}
		steps := d.Graph.steps()
		p := brokenRules(d.Workflow, steps, d.Graph.Edges)
		if err := checkStepRoles(p, steps, exists); err != nil {
			return err
		}
		if err := p.err(fmt.Sprintf("workflow %q cannot be initialized", d.Name)); err != nil {
			return err
		}
		before := d.Workflow
		d.Status, d.UpdatedAt = StatusInitialized, s.now()
		if err := st.UpdateWorkflow(ctx, d.Workflow); err != nil {
			return err
		}
		return s.record(ctx, "initialize_workflow", "Workflow", id, before, d.Workflow)
	})
	if errors.Is(err, errRolesChanged) {
		return Detail{}, err
	}
	if err != nil {
		return Detail{}, fmt.Errorf("initialize workflow %d: %w", id, err)
	}
	return d, s.nameRoles(ctx, d.Graph.Nodes)
}

func (g Graph) steps() []Step {
	steps := make([]Step, len(g.Nodes))
	for i, n := range g.Nodes {
		steps[i] = n.Step
	}
	return steps
}

// keepUsable fails when w is not a draft and, as it now stands in st,
// breaks a rule of Initialize: a workflow in use must stay usable.
func keepUsable(ctx context.Context, st Store, w Workflow) error {
	if w.Status == StatusDraft {
		return nil
	}
	g, err := loadGraph(ctx, st, w.ID)
	if err != nil {
		return err
	}
	return brokenRules(w, g.steps(), g.Edges).err(fmt.Sprintf("workflow %q is %s and would break the rules of an initialized workflow", w.Name, w.Status))
}

// checkNoTasks fails with a Conflict saying why when w has tasks.
func (s *Service) checkNoTasks(ctx context.Context, st Store, w Workflow, consequence string) error {
	var counter TaskCounter = st
	if s.tasks != nil {
		counter = s.tasks
	}
	n, err := counter.CountTasks(ctx, w.ID)
	if err != nil {
		return fmt.Errorf("count tasks: %w", err)
	}
	if n > 0 {
		return errs.Conflictf("workflow %q has %d tasks; %s", w.Name, n, consequence)
	}
	return nil
}

// checkRoles adds a problem under prefix for each role that in names and
// that does not exist, and records the names of those that do. It fails
// only when the roles cannot be read.
func (s *Service) checkRoles(ctx context.Context, p problems, names map[int64]string, prefix string, in StepInput) error {
	for _, r := range []struct {
		field string
		id    *int64
	}{{"role_id", in.RoleID}, {"escalate_to", in.EscalateTo}} {
		if r.id == nil || *r.id <= 0 {
			continue
		}
		found, err := s.lookUpRole(ctx, names, *r.id)
		if err != nil {
			return err
		}
		if !found {
			p.add(prefix+r.field, fmt.Sprintf("role %d does not exist", *r.id))
		}
	}
	return nil
}

// checkStepRoles adds a "graph" problem for each step whose roles do not
// exist, as exists says; a role that exists does not know is
// errRolesChanged.
func checkStepRoles(p problems, steps []Step, exists map[int64]bool) error {
	for _, step := range steps {
		for _, r := range []struct {
			field string
			id    *int64
		}{{"role_id", step.RoleID}, {"escalate_to", step.EscalateTo}} {
			if r.id == nil {
				continue
			}
			found, known := exists[*r.id]
			if !known {
				return errRolesChanged
			}
			if !found {
				p.add("graph", fmt.Sprintf("%s: role %d does not exist (%s)", stepLabel(step), *r.id, r.field))
			}
		}
	}
	return nil
}

// lookUpRole reports whether role id exists, remembering its name in
// names. Without Roles every role exists, nameless.
func (s *Service) lookUpRole(ctx context.Context, names map[int64]string, id int64) (bool, error) {
	if _, ok := names[id]; ok || s.roles == nil {
		return true, nil
	}
	name, err := s.roles.RoleName(ctx, id)
	if errors.Is(err, errs.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up role %d: %w", id, err)
	}
	names[id] = name
	return true, nil
}

// nameRoles fills the RoleName of nodes.
func (s *Service) nameRoles(ctx context.Context, nodes []Node) error {
	names := map[int64]string{}
	for i := range nodes {
		if err := s.nameRole(ctx, names, &nodes[i].Step); err != nil {
			return err
		}
	}
	return nil
}

// nameRole fills step's RoleName from names, looking it up when needed. A
// role that no longer exists leaves "" (and a log line): Initialize and
// the task engine refuse it, but reading the step must still work.
func (s *Service) nameRole(ctx context.Context, names map[int64]string, step *Step) error {
	if step.RoleID == nil {
		return nil
	}
	found, err := s.lookUpRole(ctx, names, *step.RoleID)
	if err != nil {
		return err
	}
	if !found {
		s.log.WarnContext(ctx, "workflow step names a role that does not exist", "step_id", step.ID, "role_id", *step.RoleID)
	}
	step.RoleName = roleName(names, step.RoleID)
	return nil
}

func roleName(names map[int64]string, id *int64) string {
	if id == nil {
		return ""
	}
	return names[*id]
}

// auditGraph is a workflow with its graph, as a creation records it.
type auditGraph struct {
	Workflow Workflow `json:"workflow"`
	Graph    Graph    `json:"graph"`
}

// record has the Auditor record a change to the target of targetType with
// id, inside the change's transaction (ctx); before and after are nil for
// none.
func (s *Service) record(ctx context.Context, action, targetType string, id int64, before, after any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Change{Action: action, TargetType: targetType, TargetID: strconv.FormatInt(id, 10), Before: before, After: after})
}
