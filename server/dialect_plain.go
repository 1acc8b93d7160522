package server

import "github.com/bugflow/bugflow/errs"

// plainDialect is seeds/000's: errors are {"error": {"code", "message"}}
// (field details are not part of the document), successes are the body as
// is.
var plainDialect = dialect{
	status: statusFor,
	errorBody: func(status int, e *errs.Error) any {
		return map[string]any{"error": map[string]string{"code": errorCode(status, e), "message": e.Message}}
	},
	success: func(_ int, data any) any { return data },
}
