package server

import (
	"context"
	"errors"
	"math"
	"net/http"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/workflow"
)

// seeds/004's workflow definitions: workflows, their steps and
// transitions. The handlers are thin over package workflow, most through
// the generic helpers at the end of the file.

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) error {
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	flows, count, err := s.engine.Workflow.ListWorkflows(r.Context(), workflow.ListOptions{Page: p.Offset/p.Limit + 1, PageSize: p.Limit})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, newDRFPage(r, p, count, flows))
}

// createWorkflow takes the document's body: the details under "workflow"
// and, optionally, the graph under "graph".
func (s *Server) createWorkflow(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Workflow workflow.WorkflowInput `json:"workflow"`
		Graph    *workflow.GraphInput   `json:"graph"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	created, err := s.engine.Workflow.CreateWorkflow(r.Context(), body.Workflow, body.Graph)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, created)
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "workflow", s.engine.Workflow.GetWorkflow)
}

func (s *Server) deleteWorkflow(w http.ResponseWriter, r *http.Request) error {
	return deleteByID(w, r, "workflow", s.engine.Workflow.DeleteWorkflow)
}

// updateWorkflowDetails replaces the details with the body, the same
// fields as "workflow" of the create body.
func (s *Server) updateWorkflowDetails(w http.ResponseWriter, r *http.Request) error {
	return replyToBodyByID(w, r, "workflow", s.engine.Workflow.UpdateDetails)
}

// updateWorkflowGraph replaces the graph with the body, shaped as "graph"
// of the create body.
func (s *Server) updateWorkflowGraph(w http.ResponseWriter, r *http.Request) error {
	return replyToBodyByID(w, r, "workflow", s.engine.Workflow.UpdateGraph)
}

func (s *Server) workflowGraph(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "workflow", s.engine.Workflow.Graph)
}

func (s *Server) workflowDetail(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "workflow", s.engine.Workflow.Detail)
}

func (s *Server) initializeWorkflow(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "workflow", s.engine.Workflow.Initialize)
}

func (s *Server) listSteps(w http.ResponseWriter, r *http.Request) error {
	return listOfWorkflow(w, r, s.engine.Workflow.ListSteps)
}

// createStep takes a step with the workflow_id of its workflow.
func (s *Server) createStep(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		WorkflowID int64 `json:"workflow_id"`
		workflow.StepInput
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	// The workflow is named by a body field, so naming none is a bad field
	// (400), where the same id in a path would be 404.
	if body.WorkflowID <= 0 {
		return errs.InvalidField("workflow_id", "This field is required.")
	}
	step, err := s.engine.Workflow.CreateStep(r.Context(), body.WorkflowID, body.StepInput)
	if errors.Is(err, errs.ErrNotFound) {
		return errs.InvalidField("workflow_id", "no workflow has this id")
	}
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, step)
}

func (s *Server) getStep(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "step", s.engine.Workflow.GetStep)
}

// updateStep replaces the step's fields with the body's; the step stays in
// its workflow.
func (s *Server) updateStep(w http.ResponseWriter, r *http.Request) error {
	return replyToBodyByID(w, r, "step", s.engine.Workflow.UpdateStep)
}

func (s *Server) deleteStep(w http.ResponseWriter, r *http.Request) error {
	return deleteByID(w, r, "step", s.engine.Workflow.DeleteStep)
}

func (s *Server) listTransitions(w http.ResponseWriter, r *http.Request) error {
	return listOfWorkflow(w, r, s.engine.Workflow.ListTransitions)
}

func (s *Server) createTransition(w http.ResponseWriter, r *http.Request) error {
	var in workflow.TransitionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.engine.Workflow.CreateTransition(r.Context(), in)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, t)
}

func (s *Server) getTransition(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "transition", s.engine.Workflow.GetTransition)
}

func (s *Server) deleteTransition(w http.ResponseWriter, r *http.Request) error {
	return deleteByID(w, r, "transition", s.engine.Workflow.DeleteTransition)
}

// listOfWorkflow answers one page of what list returns, of the workflow
// of the workflow_id query parameter when there is one.
func listOfWorkflow[T any](w http.ResponseWriter, r *http.Request, list func(context.Context, int64, workflow.ListOptions) ([]T, int, error)) error {
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	workflowID, err := intQuery(r.URL.Query(), "workflow_id", 0, 1, math.MaxInt64)
	if err != nil {
		return err
	}
	rows, count, err := list(r.Context(), int64(workflowID), workflow.ListOptions{Page: p.Offset/p.Limit + 1, PageSize: p.Limit})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, newDRFPage(r, p, count, rows))
}

// replyByID answers 200 with what call returns for the what of the route's
// :id.
func replyByID[T any](w http.ResponseWriter, r *http.Request, what string, call func(context.Context, int64) (T, error)) error {
	id, err := idParam(r, what)
	if err != nil {
		return err
	}
	v, err := call(r.Context(), id)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, v)
}

// replyToBodyByID answers 200 with what call returns for the what of the
// route's :id and the request body.
func replyToBodyByID[In, Out any](w http.ResponseWriter, r *http.Request, what string, call func(context.Context, int64, In) (Out, error)) error {
	id, err := idParam(r, what)
	if err != nil {
		return err
	}
	var in In
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	out, err := call(r.Context(), id, in)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, out)
}

// deleteByID deletes the what of the route's :id: 204.
func deleteByID(w http.ResponseWriter, r *http.Request, what string, del func(context.Context, int64) error) error {
	id, err := idParam(r, what)
	if err != nil {
		return err
	}
	if err := del(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
