package server

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/workflow/analytics"
)

// seeds/004's analytics (/analytics/). Every figure is an aggregate, so a
// signed-in user who is no admin gets the same figures an admin does: no
// ticket, task or person is revealed that the user could not count
// already from the workflow lists. The operational insights and forecasts
// are for admins, as the document says; drill-downs, which list tickets and
// tasks, apply the object-level rules of the lists they come from.

// analyticsLink is one entry of the analytics index.
type analyticsLink struct {
	// Name is the path below /analytics/, without its slashes at either end.
	Name string `json:"name"`
	// URL is absolute, with {id} where a path parameter goes.
	URL       string `json:"url"`
	AdminOnly bool   `json:"admin_only"`
}

// analyticsIndex lists every analytics endpoint, read from the route
// table so that it cannot fall behind it.
func (s *Server) analyticsIndex(w http.ResponseWriter, r *http.Request) error {
	base := baseURL(r)
	links := []analyticsLink{}
	for _, rt := range s.routes {
		rest, ok := strings.CutPrefix(rt.Path, "/analytics/")
		if !ok || rest == "" || rt.Method != http.MethodGet {
			continue
		}
		path := routeParam.ReplaceAllString(rt.Path, "{$1}")
		links = append(links, analyticsLink{Name: strings.Trim(routeParam.ReplaceAllString(rest, "{$1}"), "/"),
			URL: base + path, AdminOnly: rt.Access.Level == AccessAdmin})
	}
	return reply(w, r, http.StatusOK, map[string]any{"endpoints": links})
}

// analyticsFigure serves a figure computed from the request's filter
// (analytics.ParseFilter): 400 naming each bad parameter, else 200 with
// what call returns.
func analyticsFigure[T any](call func(context.Context, analytics.Filter) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, err := analytics.ParseFilter(r.URL.Query())
		if err != nil {
			return err
		}
		v, err := call(r.Context(), f)
		if err != nil {
			return err
		}
		return reply(w, r, http.StatusOK, v)
	}
}

// analyticsSeries serves a time series computed from the request's filter
// and its interval parameter (day or week), as analyticsFigure does.
func analyticsSeries[T any](call func(context.Context, analytics.Filter, analytics.Interval) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		iv, err := analytics.ParseInterval(r.URL.Query())
		if err != nil {
			return err
		}
		return analyticsFigure(func(ctx context.Context, f analytics.Filter) (T, error) {
			return call(ctx, f, iv)
		})(w, r)
	}
}

// analyticsDashboard serves the ticket KPI dashboard as JSON, or as an SVG
// chart (analytics.Dashboard.SVG) for ?format=svg or a request that
// accepts image/svg+xml and not JSON.
func (s *Server) analyticsDashboard(w http.ResponseWriter, r *http.Request) error {
	svg := false
	switch r.URL.Query().Get("format") {
	case "svg":
		svg = true
	case "json":
	case "":
		accept := r.Header.Get("Accept")
		svg = strings.Contains(accept, "image/svg+xml") && !strings.Contains(accept, "application/json")
	default:
		return errs.InvalidField("format", "must be json or svg")
	}
	f, err := analytics.ParseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	d, err := s.engine.Analytics.Dashboard(r.Context(), f)
	if err != nil {
		return err
	}
	if !svg {
		return reply(w, r, http.StatusOK, d)
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.WriteHeader(http.StatusOK)
	// A failed write means the client went away mid-response.
	_, _ = w.Write(d.SVG())
	return nil
}

// routeParam matches the :name and *name segments of a route path.
var routeParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)
