package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/bugflow/bugflow/errs"
)

// CreateStep adds a step to a workflow. Order nil puts it after the
// workflow's last step.
func (s *Service) CreateStep(ctx context.Context, workflowID int64, in StepInput) (Step, error) {
	names, err := s.validStep(ctx, in)
	if err != nil {
		return Step{}, err
	}
	var step Step
	err = s.changeGraph(ctx, workflowID, "", func(ctx context.Context, st Store, w Workflow) error {
		steps, _, err := st.ListSteps(ctx, workflowID, 0, 0)
		if err != nil {
			return err
		}
		last := 0
		for _, other := range steps {
			last = max(last, other.Order)
		}
		step = newStep(workflowID, in, last+1)
		if err := st.InsertStep(ctx, &step); err != nil {
			return err
		}
		return s.record(ctx, "create_step", "Step", step.ID, nil, step)
	})
	if err != nil {
		return Step{}, fmt.Errorf("create step: %w", err)
	}
	step.RoleName = roleName(names, step.RoleID)
	return step, nil
}

// validStep checks in and its roles, returning the roles' names.
func (s *Service) validStep(ctx context.Context, in StepInput) (map[int64]string, error) {
	p := problems{}
	in.check(p, "")
	names := map[int64]string{}
	if err := s.checkRoles(ctx, p, names, "", in); err != nil {
		return nil, err
	}
	return names, p.err("invalid step")
}

// GetStep returns one step.
func (s *Service) GetStep(ctx context.Context, id int64) (Step, error) {
	step, err := s.store.GetStep(ctx, id)
	if err != nil {
		return Step{}, err
	}
	return step, s.nameRole(ctx, map[int64]string{}, &step)
}

// ListSteps returns one page of steps, of one workflow when workflowID is
// not 0, by workflow and order, and how many there are.
func (s *Service) ListSteps(ctx context.Context, workflowID int64, o ListOptions) ([]Step, int, error) {
	limit, offset, err := o.window()
	if err != nil {
		return nil, 0, err
	}
	steps, total, err := s.store.ListSteps(ctx, workflowID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	names := map[int64]string{}
	for i := range steps {
		if err := s.nameRole(ctx, names, &steps[i]); err != nil {
			return nil, 0, err
		}
	}
	return steps, total, nil
}

// UpdateStep replaces a step's fields (it stays in its workflow). Order
// nil keeps its order.
func (s *Service) UpdateStep(ctx context.Context, id int64, in StepInput) (Step, error) {
	names, err := s.validStep(ctx, in)
	if err != nil {
		return Step{}, err
	}
	cur, err := s.store.GetStep(ctx, id)
	if err != nil {
		return Step{}, err
	}
	var step Step
	err = s.changeGraph(ctx, cur.WorkflowID, "", func(ctx context.Context, st Store, w Workflow) error {
		// Read again under the workflow's lock: it may have changed.
		if cur, err = st.GetStep(ctx, id); err != nil {
			return err
		}
		step = newStep(cur.WorkflowID, in, cur.Order)
		step.ID = id
		if err := st.UpdateStep(ctx, step); err != nil {
			return err
		}
		return s.record(ctx, "update_step", "Step", id, cur, step)
	})
	if err != nil {
		return Step{}, fmt.Errorf("update step %d: %w", id, err)
	}
	step.RoleName = roleName(names, step.RoleID)
	return step, nil
}

// DeleteStep deletes a step and the transitions to and from it. A step of
// a workflow with tasks is a Conflict.
func (s *Service) DeleteStep(ctx context.Context, id int64) error {
	cur, err := s.store.GetStep(ctx, id)
	if err != nil {
		return err
	}
	err = s.changeGraph(ctx, cur.WorkflowID, "its steps cannot be deleted", func(ctx context.Context, st Store, _ Workflow) error {
		// Read again under the workflow's lock, for what is recorded.
		if cur, err = st.GetStep(ctx, id); err != nil {
			return err
		}
		if err := st.DeleteStep(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, "delete_step", "Step", id, cur, nil)
	})
	if err != nil {
		return fmt.Errorf("delete step %d: %w", id, err)
	}
	return nil
}

// CreateTransition adds a transition between two different steps of one
// workflow; one that already leads between them is a Conflict.
func (s *Service) CreateTransition(ctx context.Context, in TransitionInput) (Transition, error) {
	if err := in.Validate(); err != nil {
		return Transition{}, err
	}
	from, err := s.store.GetStep(ctx, in.FromStepID)
	if errors.Is(err, errs.ErrNotFound) {
		return Transition{}, errs.InvalidField("from_step_id", fmt.Sprintf("step %d does not exist", in.FromStepID))
	}
	if err != nil {
		return Transition{}, err
	}
	t := Transition{WorkflowID: from.WorkflowID, FromStepID: in.FromStepID, ToStepID: in.ToStepID, Name: in.Name}
	err = s.changeGraph(ctx, from.WorkflowID, "", func(ctx context.Context, st Store, _ Workflow) error {
		// Both ends are read under the workflow's lock, so neither can be
		// deleted before the insert.
		for _, end := range []struct {
			field string
			id    int64
		}{{"from_step_id", in.FromStepID}, {"to_step_id", in.ToStepID}} {
			step, err := st.GetStep(ctx, end.id)
			if errors.Is(err, errs.ErrNotFound) {
				return errs.InvalidField(end.field, fmt.Sprintf("step %d does not exist", end.id))
			}
			if err != nil {
				return err
			}
			if step.WorkflowID != from.WorkflowID {
				return errs.InvalidField(end.field, fmt.Sprintf("step %d belongs to workflow %d, not to workflow %d of step %d", end.id, step.WorkflowID, from.WorkflowID, in.FromStepID))
			}
		}
		if err := st.InsertTransition(ctx, &t); err != nil {
			return err
		}
		return s.record(ctx, "create_transition", "Transition", t.ID, nil, t)
	})
	if err != nil {
		return Transition{}, fmt.Errorf("create transition: %w", err)
	}
	return t, nil
}

// GetTransition returns one transition.
func (s *Service) GetTransition(ctx context.Context, id int64) (Transition, error) {
	return s.store.GetTransition(ctx, id)
}

// ListTransitions returns one page of transitions, of one workflow when
// workflowID is not 0, oldest first, and how many there are.
func (s *Service) ListTransitions(ctx context.Context, workflowID int64, o ListOptions) ([]Transition, int, error) {
	limit, offset, err := o.window()
	if err != nil {
		return nil, 0, err
	}
	return s.store.ListTransitions(ctx, workflowID, limit, offset)
}

// DeleteTransition deletes a transition. One of a workflow with tasks is a
// Conflict.
func (s *Service) DeleteTransition(ctx context.Context, id int64) error {
	cur, err := s.store.GetTransition(ctx, id)
	if err != nil {
		return err
	}
	err = s.changeGraph(ctx, cur.WorkflowID, "its transitions cannot be deleted", func(ctx context.Context, st Store, _ Workflow) error {
		if cur, err = st.GetTransition(ctx, id); err != nil {
			return err
		}
		if err := st.DeleteTransition(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, "delete_transition", "Transition", id, cur, nil)
	})
	if err != nil {
		return fmt.Errorf("delete transition %d: %w", id, err)
	}
	return nil
}

// changeGraph runs change on a workflow's graph in one transaction with
// the workflow locked: when consequence is not "", a workflow with tasks is
// refused with it; a workflow that is not a draft must keep the rules of
// Initialize; its UpdatedAt is set (change sees the new one in w).
func (s *Service) changeGraph(ctx context.Context, workflowID int64, consequence string, change func(ctx context.Context, st Store, w Workflow) error) error {
	return s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		w, err := st.GetWorkflow(ctx, workflowID)
		if err != nil {
			return err
		}
		w.UpdatedAt = s.now()
		if consequence != "" {
			if err := s.checkNoTasks(ctx, st, w, consequence); err != nil {
				return err
			}
		}
		if err := change(ctx, st, w); err != nil {
			return err
		}
		if err := keepUsable(ctx, st, w); err != nil {
			return err
		}
		return st.Touch(ctx, workflowID, w.UpdatedAt)
	})
}
