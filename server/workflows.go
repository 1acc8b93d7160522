package server

import (
	"context"
	"net/http"

	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// workflowPage turns the window drfPaging read into the workflow
// service's page options.
func workflowPage(p store.Page) workflow.ListOptions {
	return workflow.ListOptions{Page: p.Offset/p.Limit + 1, PageSize: p.Limit}
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) error {
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	flows, count, err := s.engine.Workflow.ListWorkflows(r.Context(), workflowPage(p))
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
	return replyWithWorkflow(w, r, s.engine.Workflow.GetWorkflow)
}

func (s *Server) workflowGraph(w http.ResponseWriter, r *http.Request) error {
	return replyWithWorkflow(w, r, s.engine.Workflow.Graph)
}

func (s *Server) workflowDetail(w http.ResponseWriter, r *http.Request) error {
	return replyWithWorkflow(w, r, s.engine.Workflow.Detail)
}

func (s *Server) initializeWorkflow(w http.ResponseWriter, r *http.Request) error {
	return replyWithWorkflow(w, r, s.engine.Workflow.Initialize)
}

// replyWithWorkflow answers 200 with what call returns for the workflow of
// the route's :id.
func replyWithWorkflow[T any](w http.ResponseWriter, r *http.Request, call func(context.Context, int64) (T, error)) error {
	id, err := idParam(r, "workflow")
	if err != nil {
		return err
	}
	v, err := call(r.Context(), id)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, v)
}

func (s *Server) deleteWorkflow(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "workflow")
	if err != nil {
		return err
	}
	if err := s.engine.Workflow.DeleteWorkflow(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// updateWorkflowDetails replaces the details with the body, the same
// fields as "workflow" of the create body.
func (s *Server) updateWorkflowDetails(w http.ResponseWriter, r *http.Request) error {
	return replyToWorkflowBody(w, r, s.engine.Workflow.UpdateDetails)
}

// updateWorkflowGraph replaces the graph with the body, shaped as "graph"
// of the create body.
func (s *Server) updateWorkflowGraph(w http.ResponseWriter, r *http.Request) error {
	return replyToWorkflowBody(w, r, s.engine.Workflow.UpdateGraph)
}

// replyToWorkflowBody answers 200 with what call returns for the workflow
// of the route's :id and the request body.
func replyToWorkflowBody[In, Out any](w http.ResponseWriter, r *http.Request, call func(context.Context, int64, In) (Out, error)) error {
	id, err := idParam(r, "workflow")
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
