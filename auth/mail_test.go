package auth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
)

// smtpSink is a real SMTP server (emersion/go-smtp) on loopback that
// requires PLAIN authentication and keeps what it receives.
type smtpSink struct {
	mu       sync.Mutex
	from     string
	rcpts    []string
	data     []byte
	authUser string
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink   *smtpSink
	authed bool
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mailer" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.authed = true
		s.sink.mu.Lock()
		s.sink.authUser = user
		s.sink.mu.Unlock()
		return nil
	}), nil
}
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.sink.mu.Lock()
	s.sink.from = from
	s.sink.mu.Unlock()
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.sink.mu.Lock()
	s.sink.rcpts = append(s.sink.rcpts, to)
	s.sink.mu.Unlock()
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.sink.mu.Lock()
	s.sink.data = b
	s.sink.mu.Unlock()
	return err
}
func (s *sinkSession) Reset()        {}
func (s *sinkSession) Logout() error { return nil }

func startSMTP(t *testing.T) (*smtpSink, string) {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sink, ln.Addr().String()
}

func otpMessage() auth.Message {
	return auth.Message{To: "alice@example.com", Subject: "Your bugflow sign-in code: 123456", Text: "Your bugflow sign-in code is 123456.\nIt expires in 10 minutes.\n"}
}

func TestSMTPMailer(t *testing.T) {
	sink, addr := startSMTP(t)
	m, err := auth.NewMailer("smtp://mailer:s3cret@"+addr+"?tls=none&from=noreply@bugflow.test", nil)
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(), otpMessage()))

	sink.mu.Lock()
	defer sink.mu.Unlock()
	assert.Equal(t, "mailer", sink.authUser)
	assert.Equal(t, "noreply@bugflow.test", sink.from)
	assert.Equal(t, []string{"alice@example.com"}, sink.rcpts)
	msg, err := mail.ReadMessage(bytes.NewReader(sink.data))
	require.NoError(t, err)
	assert.Equal(t, "Your bugflow sign-in code: 123456", msg.Header.Get("Subject"))
	body, _ := io.ReadAll(msg.Body)
	assert.Contains(t, string(body), "123456")

	bad, err := auth.NewMailer("smtp://mailer:wrong@"+addr+"?tls=none", nil)
	require.NoError(t, err)
	assert.Error(t, bad.Send(context.Background(), otpMessage()), "wrong SMTP password")
}

func TestFileMailerWritesOneEMLPerMessage(t *testing.T) {
	dir := t.TempDir()
	m, err := auth.NewMailer("file://"+dir, nil)
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, m.Send(context.Background(), otpMessage()))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 3, "no temporary files left behind")
	for _, e := range entries {
		assert.True(t, strings.HasSuffix(e.Name(), ".eml"))
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err, "RFC 5322")
		assert.Equal(t, "<alice@example.com>", msg.Header.Get("To"))
		assert.NotEmpty(t, msg.Header.Get("Date"))
		assert.NotEmpty(t, msg.Header.Get("Message-Id"))
		assert.Contains(t, msg.Header.Get("Content-Type"), "text/plain")
	}
}

func TestLogMailerLogsTheCode(t *testing.T) {
	var buf bytes.Buffer
	m, err := auth.NewMailer("log:", slog.New(slog.NewTextHandler(&buf, nil)))
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(), otpMessage()))
	assert.Contains(t, buf.String(), "123456")
	assert.Contains(t, buf.String(), "alice@example.com")
}

func TestNewMailerRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"ftp://x", "smtp://", "smtp://h:99999", "smtp://h?tls=maybe", "file://"} {
		_, err := auth.NewMailer(u, nil)
		assert.Error(t, err, u)
	}
}
