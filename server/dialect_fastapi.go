package server

import (
	"net/http"

	"github.com/bugflow/bugflow/errs"
)

// fastAPIDialect is seeds/001's and seeds/003's: errors are
// {"detail": "..."}, except that an Invalid error naming fields is
// FastAPI's model validation answer, 422 {"detail": [{"loc", "msg",
// "type"}]}; successes are the body as is. (Routes registered
// withPlainInvalid drop the fields first, and so answer 400.)
var fastAPIDialect = dialect{
	status: func(e *errs.Error) int {
		if e.Kind == errs.Invalid && len(e.Fields) > 0 {
			return http.StatusUnprocessableEntity
		}
		return statusFor(e)
	},
	errorBody: func(status int, e *errs.Error) any {
		if status != http.StatusUnprocessableEntity {
			return map[string]any{"detail": e.Message}
		}
		items := []validationItem{}
		for _, field := range e.FieldNames() {
			for _, m := range e.Fields[field] {
				items = append(items, validationItem{Loc: []string{"body", field}, Msg: m, Type: "value_error"})
			}
		}
		return map[string]any{"detail": items}
	},
	success: func(_ int, data any) any { return data },
}

// validationItem is one entry of FastAPI's 422 detail list.
type validationItem struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}
