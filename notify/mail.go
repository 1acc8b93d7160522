package notify

import (
	"context"
	"fmt"

	"github.com/bugflow/bugflow/auth"
)

// Mail is the mail channel: it sends each notification to its recipient's
// address through one of auth's transports.
type Mail struct {
	mailer auth.Mailer
	email  func(ctx context.Context, userID string) (string, error)
}

// NewMail returns the mail channel; email looks a recipient's address up.
func NewMail(mailer auth.Mailer, email func(ctx context.Context, userID string) (string, error)) *Mail {
	return &Mail{mailer: mailer, email: email}
}

// Name implements Channel.
func (m *Mail) Name() string { return "mail" }

// Send implements Channel.
func (m *Mail) Send(ctx context.Context, n Notification) error {
	to, err := m.email(ctx, n.Recipient)
	if err != nil {
		return fmt.Errorf("mail: recipient %q: %w", n.Recipient, err)
	}
	if to == "" {
		return fmt.Errorf("mail: recipient %q has no email address", n.Recipient)
	}
	return m.mailer.Send(ctx, auth.Message{To: to, Subject: n.Subject, Text: n.Body})
}
