package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/bugflow/bugflow/errs"
)

// Message is a plain-text email.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends email. Implementations must be safe for concurrent use.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// DefaultMailFrom is the sender of bugflow's mail unless the mail URL sets
// one with ?from=.
const DefaultMailFrom = "bugflow <no-reply@bugflow.localhost>"

// smtpTimeout bounds one SMTP conversation.
const smtpTimeout = 30 * time.Second

// NewMailer returns the transport a mail URL names:
//
//	"" or "log:"                     LogMailer: the message, code included, goes to logger
//	file:///dir                      FileMailer: one RFC 5322 .eml file per message in dir
//	smtp://user:pass@host:port       SMTP with STARTTLS when offered (port 587 by default)
//	smtps://user:pass@host:port      SMTP over implicit TLS (port 465 by default)
//
// SMTP URLs take ?from=addr (the sender) and ?tls=mandatory|opportunistic|none
// (default opportunistic for smtp://); file URLs take ?from= too.
func NewMailer(rawURL string, logger *slog.Logger) (Mailer, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if rawURL == "" || rawURL == "log:" {
		return &LogMailer{Logger: logger}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errs.InvalidField("mail_url", "not a URL")
	}
	from := u.Query().Get("from")
	if from == "" {
		from = DefaultMailFrom
	}
	switch u.Scheme {
	case "file":
		if u.Path == "" {
			return nil, errs.InvalidField("mail_url", "file:// needs a directory")
		}
		return &FileMailer{Dir: u.Path, From: from}, nil
	case "smtp", "smtps":
		return newSMTPMailer(u, from)
	default:
		return nil, errs.InvalidField("mail_url", "unsupported scheme: use log:, file:///dir or smtp://user:pass@host:port")
	}
}

// LogMailer writes each message to a logger instead of sending it, so that a
// new installation can sign in with no mail server: the code is in the log.
type LogMailer struct {
	Logger *slog.Logger
}

// Send implements Mailer.
func (l *LogMailer) Send(ctx context.Context, m Message) error {
	l.Logger.InfoContext(ctx, "mail (log transport; set --mail-url to send real mail)",
		"to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}

// FileMailer writes each message as an RFC 5322 .eml file into Dir, the way
// Django's file e-mail backend does: handy for tests and for inspecting what
// would be sent. Files appear atomically (written under a temporary name,
// then renamed), so a reader never sees half a message.
type FileMailer struct {
	Dir  string
	From string
}

// Send implements Mailer.
func (f *FileMailer) Send(_ context.Context, m Message) error {
	msg, err := buildMessage(f.From, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: create %s: %w", f.Dir, err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := time.Now().UTC().Format("20060102T150405.000000000") + "-" + hex.EncodeToString(suffix[:]) + ".eml"
	tmp, err := os.CreateTemp(f.Dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := msg.WriteTo(tmp); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("mail: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("mail: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail: close: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(f.Dir, name)); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}

// SMTPMailer sends through an SMTP server with wneessen/go-mail.
type SMTPMailer struct {
	host string
	opts []mail.Option
	from string
}

func newSMTPMailer(u *url.URL, from string) (*SMTPMailer, error) {
	if u.Hostname() == "" {
		return nil, errs.InvalidField("mail_url", "smtp:// needs a host")
	}
	port := 587
	opts := []mail.Option{mail.WithTimeout(smtpTimeout)}
	authType := mail.SMTPAuthAutoDiscover
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, mail.WithSSL())
	} else {
		policy := mail.TLSOpportunistic
		switch u.Query().Get("tls") {
		case "", "opportunistic":
		case "mandatory":
			policy = mail.TLSMandatory
		case "none":
			// The operator chose a cleartext connection (a relay on
			// loopback, say); autodiscovery would refuse to send the
			// password over it, so PLAIN is used as asked.
			policy, authType = mail.NoTLS, mail.SMTPAuthPlainNoEnc
		default:
			return nil, errs.InvalidField("mail_url", "tls must be mandatory, opportunistic or none")
		}
		opts = append(opts, mail.WithTLSPolicy(policy))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, errs.InvalidField("mail_url", "bad port")
		}
		port = n
	}
	opts = append(opts, mail.WithPort(port))
	if u.User != nil {
		pw, _ := u.User.Password()
		opts = append(opts, mail.WithSMTPAuth(authType),
			mail.WithUsername(u.User.Username()), mail.WithPassword(pw))
	}
	return &SMTPMailer{host: u.Hostname(), opts: opts, from: from}, nil
}

// Send implements Mailer. Each message opens its own connection: sign-in
// mail is rare, and a long-lived connection would need keep-alive handling.
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	msg, err := buildMessage(s.from, m)
	if err != nil {
		return err
	}
	client, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send via %s: %w", s.host, err)
	}
	return nil
}

func buildMessage(from string, m Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	return msg, nil
}
