package server

import "github.com/bugflow/bugflow/errs"

// drfDialect is seeds/004's (Django REST framework): errors are
// {"error": "...", "details": {field: [msgs]}}, details only for an Invalid
// error naming fields; successes are the body as is (a collection is
// {count, next, previous, results}, which its handler builds).
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
