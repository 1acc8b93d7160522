package server

import "github.com/bugflow/bugflow/errs"

// envelopeDialect is seeds/002's: every answer is an envelope that repeats
// its status, {"data", "success": true, "status"} or {"success": false,
// "status", "error": {"code", "message", "details"}}, details being the
// per-field messages of an Invalid error.
var envelopeDialect = dialect{
	status: statusFor,
	errorBody: func(status int, e *errs.Error) any {
		inner := map[string]any{"code": errorCode(status, e), "message": e.Message}
		if len(e.Fields) > 0 {
			inner["details"] = e.Fields
		}
		return map[string]any{"success": false, "status": status, "error": inner}
	},
	success: func(status int, data any) any {
		return envelopeOK{Data: data, Success: true, Status: status}
	},
}

// envelopeOK is a success envelope. A struct, not a map, because bug
// intake answers one per occurrence (a map costs a key sort and more
// allocations to encode); its fields are in the order a map's sorted keys
// would give, so the bytes are the same.
type envelopeOK struct {
	Data    any  `json:"data"`
	Status  int  `json:"status"`
	Success bool `json:"success"`
}
