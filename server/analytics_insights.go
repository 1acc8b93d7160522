package server

import (
	"context"
	"net/http"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow/analytics"
)

// seeds/004's operational insights and forecasts (admins) and drill-downs
// (any signed-in user, who sees only the records the lists they come
// from would show them: see package analytics' drilldown.go). The routes
// are in routes.go; the figures are the analytics.Service's.

// analyticsForecast serves a forecast computed from the request's filter
// and its horizon parameter (analytics.ParseHorizon).
func analyticsForecast[T any](call func(context.Context, analytics.Filter, int) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		horizon, err := analytics.ParseHorizon(r.URL.Query())
		if err != nil {
			return err
		}
		return analyticsFigure(func(ctx context.Context, f analytics.Filter) (T, error) {
			return call(ctx, f, horizon)
		})(w, r)
	}
}

// analyticsDrilldown serves one DRF page of a drill-down of the request's
// filter.
func analyticsDrilldown[T any](list func(r *http.Request, f analytics.Filter, p store.Page) ([]T, int, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, err := analytics.ParseFilter(r.URL.Query())
		if err != nil {
			return err
		}
		p, err := drfPaging(r)
		if err != nil {
			return err
		}
		rows, count, err := list(r, f, p)
		if err != nil {
			return err
		}
		return reply(w, r, http.StatusOK, newDRFPage(r, p, count, rows))
	}
}

func (s *Server) drilldownTickets(sel func(r *http.Request) analytics.TicketSelect) handlerFunc {
	return analyticsDrilldown(func(r *http.Request, f analytics.Filter, p store.Page) ([]analytics.TicketRow, int, error) {
		return s.engine.Analytics.DrilldownTickets(r.Context(), ticketCaller(r), f, sel(r), p)
	})
}

func (s *Server) drilldownTasks(w http.ResponseWriter, r *http.Request) error {
	return analyticsDrilldown(func(r *http.Request, f analytics.Filter, p store.Page) ([]analytics.TaskRow, int, error) {
		return s.engine.Analytics.DrilldownTasks(r.Context(), actor(r.Context()), f, r.URL.Query().Get("status"), p)
	})(w, r)
}

func (s *Server) drilldownWorkflow(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "workflow")
	if err != nil {
		return err
	}
	return analyticsDrilldown(func(r *http.Request, f analytics.Filter, p store.Page) ([]analytics.TaskRow, int, error) {
		return s.engine.Analytics.DrilldownWorkflow(r.Context(), actor(r.Context()), id, f, p)
	})(w, r)
}

func (s *Server) drilldownAssignments(sel func(r *http.Request) (analytics.AssignmentSelect, error)) handlerFunc {
	return analyticsDrilldown(func(r *http.Request, f analytics.Filter, p store.Page) ([]analytics.AssignmentRow, int, error) {
		as, err := sel(r)
		if err != nil {
			return nil, 0, err
		}
		return s.engine.Analytics.DrilldownAssignments(r.Context(), actor(r.Context()), f, as, p)
	})
}

// drilldownSelectors read each drill-down's own query parameter.
var (
	byTicketStatus = func(r *http.Request) analytics.TicketSelect {
		return analytics.TicketSelect{Status: r.URL.Query().Get("status")}
	}
	// The priority drill-down's priority is the common filter's.
	byNothing    = func(*http.Request) analytics.TicketSelect { return analytics.TicketSelect{} }
	byAgeBracket = func(r *http.Request) analytics.TicketSelect {
		return analytics.TicketSelect{Age: r.URL.Query().Get("bracket")}
	}
	bySLAOutcome = func(r *http.Request) analytics.TicketSelect {
		return analytics.TicketSelect{SLA: r.URL.Query().Get("sla")}
	}
	byOrigin = func(r *http.Request) (analytics.AssignmentSelect, error) {
		return analytics.AssignmentSelect{Origin: r.URL.Query().Get("origin")}, nil
	}
	byTransferred = func(*http.Request) (analytics.AssignmentSelect, error) {
		return analytics.AssignmentSelect{Origin: "Transferred"}, nil
	}
	byPathUser = func(r *http.Request) (analytics.AssignmentSelect, error) {
		id := httprouter.ParamsFromContext(r.Context()).ByName("id")
		if id == "" || utf8.RuneCountInString(id) > 100 || !store.ValidText(id) {
			return analytics.AssignmentSelect{}, errs.NotFoundf("user %q not found", id)
		}
		return analytics.AssignmentSelect{UserID: id}, nil
	}
)
