package auth_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// outbox is a Mailer that keeps messages for the test to read.
type outbox struct {
	mu   sync.Mutex
	msgs []auth.Message
	fail error
}

func (o *outbox) Send(_ context.Context, m auth.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.msgs = append(o.msgs, m)
	return nil
}

var codePattern = regexp.MustCompile(`\b(\d{6})\b`)

// lastCode returns the code in the newest message to addr.
func (o *outbox) lastCode(t *testing.T, addr string) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.msgs) - 1; i >= 0; i-- {
		if o.msgs[i].To == addr {
			m := codePattern.FindStringSubmatch(o.msgs[i].Text)
			require.NotNil(t, m, "no code in %q", o.msgs[i].Text)
			return m[1]
		}
	}
	t.Fatalf("no mail to %s", addr)
	return ""
}

// clock is a settable time source.
type clock struct{ now atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.now.Store(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.now.Add(int64(d)) }
func kind(err error) errs.Kind           { return errs.KindOf(err) }
func newService(t *testing.T, db *store.DB, cfg auth.Config) *auth.Service {
	t.Helper()
	svc, err := auth.New(auth.NewBunStore(db.DB), cfg)
	require.NoError(t, err)
	return svc
}

const adminKey = "bootstrap-admin-key-0123456789"

func TestOTPSignIn(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mail, clk := &outbox{}, newClock()
		svc := newService(t, db, auth.Config{Mailer: mail, Now: clk.Now})

		wait, err := svc.RequestOTP(ctx, "  Alice@Example.COM ")
		require.NoError(t, err)
		assert.Equal(t, 60*time.Second, wait)
		require.Len(t, mail.msgs, 1)
		assert.Equal(t, "alice@example.com", mail.msgs[0].To)
		assert.Contains(t, mail.msgs[0].Text, "expires in 10 minutes")

		// Asking again within the wait is rate limited with the time left.
		clk.advance(20 * time.Second)
		_, err = svc.RequestOTP(ctx, "alice@example.com")
		require.Equal(t, errs.RateLimited, kind(err))
		assert.Equal(t, 40*time.Second, errs.As(err).RetryAfter)
		assert.Len(t, mail.msgs, 1, "no second mail")

		code := mail.lastCode(t, "alice@example.com")
		in, err := svc.SignInWithOTP(ctx, "alice@example.com", code)
		require.NoError(t, err)
		assert.NotEmpty(t, in.Token)
		assert.Equal(t, "alice@example.com", in.User.Email, "first sign-in creates the user")
		assert.Equal(t, auth.RoleUser, in.User.Role)

		// Single use.
		_, err = svc.SignInWithOTP(ctx, "alice@example.com", code)
		assert.Equal(t, errs.Unauthorized, kind(err))

		ok, exp, err := svc.VerifySession(ctx, in.Token)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, clk.Now().Add(auth.DefaultSessionTTL).Truncate(time.Microsecond), exp)
		id, err := svc.Authenticate(ctx, in.Token)
		require.NoError(t, err)
		assert.Equal(t, in.User.ID, id.User.ID)

		// A second sign-in of the same email finds the same user.
		clk.advance(time.Minute)
		_, err = svc.RequestOTP(ctx, "alice@example.com")
		require.NoError(t, err)
		again, err := svc.SignInWithOTP(ctx, "ALICE@example.com", mail.lastCode(t, "alice@example.com"))
		require.NoError(t, err)
		assert.Equal(t, in.User.ID, again.User.ID)

		// Sessions expire.
		clk.advance(auth.DefaultSessionTTL)
		ok, _, err = svc.VerifySession(ctx, in.Token)
		require.NoError(t, err)
		assert.False(t, ok)
		_, err = svc.Authenticate(ctx, in.Token)
		assert.Equal(t, errs.Unauthorized, kind(err))
		ok, _, err = svc.VerifySession(ctx, "no-such-session")
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

func TestOTPExpiresAndDiesAfterFiveWrongTries(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mail, clk := &outbox{}, newClock()
		svc := newService(t, db, auth.Config{Mailer: mail, Now: clk.Now})

		_, err := svc.RequestOTP(ctx, "bob@example.com")
		require.NoError(t, err)
		clk.advance(10*time.Minute + time.Second)
		_, err = svc.SignInWithOTP(ctx, "bob@example.com", mail.lastCode(t, "bob@example.com"))
		assert.Equal(t, errs.Gone, kind(err), "expired code")

		_, err = svc.RequestOTP(ctx, "bob@example.com")
		require.NoError(t, err)
		code := mail.lastCode(t, "bob@example.com")
		wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
		for i := 1; i <= 5; i++ {
			_, err = svc.SignInWithOTP(ctx, "bob@example.com", wrong)
			require.Equal(t, errs.Unauthorized, kind(err), "try %d", i)
		}
		_, err = svc.SignInWithOTP(ctx, "bob@example.com", code)
		assert.Equal(t, errs.Unauthorized, kind(err), "the right code is dead after 5 wrong tries")

		// Four wrong tries leave the fifth one usable.
		clk.advance(time.Minute)
		_, err = svc.RequestOTP(ctx, "bob@example.com")
		require.NoError(t, err)
		code = mail.lastCode(t, "bob@example.com")
		for range 4 {
			_, err = svc.SignInWithOTP(ctx, "bob@example.com", "000000x")
			require.Equal(t, errs.Unauthorized, kind(err))
		}
		_, err = svc.SignInWithOTP(ctx, "bob@example.com", code)
		require.NoError(t, err)
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestOTPRejectsBadEmailAndWithdrawsUnsentCodes(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mail := &outbox{fail: errors.New("smtp down")}
		svc := newService(t, db, auth.Config{Mailer: mail})
		for _, bad := range []string{"", "not-an-email", "a@b", "Alice <a@example.com>", "a@@example.com"} {
			_, err := svc.RequestOTP(ctx, bad)
			assert.Equal(t, errs.Invalid, kind(err), bad)
		}
		_, err := svc.RequestOTP(ctx, "carol@example.com")
		assert.Equal(t, errs.Unavailable, kind(err))
		mail.fail = nil
		_, err = svc.RequestOTP(ctx, "carol@example.com")
		assert.NoError(t, err, "a code that was never sent does not hold up the next one")
	})
}

// Of many concurrent sign-ins with the one right code, exactly one wins.
func TestOTPIsSingleUseUnderConcurrency(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mail := &outbox{}
		svc := newService(t, db, auth.Config{Mailer: mail, OTPMaxAttempts: 100})
		_, err := svc.RequestOTP(ctx, "dan@example.com")
		require.NoError(t, err)
		code := mail.lastCode(t, "dan@example.com")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := svc.SignInWithOTP(ctx, "dan@example.com", code); err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
	})
}

func TestRegisterAndLogin(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, auth.Config{})
		u, err := svc.Register(ctx, auth.Registration{Username: "johndoe", Password: "securepass123", Name: "John", Lastname: "Doe"})
		require.NoError(t, err)
		assert.Equal(t, "johndoe", u.Username)

		_, err = svc.Register(ctx, auth.Registration{Username: "JohnDoe", Password: "securepass123"})
		require.Equal(t, errs.Invalid, kind(err), "usernames are unique case-insensitively")
		assert.Equal(t, "username already exists", err.Error())

		_, err = svc.Register(ctx, auth.Registration{Username: "x", Password: "short"})
		e := errs.As(err)
		require.NotNil(t, e)
		assert.ElementsMatch(t, []string{"password", "username"}, e.FieldNames())
		_, err = svc.Register(ctx, auth.Registration{Username: "admin", Password: "securepass123"})
		assert.Equal(t, errs.Invalid, kind(err), "admin is reserved")

		in, err := svc.Login(ctx, "johndoe", "securepass123")
		require.NoError(t, err)
		assert.Equal(t, u.ID, in.User.ID)
		id, err := svc.Authenticate(ctx, in.Token)
		require.NoError(t, err)
		assert.Equal(t, "John", id.User.Name)
		require.NotNil(t, id.User.LastSeen)

		_, err = svc.Login(ctx, "johndoe", "wrong-password")
		assert.Equal(t, errs.Unauthorized, kind(err))
		_, err = svc.Login(ctx, "nobody", "securepass123")
		assert.Equal(t, errs.Unauthorized, kind(err))
		assert.Equal(t, "invalid credentials", err.Error(), "same answer for unknown users")

		require.NoError(t, svc.Logout(ctx, in.Token))
		_, err = svc.Authenticate(ctx, in.Token)
		assert.Equal(t, errs.Unauthorized, kind(err))
	})
}

func TestAdministration(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		svc := newService(t, db, auth.Config{AdminKey: adminKey, Now: clk.Now})

		root, err := svc.Authenticate(ctx, adminKey)
		require.NoError(t, err)
		assert.Equal(t, auth.MethodBootstrap, root.Method)
		assert.True(t, root.IsAdmin())

		rm, key, err := svc.CreateAdmin(ctx, root, "release-manager")
		require.NoError(t, err)
		assert.Equal(t, auth.RoleAdmin, rm.Role)
		assert.True(t, len(key) >= auth.MinAPIKeyLength)
		for _, bad := range []string{"admin", "-x", "a", "has space", "release-manager"} {
			_, _, err = svc.CreateAdmin(ctx, root, bad)
			assert.Equal(t, errs.Invalid, kind(err), bad)
			assert.Empty(t, errs.As(err).Fields, "400, not 422: %s", bad)
		}

		// The new admin's key works as a bearer token and for the cookie login.
		byKey, err := svc.Authenticate(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, auth.MethodAPIKey, byKey.Method)
		sess, err := svc.AdminLogin(ctx, "release-manager", key)
		require.NoError(t, err)
		_, err = svc.AdminLogin(ctx, "release-manager", "wrong-key-0123456789")
		assert.Equal(t, errs.Unauthorized, kind(err))
		_, err = svc.AdminLogin(ctx, "admin", adminKey)
		require.NoError(t, err)

		// The admin session slides: used after 7 h it lives 8 h more.
		clk.advance(7 * time.Hour)
		id, err := svc.Authenticate(ctx, sess.Token)
		require.NoError(t, err)
		assert.Equal(t, clk.Now().Add(8*time.Hour), id.SessionExpiresAt)
		clk.advance(7 * time.Hour)
		_, err = svc.Authenticate(ctx, sess.Token)
		require.NoError(t, err, "still alive 14 h after login")

		// Only admins administer.
		alice, err := svc.Register(ctx, auth.Registration{Username: "alice", Password: "alicepass123"})
		require.NoError(t, err)
		aliceIn, err := svc.Login(ctx, "alice", "alicepass123")
		require.NoError(t, err)
		aliceID, err := svc.Authenticate(ctx, aliceIn.Token)
		require.NoError(t, err)
		_, err = svc.ListUsers(ctx, aliceID)
		assert.Equal(t, errs.Forbidden, kind(err))
		_, err = svc.ListUsers(ctx, nil)
		assert.Equal(t, errs.Unauthorized, kind(err))

		// Promotion issues a key; demotion removes it and ends sessions.
		_, aliceKey, err := svc.SetRole(ctx, root, "alice", auth.RoleAdmin)
		require.NoError(t, err)
		require.NotEmpty(t, aliceKey)
		_, _, err = svc.SetRole(ctx, root, "alice", auth.RoleAdmin)
		assert.Equal(t, errs.Invalid, kind(err), "same role")
		_, _, err = svc.SetRole(ctx, byKey, "release-manager", auth.RoleUser)
		assert.Equal(t, errs.Invalid, kind(err), "self-change")
		_, _, err = svc.SetRole(ctx, root, "admin", auth.RoleUser)
		assert.Equal(t, errs.Invalid, kind(err), "reserved")
		_, _, err = svc.SetRole(ctx, root, "alice", "owner")
		assert.Equal(t, errs.Invalid, kind(err), "invalid role")
		_, _, err = svc.SetRole(ctx, root, "nobody", auth.RoleAdmin)
		assert.Equal(t, errs.NotFound, kind(err))
		_, _, err = svc.SetRole(ctx, root, "alice", auth.RoleUser)
		require.NoError(t, err)
		_, err = svc.Authenticate(ctx, aliceKey)
		assert.Equal(t, errs.Unauthorized, kind(err), "demotion removes the key")
		_, err = svc.Authenticate(ctx, aliceIn.Token)
		assert.Equal(t, errs.Unauthorized, kind(err), "demotion ends sessions")
		_, err = svc.User(ctx, alice.ID)
		require.NoError(t, err)

		// Rotation replaces the key and ends sessions.
		newKey, err := svc.RotateKey(ctx, root, "release-manager", "jji_custom_admin_key_123456")
		require.NoError(t, err)
		assert.Equal(t, "jji_custom_admin_key_123456", newKey)
		_, err = svc.Authenticate(ctx, key)
		assert.Equal(t, errs.Unauthorized, kind(err))
		_, err = svc.Authenticate(ctx, sess.Token)
		assert.Equal(t, errs.Unauthorized, kind(err))
		_, err = svc.Authenticate(ctx, newKey)
		require.NoError(t, err)
		_, err = svc.RotateKey(ctx, root, "release-manager", "short")
		assert.Equal(t, errs.Invalid, kind(err))
		_, err = svc.RotateKey(ctx, root, "alice", "")
		assert.Equal(t, errs.NotFound, kind(err), "alice is no admin")

		// Last-admin and self protections.
		assert.Equal(t, errs.Invalid, kind(svc.DeleteUser(ctx, byKey, "release-manager")), "self")
		assert.Equal(t, errs.Invalid, kind(svc.DeleteUser(ctx, root, "release-manager")), "last admin")
		assert.Equal(t, errs.Invalid, kind(svc.DeleteUser(ctx, root, "admin")))
		assert.Equal(t, errs.NotFound, kind(svc.DeleteUser(ctx, root, "nobody")))
		aliceIn, err = svc.Login(ctx, "alice", "alicepass123")
		require.NoError(t, err)
		require.NoError(t, svc.DeleteUser(ctx, root, "alice"))
		_, err = svc.Authenticate(ctx, aliceIn.Token)
		assert.Equal(t, errs.Unauthorized, kind(err), "deletion ends sessions")
		users, err := svc.ListUsers(ctx, root)
		require.NoError(t, err)
		require.Len(t, users, 1)
		assert.Equal(t, "release-manager", users[0].Username)
	})
}

func TestTrackerTokensAreEncrypted(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, auth.Config{SecretKey: "a secret for tests"})
		_, err := svc.Register(ctx, auth.Registration{Username: "alice", Password: "alicepass123"})
		require.NoError(t, err)

		gh, je, jt := "ghp_example_secret", "alice@example.com", "jira_example_secret"
		require.NoError(t, svc.SetUserTokens(ctx, "alice", auth.TokensUpdate{GitHubToken: &gh, JiraEmail: &je, JiraToken: &jt}))
		got, err := svc.UserTokens(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, auth.Tokens{GitHubToken: gh, JiraEmail: je, JiraToken: jt}, got)

		var raw []string
		require.NoError(t, db.NewRaw("SELECT github_token || jira_token FROM auth_tracker_tokens").Scan(ctx, &raw))
		require.Len(t, raw, 1)
		assert.NotContains(t, raw[0], "example_secret")

		empty := ""
		require.NoError(t, svc.SetUserTokens(ctx, "alice", auth.TokensUpdate{GitHubToken: &empty}))
		got, err = svc.UserTokens(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, auth.Tokens{JiraEmail: je, JiraToken: jt}, got, "omitted fields unchanged, empty clears")

		assert.Equal(t, errs.NotFound, kind(svc.SetUserTokens(ctx, "nobody", auth.TokensUpdate{GitHubToken: &gh})))
		got, err = svc.UserTokens(ctx, "nobody")
		require.NoError(t, err)
		assert.Equal(t, auth.Tokens{}, got)

		// A server with another secret cannot read them.
		other := newService(t, db, auth.Config{SecretKey: "another secret"})
		_, err = other.UserTokens(ctx, "alice")
		assert.Error(t, err)
		// Without a secret, storing is refused.
		none := newService(t, db, auth.Config{})
		assert.Equal(t, errs.Unavailable, kind(none.SetUserTokens(ctx, "alice", auth.TokensUpdate{GitHubToken: &gh})))
	})
}
