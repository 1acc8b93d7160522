package server

import (
	"net/http"

	"github.com/bugflow/bugflow/notify"
)

// seeds/004's failed notifications: task notifications whose every
// delivery attempt failed, and retrying one.

func (s *Server) failedNotifications(w http.ResponseWriter, r *http.Request) error {
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	rows, count, err := s.engine.Notify.FailedNotifications(r.Context(), p.Limit, p.Offset)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, newDRFPage(r, p, count, rows))
}

func (s *Server) retryNotification(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "notification")
	if err != nil {
		return err
	}
	n, err := s.engine.Notify.Retry(r.Context(), id)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, retried{Success: true, Message: "Notification queued for retry", Notification: n})
}

// retried is the answer to a retry.
type retried struct {
	Success      bool                `json:"success"`
	Message      string              `json:"message"`
	Notification notify.Notification `json:"notification"`
}
