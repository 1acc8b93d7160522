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

// transitionPlan is what a transition needs read before its transaction.
type transitionPlan struct {
	transition *Transition
	to         Step
	role       *roleStaff
}

// Transition moves a task along transitionID out of its current step, for
// an actor who holds an active assignment on that step (Forbidden
// otherwise). notes are required. The next step's role is assigned in
// turn before the actor's assignment is resolved: a role with no holders
// is Unavailable and changes nothing. A nil transitionID finalises the
// task, only on a step with no transitions out. A transition that does
// not leave the task's current step (the task moved on, or is resolved)
// is a Conflict: the caller acted on a state that is gone.
func (s *Service) Transition(ctx context.Context, actor Actor, taskID int64, transitionID *int64, notes string) (TransitionResult, error) {
	notes = strings.TrimSpace(notes)
	p := problems{}
	if notes == "" {
		p.add("notes", "This field is required.")
	}
	p.text("notes", notes, MaxTextLength)
	if err := p.err("invalid transition"); err != nil {
		return TransitionResult{}, err
	}
	for range planTries {
		plan, err := s.planTransition(ctx, taskID, transitionID)
		if err != nil {
			return TransitionResult{}, fmt.Errorf("transition task %d: %w", taskID, err)
		}
		r, err := s.transition(ctx, actor, taskID, plan, notes)
		if !errors.Is(err, errStale) {
			return r, err
		}
	}
	return TransitionResult{}, staleConflict("transition")
}

// planTransition reads the transition, its target step and who holds the
// target's role.
func (s *Service) planTransition(ctx context.Context, taskID int64, transitionID *int64) (transitionPlan, error) {
	var plan transitionPlan
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		t, err := st.GetTask(ctx, taskID)
		if err != nil {
			return err
		}
		if transitionID == nil {
			return nil
		}
		tr, err := st.GetTransition(ctx, *transitionID)
		if errors.Is(err, errs.ErrNotFound) || (err == nil && tr.WorkflowID != t.WorkflowID) {
			return errs.InvalidField("transition_id", fmt.Sprintf("transition %d is not a transition of task %d's workflow", *transitionID, taskID))
		}
		if err != nil {
			return err
		}
		plan.transition = &tr
		plan.to, err = st.GetStep(ctx, tr.ToStepID)
		return err
	})
	if err != nil || plan.transition == nil {
		return plan, err
	}
	plan.role, err = s.staff(ctx, plan.to.RoleID)
	return plan, err
}

// transition is one try of Transition.
func (s *Service) transition(ctx context.Context, actor Actor, taskID int64, plan transitionPlan, notes string) (TransitionResult, error) {
	var r TransitionResult
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		t, err := st.LockTask(ctx, taskID)
		if err != nil {
			return err
		}
		items, err := st.Assignments(ctx, taskID)
		if err != nil {
			return err
		}
		// Someone never assigned learns nothing of the task's state.
		if !canSee(actor, t, items) {
			return errs.Forbiddenf("you hold no assignment on task %d", taskID)
		}
		if t.Status == TaskResolved {
			return errs.Conflictf("task %d is resolved", taskID)
		}
		if plan.transition != nil && plan.transition.FromStepID != t.CurrentStep.ID {
			return errs.Conflictf("transition %d leaves step %d, but task %d is at step %q (%d)", plan.transition.ID, plan.transition.FromStepID, taskID, t.CurrentStep.Name, t.CurrentStep.ID)
		}
		mine := slices.IndexFunc(items, func(a Assignment) bool {
			return a.UserID == actor.UserID && a.StepID == t.CurrentStep.ID && a.Status.Workable()
		})
		if mine < 0 {
			return errs.Forbiddenf("you hold no active assignment on task %d's current step %q", taskID, t.CurrentStep.Name)
		}
		w, err := st.TaskWorkflow(ctx, t.WorkflowID)
		if err != nil {
			return err
		}
		steps, _, err := st.ListSteps(ctx, w.ID, 0, 0)
		if err != nil {
			return err
		}
		edges, _, err := st.ListTransitions(ctx, w.ID, 0, 0)
		if err != nil {
			return err
		}
		now := s.now()
		if t.Status == TaskOnHold {
			// Moving on ends the pause: the clock is charged up to now.
			if err := s.resume(ctx, st, &actor, &t, items, now); err != nil {
				return err
			}
		}
		before := t
		if plan.transition == nil {
			if slices.ContainsFunc(edges, func(e Transition) bool { return e.FromStepID == t.CurrentStep.ID }) {
				return errs.InvalidField("transition_id", fmt.Sprintf("step %q has transitions out: name the one to take; only a step without any finalises the task", t.CurrentStep.Name))
			}
			if err := s.closeStep(ctx, st, items, mine, t.CurrentStep.ID, notes, now); err != nil {
				return err
			}
			t.Status, t.UpdatedAt, t.ResolvedAt = TaskResolved, now, &now
			if err := st.UpdateTask(ctx, t); err != nil {
				return err
			}
			if err := s.history(ctx, st, &actor, taskID, LogResolved, t.CurrentStep.ID, notes, now); err != nil {
				return err
			}
			if t.TicketOwnerID != nil {
				if err := s.notify(ctx, notify.Message{
					Key: "task:" + strconv.FormatInt(t.ID, 10) + ":resolved", Kind: "resolved", Recipient: *t.TicketOwnerID, TaskID: t.ID,
					Subject: fmt.Sprintf("Task %d is resolved", t.ID), Body: fmt.Sprintf("Task %d (%s) was resolved by %s: %s", t.ID, t.Subject, actor.Username, notes),
				}); err != nil {
					return err
				}
			}
			r = TransitionResult{Success: true, Message: "Task resolved"}
		} else {
			if !slices.ContainsFunc(edges, func(e Transition) bool { return e.ID == plan.transition.ID }) {
				return errStale
			}
			i := slices.IndexFunc(steps, func(s Step) bool { return s.ID == plan.to.ID })
			if i < 0 || !sameRole(steps[i].RoleID, plan.role) {
				return errStale
			}
			to := steps[i]
			if plan.role == nil || len(plan.role.holders) == 0 {
				return errs.Unavailablef("no user holds the role of step %q, so no one could take the task on; nothing changed", to.Name)
			}
			// The next holder is chosen first: a transition either hands
			// the task on or changes nothing.
			if err := s.closeStep(ctx, st, items, mine, t.CurrentStep.ID, notes, now); err != nil {
				return err
			}
			t.CurrentStep, t.Status, t.UpdatedAt = StepRef{ID: to.ID, Name: to.Name}, TaskInProgress, now
			if err := st.UpdateTask(ctx, t); err != nil {
				return err
			}
			if err := s.history(ctx, st, &actor, taskID, LogTransition, before.CurrentStep.ID, notes, now); err != nil {
				return err
			}
			if _, err := s.assign(ctx, st, &actor, t, w, to, steps, plan.role, now); err != nil {
				return err
			}
			r = TransitionResult{Success: true, Message: "Task transitioned to " + to.Name}
		}
		if t.Status != before.Status {
			if err := s.observe(ctx, t); err != nil {
				return err
			}
		}
		r.Task = TaskSummary{ID: t.ID, CurrentStep: t.CurrentStep, Status: t.Status}
		return s.record(ctx, "transition", "Task", taskID, before, t)
	})
	if errors.Is(err, errStale) {
		return TransitionResult{}, err
	}
	if err != nil {
		return TransitionResult{}, fmt.Errorf("transition task %d: %w", taskID, err)
	}
	return r, nil
}

// closeStep resolves the active assignments on a step the task leaves:
// items[mine], the actor's, with notes; any other holder's without.
func (s *Service) closeStep(ctx context.Context, st Store, items []Assignment, mine int, stepID int64, notes string, now time.Time) error {
	for i, a := range items {
		if a.StepID != stepID || !a.Status.Workable() {
			continue
		}
		a.Status = AssignmentResolved
		if i == mine {
			a.Notes, a.ActedAt = notes, &now
		}
		if err := st.UpdateAssignment(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// Transfer moves an active assignment to another user; only admins may.
// An assignment that is resolved, escalated, reassigned or breached is a
// Conflict. The old assignment becomes reassigned; the new one (origin
// Transferred) keeps its step, role and target.
func (s *Service) Transfer(ctx context.Context, actor Actor, itemID int64, newUserID, notes string) (Assignment, error) {
	if !actor.Admin {
		return Assignment{}, errs.Forbiddenf("only admins may transfer tasks")
	}
	p := problems{}
	if newUserID == "" {
		p.add("new_user_id", "This field is required.")
	}
	p.text("new_user_id", newUserID, MaxNameLength)
	p.text("notes", notes, MaxTextLength)
	if err := p.err("invalid transfer"); err != nil {
		return Assignment{}, err
	}
	var to Holder
	var err error
	if s.people == nil {
		err = errs.NotFoundf("user %q not found", newUserID)
	} else {
		to, err = s.people.User(ctx, newUserID)
	}
	if errors.Is(err, errs.ErrNotFound) {
		return Assignment{}, errs.InvalidField("new_user_id", fmt.Sprintf("user %q does not exist", newUserID))
	}
	if err != nil {
		return Assignment{}, fmt.Errorf("transfer: look up user: %w", err)
	}
	var out Assignment
	err = s.changeItem(ctx, itemID, func(ctx context.Context, st Store, t Task, old Assignment) error {
		if !old.Status.Active() {
			return errs.Conflictf("task item %d is %s; only a new or in progress one can be transferred", itemID, old.Status)
		}
		if old.UserID == to.UserID {
			return errs.InvalidField("new_user_id", fmt.Sprintf("%q holds task item %d already", to.Username, itemID))
		}
		now := s.now()
		before := old
		old.Status, old.Notes, old.ActedAt = AssignmentReassigned, notes, &now
		if err := st.UpdateAssignment(ctx, old); err != nil {
			return err
		}
		out = Assignment{
			TaskID: t.ID, UserID: to.UserID, Username: to.Username, RoleID: old.RoleID, RoleName: old.RoleName, StepID: old.StepID,
			Status: AssignmentNew, Origin: OriginTransferred, Notes: notes, TargetResolution: old.TargetResolution, AssignedAt: now,
		}
		if err := s.addAssignment(ctx, st, &out); err != nil {
			return err
		}
		if err := s.history(ctx, st, &actor, t.ID, LogTransferred, old.StepID, fmt.Sprintf("from %s to %s: %s", before.Username, to.Username, notes), now); err != nil {
			return err
		}
		return s.record(ctx, "transfer", "Task", t.ID, before, out)
	})
	if err != nil {
		return Assignment{}, fmt.Errorf("transfer task item %d: %w", itemID, err)
	}
	return out, nil
}

// changeItem runs change on an assignment, read again after its task's
// row is locked. An item that does not exist is an Invalid task_item_id.
func (s *Service) changeItem(ctx context.Context, itemID int64, change func(ctx context.Context, st Store, t Task, a Assignment) error) error {
	return s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		a, err := st.GetAssignment(ctx, itemID)
		if errors.Is(err, errs.ErrNotFound) {
			return errs.InvalidField("task_item_id", fmt.Sprintf("task item %d does not exist", itemID))
		}
		if err != nil {
			return err
		}
		t, err := st.LockTask(ctx, a.TaskID)
		if err != nil {
			return err
		}
		if a, err = st.GetAssignment(ctx, itemID); err != nil {
			return err
		}
		return change(ctx, st, t, a)
	})
}

// Escalate hands an active assignment to the next holder, in turn, of its
// step's escalation role, for reason (required). Only the assignment's
// holder or an admin may (Forbidden otherwise). A step without escalate_to
// is Invalid; a task escalated to that role before, or an assignment that
// is not active, is a Conflict; a role with no holders is Unavailable. The
// new assignment (origin Escalation) keeps the old one's target; the old
// one becomes escalated.
func (s *Service) Escalate(ctx context.Context, actor Actor, itemID int64, reason string) (Assignment, error) {
	reason = strings.TrimSpace(reason)
	p := problems{}
	if reason == "" {
		p.add("reason", "This field is required.")
	}
	p.text("reason", reason, MaxTextLength)
	if err := p.err("invalid escalation"); err != nil {
		return Assignment{}, err
	}
	for range planTries {
		var step Step
		err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
			a, err := st.GetAssignment(ctx, itemID)
			if errors.Is(err, errs.ErrNotFound) {
				return errs.InvalidField("task_item_id", fmt.Sprintf("task item %d does not exist", itemID))
			}
			if err != nil {
				return err
			}
			step, err = st.GetStep(ctx, a.StepID)
			return err
		})
		if err != nil {
			return Assignment{}, fmt.Errorf("escalate task item %d: %w", itemID, err)
		}
		role, err := s.staff(ctx, step.EscalateTo)
		if err != nil {
			return Assignment{}, err
		}
		out, err := s.escalate(ctx, actor, itemID, reason, step, role)
		if !errors.Is(err, errStale) {
			return out, err
		}
	}
	return Assignment{}, staleConflict("escalate")
}

// escalate is one try of Escalate.
func (s *Service) escalate(ctx context.Context, actor Actor, itemID int64, reason string, planned Step, role *roleStaff) (Assignment, error) {
	var out Assignment
	err := s.changeItem(ctx, itemID, func(ctx context.Context, st Store, t Task, old Assignment) error {
		if !actor.Admin && old.UserID != actor.UserID {
			return errs.Forbiddenf("only the holder of task item %d or an admin may escalate it", itemID)
		}
		step, err := st.GetStep(ctx, old.StepID)
		if err != nil {
			return err
		}
		if !sameRole(step.EscalateTo, role) {
			return errStale
		}
		if step.EscalateTo == nil {
			return errs.InvalidField("task_item_id", fmt.Sprintf("step %q has no escalation role (escalate_to)", step.Name))
		}
		if !old.Status.Workable() {
			return errs.Conflictf("task item %d is %s; only a new, in progress or breached one can be escalated", itemID, old.Status)
		}
		items, err := st.Assignments(ctx, t.ID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(items, func(a Assignment) bool { return a.Origin == OriginEscalation && a.RoleID == role.id }) {
			return errs.Conflictf("task %d was escalated to role %q already; a task is escalated to a role once", t.ID, role.name)
		}
		now := s.now()
		h, ok, err := pick(ctx, st, role)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Unavailablef("no user holds the escalation role of step %q; nothing changed", step.Name)
		}
		before := old
		old.Status, old.Notes, old.ActedAt = AssignmentEscalated, reason, &now
		if err := st.UpdateAssignment(ctx, old); err != nil {
			return err
		}
		out = Assignment{
			TaskID: t.ID, UserID: h.UserID, Username: h.Username, RoleID: role.id, RoleName: role.name, StepID: old.StepID,
			Status: AssignmentNew, Origin: OriginEscalation, Notes: reason, TargetResolution: old.TargetResolution, AssignedAt: now,
		}
		if err := s.addAssignment(ctx, st, &out); err != nil {
			return err
		}
		if err := s.history(ctx, st, &actor, t.ID, LogEscalated, old.StepID, fmt.Sprintf("from %s to %s (%s): %s", before.Username, h.Username, role.name, reason), now); err != nil {
			return err
		}
		return s.record(ctx, "escalate", "Task", t.ID, before, out)
	})
	if errors.Is(err, errStale) {
		return Assignment{}, err
	}
	if err != nil {
		return Assignment{}, fmt.Errorf("escalate task item %d: %w", itemID, err)
	}
	return out, nil
}

// UpdateUserStatus sets the status of actor's active assignment on a
// task's current step to new or in progress (Forbidden without one).
// Starting work on a new task puts it in progress. AssignmentOnHold puts
// the task on hold instead, stopping its SLA clock, and leaves the
// assignment as it is; new or in progress on a task on hold resumes it,
// its target (and its active assignments' targets) later by the paused
// SLA time.
func (s *Service) UpdateUserStatus(ctx context.Context, actor Actor, taskID int64, status AssignmentStatus) (Assignment, error) {
	if !status.Active() && status != AssignmentOnHold {
		return Assignment{}, errs.InvalidField("status", "must be new, in progress or on_hold")
	}
	var out Assignment
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		t, err := st.LockTask(ctx, taskID)
		if err != nil {
			return err
		}
		items, err := st.Assignments(ctx, taskID)
		if err != nil {
			return err
		}
		mine := slices.IndexFunc(items, func(a Assignment) bool {
			return a.UserID == actor.UserID && a.StepID == t.CurrentStep.ID && a.Status.Active()
		})
		if mine < 0 {
			return errs.Forbiddenf("you hold no active assignment on task %d", taskID)
		}
		now := s.now()
		if status == AssignmentOnHold {
			out = items[mine]
			if t.Status == TaskOnHold {
				return nil
			}
			return s.hold(ctx, st, actor, &t, now)
		}
		if t.Status == TaskOnHold {
			if err := s.resume(ctx, st, &actor, &t, items, now); err != nil {
				return err
			}
		}
		out = items[mine]
		if out.Status == status {
			return nil
		}
		before := out
		out.Status = status
		if err := st.UpdateAssignment(ctx, out); err != nil {
			return err
		}
		if status == AssignmentInProgress && t.Status == TaskNew {
			t.Status, t.UpdatedAt = TaskInProgress, now
			if err := st.UpdateTask(ctx, t); err != nil {
				return err
			}
			if err := s.observe(ctx, t); err != nil {
				return err
			}
		}
		if err := s.history(ctx, st, &actor, taskID, LogStatus, t.CurrentStep.ID, fmt.Sprintf("%s -> %s", before.Status, status), now); err != nil {
			return err
		}
		return s.record(ctx, "update_user_status", "Task", taskID, before, out)
	})
	if err != nil {
		return Assignment{}, fmt.Errorf("update user status on task %d: %w", taskID, err)
	}
	return out, nil
}

// hold puts task t on hold at now: its clock stops until resume.
func (s *Service) hold(ctx context.Context, st Store, actor Actor, t *Task, now time.Time) error {
	before := *t
	t.Status, t.PausedAt, t.UpdatedAt = TaskOnHold, &now, now
	if err := st.UpdateTask(ctx, *t); err != nil {
		return err
	}
	if err := addSLAEvent(ctx, st, *t, SLAEventPause, now, 0); err != nil {
		return err
	}
	if err := s.history(ctx, st, &actor, t.ID, LogOnHold, t.CurrentStep.ID, "the SLA clock is paused", now); err != nil {
		return err
	}
	if err := s.observe(ctx, *t); err != nil {
		return err
	}
	return s.record(ctx, "hold_task", "Task", t.ID, before, *t)
}

// resume ends the pause of task t at now: the paused SLA time (on the
// calendar of the task's policy, in whole seconds) is added to the task's
// and to its active assignments' paused time, and their targets move as
// much later (an assignment's paused time counts only the part of the
// pause since it was made). items are t's assignments, changed in place.
func (s *Service) resume(ctx context.Context, st Store, actor *Actor, t *Task, items []Assignment, now time.Time) error {
	p, clk, err := policyClock(ctx, st, t.WorkflowID, t.SLAVersion, nil)
	if err != nil {
		return err
	}
	before := *t
	paused := clk.pausedFor(*t.PausedAt, now)
	t.PausedSeconds += int64(paused / time.Second)
	t.Status, t.PausedAt, t.UpdatedAt = TaskInProgress, nil, now
	t.TargetResolution = p.target(clk, t.Priority, t.CreatedAt, time.Duration(t.PausedSeconds)*time.Second)
	if err := st.UpdateTask(ctx, *t); err != nil {
		return err
	}
	for i := range items {
		a := &items[i]
		if !a.Status.Active() {
			continue
		}
		// Its own paused time counts the pause from its assignment (a
		// transfer during the pause made a new one); its target, which
		// it may have inherited, moves by the whole pause.
		a.PausedSeconds += int64(clk.pausedFor(maxTime(*before.PausedAt, a.AssignedAt), now) / time.Second)
		if a.TargetResolution != nil {
			target := clk.add(*a.TargetResolution, paused)
			a.TargetResolution = &target
		}
		if err := st.UpdateAssignment(ctx, *a); err != nil {
			return err
		}
	}
	if err := addSLAEvent(ctx, st, *t, SLAEventResume, now, paused); err != nil {
		return err
	}
	if err := s.history(ctx, st, actor, t.ID, LogResumed, t.CurrentStep.ID, fmt.Sprintf("the SLA clock runs again after %s paused", paused), now); err != nil {
		return err
	}
	if err := s.observe(ctx, *t); err != nil {
		return err
	}
	return s.record(ctx, "resume_task", "Task", t.ID, before, *t)
}

// Visualization returns a task's workflow steps in order, each done (a
// holder resolved it and the task is not on it), current or pending, with
// the assignments made on it: who did each. Only those who may see the
// task may (Forbidden otherwise).
func (s *Service) Visualization(ctx context.Context, actor Actor, taskID int64) (Visualization, error) {
	var v Visualization
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		cur, err := readTask(ctx, st, actor, taskID, false)
		if err != nil {
			return err
		}
		t, items := cur.Task, cur.Assignments
		steps, _, err := st.ListSteps(ctx, t.WorkflowID, 0, 0)
		if err != nil {
			return err
		}
		if v.Transitions, _, err = st.ListTransitions(ctx, t.WorkflowID, 0, 0); err != nil {
			return err
		}
		v.TaskID, v.WorkflowID, v.Status, v.CurrentStep = t.ID, t.WorkflowID, t.Status, t.CurrentStep
		v.Steps = make([]VisualStep, len(steps))
		for i, step := range steps {
			vs := VisualStep{StepID: step.ID, Name: step.Name, Order: step.Order, IsStart: step.IsStart, IsEnd: step.IsEnd, State: StepPending, Assignments: []Assignment{}}
			resolved := false
			for _, a := range items {
				if a.StepID == step.ID {
					vs.Assignments = append(vs.Assignments, a)
					resolved = resolved || a.Status == AssignmentResolved
				}
			}
			switch {
			case step.ID == t.CurrentStep.ID && t.Status != TaskResolved:
				vs.State = StepCurrent
			case resolved:
				vs.State = StepDone
			}
			v.Steps[i] = vs
		}
		return nil
	})
	if err != nil {
		return Visualization{}, fmt.Errorf("visualize task %d: %w", taskID, err)
	}
	return v, nil
}

// ActionLogs returns one page of a task's history, oldest first, and how
// long it is, to those who may see the task.
func (s *Service) ActionLogs(ctx context.Context, actor Actor, taskID int64, o ListOptions) ([]LogEntry, int, error) {
	limit, offset, err := o.window()
	if err != nil {
		return nil, 0, err
	}
	var out []LogEntry
	var total int
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		if _, err := readTask(ctx, st, actor, taskID, false); err != nil {
			return err
		}
		var err error
		out, total, err = st.Logs(ctx, taskID, limit, offset)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("action logs of task %d: %w", taskID, err)
	}
	return out, total, nil
}
