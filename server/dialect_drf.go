package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// drfDialect is seeds/004's (Django REST framework): errors are
// {"error": "...", "details": {field: [msgs]}}, details only for an Invalid
// error naming fields; successes are the body as is; a collection is a drfPage,
// {count, next, previous, results}, built by newDRFPage.
var drfDialect = dialect{
	status: statusFor,
	errorBody: func(_ int, e *errs.Error) any {
		body := map[string]any{"error": e.Message}
		if len(e.Fields) > 0 {
			body["details"] = e.Fields
		}
		return body
	},
	success: func(_ int, data any) any { return data },
}

// seeds/004's page-number pagination: page from 1, page_size 10 by default
// and 100 at most. A page past the data is empty; a page number past
// drfMaxPage is invalid, as bug report pages are.
const (
	drfDefaultPageSize = 10
	drfMaxPageSize     = 100
	drfMaxPage         = 1_000_000
)

// drfPage is one page of a seeds/004 collection.
type drfPage[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// drfPaging reads the page and page_size query parameters of r.
func drfPaging(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	page, err := intQuery(q, "page", 1, 1, drfMaxPage)
	if err != nil {
		return store.Page{}, err
	}
	size, err := intQuery(q, "page_size", drfDefaultPageSize, 1, drfMaxPageSize)
	if err != nil {
		return store.Page{}, err
	}
	return store.PageNumber(page, size), nil
}

// newDRFPage wraps results, the rows of p out of count in all, with the
// absolute links of the pages before and after it (null at either end).
// The links keep the request's other query parameters, so a filtered
// collection pages through the same filter.
func newDRFPage[T any](r *http.Request, p store.Page, count int, results []T) drfPage[T] {
	page := p.Offset/p.Limit + 1
	link := func(n int) *string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		if r.TLS != nil {
			u.Scheme = "https"
		}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		u.RawQuery = q.Encode()
		s := u.String()
		return &s
	}
	out := drfPage[T]{Count: count, Results: results}
	if out.Results == nil {
		out.Results = []T{}
	}
	if p.Offset+p.Limit < count {
		out.Next = link(page + 1)
	}
	if page > 1 {
		// The page before a page past the data is the last one that has rows.
		out.Previous = link(min(page-1, max(1, (count+p.Limit-1)/p.Limit)))
	}
	return out
}

// idParam reads the :id of a seeds/004 route, the id of a what. An id that
// is no positive integer names nothing: 404, as Django answers a path its
// int converter does not match.
func idParam(r *http.Request, what string) (int64, error) {
	raw := httprouter.ParamsFromContext(r.Context()).ByName("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return 0, errs.NotFoundf("%s %q not found", what, raw)
	}
	return id, nil
}
