package server

import (
	"context"
	"encoding/json"
	"math"
	"net/http"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/workflow"
)

// seeds/004's tasks: a ticket's (or an admin's) work moving through a
// workflow. Object-level access is the engine's: a task is read and
// changed by admins, its ticket's owner and the people assigned to it,
// and GET /tasks/ lists only those tasks to anyone else (403 for one task
// of someone else's).

// actor is the caller as the task engine knows it.
func actor(ctx context.Context) workflow.Actor {
	id := identityFrom(ctx)
	if id == nil {
		return workflow.Actor{}
	}
	return workflow.Actor{UserID: id.User.ID, Username: id.User.Username, Admin: id.IsAdmin()}
}

// listOptions turns DRF paging into the engine's.
func listOptions(r *http.Request) (workflow.ListOptions, error) {
	p, err := drfPaging(r)
	if err != nil {
		return workflow.ListOptions{}, err
	}
	return workflow.ListOptions{Page: p.Offset/p.Limit + 1, PageSize: p.Limit}, nil
}

// replyPage answers one DRF page of what list returns.
func replyPage[T any](w http.ResponseWriter, r *http.Request, list func(workflow.ListOptions) ([]T, int, error)) error {
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	rows, count, err := list(workflow.ListOptions{Page: p.Offset/p.Limit + 1, PageSize: p.Limit})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, newDRFPage(r, p, count, rows))
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	return replyPage(w, r, func(o workflow.ListOptions) ([]workflow.TaskDetail, int, error) {
		return s.engine.Workflow.ListTasks(r.Context(), actor(r.Context()), o)
	})
}

// taskBody is what POST and PUT /tasks/ take: POST also names the
// workflow.
type taskBody struct {
	WorkflowID  int64             `json:"workflow_id"`
	Subject     string            `json:"subject"`
	Description string            `json:"description"`
	Priority    workflow.Priority `json:"priority"`
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) error {
	var body taskBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.WorkflowID <= 0 {
		return errs.InvalidField("workflow_id", "This field is required.")
	}
	t, err := s.engine.Workflow.CreateTask(r.Context(), actor(r.Context()), workflow.TaskInput{
		WorkflowID: body.WorkflowID, Subject: body.Subject, Description: body.Description, Priority: body.Priority,
	})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, t)
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "task", func(ctx context.Context, id int64) (workflow.TaskDetail, error) {
		return s.engine.Workflow.GetTask(ctx, actor(ctx), id)
	})
}

func (s *Server) updateTask(w http.ResponseWriter, r *http.Request) error {
	return replyToBodyByID(w, r, "task", func(ctx context.Context, id int64, body taskBody) (workflow.TaskDetail, error) {
		return s.engine.Workflow.UpdateTask(ctx, actor(ctx), id, workflow.TaskInput{Subject: body.Subject, Description: body.Description, Priority: body.Priority})
	})
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request) error {
	return deleteByID(w, r, "task", func(ctx context.Context, id int64) error {
		return s.engine.Workflow.DeleteTask(ctx, actor(ctx), id)
	})
}

// myTasks answers the caller's task items with their tasks, filtered by
// role (name), assignment_status and task__workflow_id.
func (s *Server) myTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	workflowID, err := intQuery(q, "task__workflow_id", 0, 1, math.MaxInt64)
	if err != nil {
		return err
	}
	f := workflow.MyTasksFilter{Role: q.Get("role"), AssignmentStatus: workflow.AssignmentStatus(q.Get("assignment_status")), WorkflowID: int64(workflowID)}
	return replyPage(w, r, func(o workflow.ListOptions) ([]workflow.MyTask, int, error) {
		return s.engine.Workflow.MyTasks(r.Context(), actor(r.Context()), f, o)
	})
}

func (s *Server) allTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := workflow.AllTasksFilter{Tab: workflow.Tab(q.Get("tab")), Search: q.Get("search")}
	return replyPage(w, r, func(o workflow.ListOptions) ([]workflow.TaskDetail, int, error) {
		return s.engine.Workflow.AllTasks(r.Context(), actor(r.Context()), f, o)
	})
}

func (s *Server) ownedTickets(w http.ResponseWriter, r *http.Request) error {
	return replyPage(w, r, func(o workflow.ListOptions) ([]workflow.TaskDetail, int, error) {
		return s.engine.Workflow.OwnedTickets(r.Context(), actor(r.Context()), o)
	})
}

// itemID checks a task_item_id of a body.
func itemID(id int64) error {
	if id <= 0 {
		return errs.InvalidField("task_item_id", "This field is required.")
	}
	return nil
}

// transferTask takes the document's body. new_user_id is a string: user
// ids in bugflow are UUIDs, and the document's number is refused by name.
func (s *Server) transferTask(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		TaskItemID int64  `json:"task_item_id"`
		NewUserID  any    `json:"new_user_id"`
		Notes      string `json:"notes"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := itemID(body.TaskItemID); err != nil {
		return err
	}
	var userID string
	switch v := body.NewUserID.(type) {
	case string:
		userID = v
	case nil:
		return errs.InvalidField("new_user_id", "This field is required.")
	case json.Number:
		return errs.InvalidField("new_user_id", "user ids are strings in bugflow (the user's id, a UUID), not numbers")
	default:
		return errs.InvalidField("new_user_id", "must be a string: the user's id")
	}
	a, err := s.engine.Workflow.Transfer(r.Context(), actor(r.Context()), body.TaskItemID, userID, body.Notes)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, a)
}

func (s *Server) escalateTask(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		TaskItemID int64  `json:"task_item_id"`
		Reason     string `json:"reason"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := itemID(body.TaskItemID); err != nil {
		return err
	}
	a, err := s.engine.Workflow.Escalate(r.Context(), actor(r.Context()), body.TaskItemID, body.Reason)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, a)
}

func (s *Server) taskVisualization(w http.ResponseWriter, r *http.Request) error {
	return replyByID(w, r, "task", func(ctx context.Context, id int64) (workflow.Visualization, error) {
		return s.engine.Workflow.Visualization(ctx, actor(ctx), id)
	})
}

func (s *Server) taskActionLogs(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "task")
	if err != nil {
		return err
	}
	return replyPage(w, r, func(o workflow.ListOptions) ([]workflow.LogEntry, int, error) {
		return s.engine.Workflow.ActionLogs(r.Context(), actor(r.Context()), id, o)
	})
}

// updateUserStatus sets the caller's task item on the task to the body's
// status, "new" or "in progress".
func (s *Server) updateUserStatus(w http.ResponseWriter, r *http.Request) error {
	return replyToBodyByID(w, r, "task", func(ctx context.Context, id int64, body struct {
		Status workflow.AssignmentStatus `json:"status"`
	}) (workflow.Assignment, error) {
		return s.engine.Workflow.UpdateUserStatus(ctx, actor(ctx), id, body.Status)
	})
}

// transitionTask moves the task of the path along the body's
// transition_id (null: finalise the task at a step with no way out).
func (s *Server) transitionTask(w http.ResponseWriter, r *http.Request) error {
	return replyToBodyByID(w, r, "task", func(ctx context.Context, id int64, body struct {
		TransitionID *int64 `json:"transition_id"`
		Notes        string `json:"notes"`
	}) (workflow.TransitionResult, error) {
		return s.engine.Workflow.Transition(ctx, actor(ctx), id, body.TransitionID, body.Notes)
	})
}
