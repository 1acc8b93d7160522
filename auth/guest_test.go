package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// signUpByEmail signs email in with a mailed code and returns its user.
func signUpByEmail(t *testing.T, svc *auth.Service, mail *outbox, email string) auth.User {
	t.Helper()
	ctx := context.Background()
	_, err := svc.RequestOTP(ctx, email)
	require.NoError(t, err)
	in, err := svc.SignInWithOTP(ctx, email, mail.lastCode(t, strings.ToLower(email)))
	require.NoError(t, err)
	return in.User
}

// A bare username acts only as a guest: a name no account has, stored on
// first sight. Every kind of account that can sign in is refused.
func TestGuestUsernames(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mail := &outbox{}
		svc := newService(t, db, auth.Config{Mailer: mail, AdminKey: adminKey})
		root, err := svc.Authenticate(ctx, adminKey)
		require.NoError(t, err)

		alice, err := svc.Guest(ctx, "alice")
		require.NoError(t, err)
		assert.True(t, alice.Guest)
		assert.NotNil(t, alice.LastSeen, "tracked")
		again, err := svc.Guest(ctx, "Alice")
		require.NoError(t, err)
		assert.Equal(t, alice.ID, again.ID, "one guest per name, any case")
		assert.Equal(t, "alice", again.Username)
		users, err := svc.ListUsers(ctx, root)
		require.NoError(t, err)
		require.Len(t, users, 1)
		assert.True(t, users[0].Guest)

		_, err = svc.Register(ctx, auth.Registration{Username: "victim1", Password: "victimpass123"})
		require.NoError(t, err)
		_, _, err = svc.CreateAdmin(ctx, root, "boss")
		require.NoError(t, err)
		byEmail := signUpByEmail(t, svc, mail, "carol@example.com")
		for _, name := range []string{"victim1", "VICTIM1", "boss", "admin", "Admin", byEmail.Username} {
			_, err := svc.Guest(ctx, name)
			assert.Equal(t, errs.Unauthorized, kind(err), name)
			assert.Contains(t, errs.As(err).Message, "sign in", name)
		}
		_, err = svc.Guest(ctx, "-bad")
		assert.Equal(t, errs.Invalid, kind(err))

		// Turned off, no name acts: neither a new one nor a stored guest.
		off := newService(t, db, auth.Config{DisableGuestUsernames: true})
		for _, name := range []string{"alice", "dave"} {
			_, err := off.Guest(ctx, name)
			assert.Equal(t, errs.Unauthorized, kind(err), name)
		}
		_, err = svc.UserByUsername(ctx, "dave")
		assert.Equal(t, errs.NotFound, kind(err), "nothing stored while off")
	})
}

// The first sign-up with a guest's name claims it, by every way of signing
// up; the guest's tokens, which anyone could have written, do not survive.
// A name taken by an account stays a conflict.
func TestSignUpClaimsGuestUsername(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const hsSecret = "a-test-secret-that-is-32-bytes-long!"
		svc := newService(t, db, auth.Config{AdminKey: adminKey, SecretKey: "secret for tests", JWT: &auth.JWTConfig{HS256Secret: hsSecret}})
		root, err := svc.Authenticate(ctx, adminKey)
		require.NoError(t, err)
		guest := func(name string) auth.User {
			t.Helper()
			g, err := svc.Guest(ctx, name)
			require.NoError(t, err)
			planted := "ghp_planted_by_anyone"
			require.NoError(t, svc.SetUserTokens(ctx, name, auth.TokensUpdate{GitHubToken: &planted}))
			return g
		}
		claimed := func(g auth.User) {
			t.Helper()
			u, err := svc.UserByUsername(ctx, g.Username)
			require.NoError(t, err)
			assert.Equal(t, g.ID, u.ID, "the guest's row")
			assert.False(t, u.Guest)
			tokens, err := svc.UserTokens(ctx, g.Username)
			require.NoError(t, err)
			assert.Equal(t, auth.Tokens{}, tokens, "tokens dropped")
			_, err = svc.Guest(ctx, g.Username)
			assert.Equal(t, errs.Unauthorized, kind(err), "no longer a guest")
		}

		g := guest("alice")
		u, err := svc.Register(ctx, auth.Registration{Username: "Alice", Password: "alicepass123", Name: "Alice"})
		require.NoError(t, err)
		assert.Equal(t, g.ID, u.ID)
		claimed(g)
		_, err = svc.Login(ctx, "alice", "alicepass123")
		require.NoError(t, err)
		_, err = svc.Register(ctx, auth.Registration{Username: "alice", Password: "otherpass123"})
		assert.Equal(t, errs.Invalid, kind(err), "an account's name is taken")

		g = guest("rm")
		_, key, err := svc.CreateAdmin(ctx, root, "rm")
		require.NoError(t, err)
		claimed(g)
		_, err = svc.Authenticate(ctx, key)
		require.NoError(t, err)

		g = guest("promoted")
		p, key, err := svc.SetRole(ctx, root, "promoted", auth.RoleAdmin)
		require.NoError(t, err)
		assert.False(t, p.Guest)
		claimed(g)
		_, err = svc.Authenticate(ctx, key)
		require.NoError(t, err)

		g = guest("jwt-user")
		tok := sign(t, jwt.SigningMethodHS256, []byte(hsSecret), jwt.MapClaims{"username": "jwt-user", "email": "jwt@example.com", "exp": time.Now().Add(time.Hour).Unix()})
		id, err := svc.Authenticate(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, g.ID, id.User.ID)
		claimed(g)

		// Of concurrent sign-ups for one guest name, exactly one wins.
		guest("race")
		const n = 4
		var wg sync.WaitGroup
		results := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Register(ctx, auth.Registration{Username: "race", Password: "racepass1234"})
				results <- err
			}()
		}
		wg.Wait()
		close(results)
		won := 0
		for err := range results {
			if err == nil {
				won++
				continue
			}
			assert.Equal(t, errs.Invalid, kind(err), "%v", err)
		}
		assert.Equal(t, 1, won)
	})
}

// Users who sign up by email get a username derived from the address, never
// a taken one (account or guest) nor the reserved one.
func TestEmailSignUpGetsUsername(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mail := &outbox{}
		svc := newService(t, db, auth.Config{Mailer: mail})
		_, err := svc.Guest(ctx, "carol")
		require.NoError(t, err)
		long := strings.Repeat("x", 60)
		for _, tt := range []struct{ email, username string }{
			{"Alice.Smith+ci@example.com", "alice.smith"},
			{"alice.smith@other.org", "alice.smith-2"},
			{"carol@example.com", "carol-2"},
			{"admin@example.com", "admin-2"},
			{"x@example.com", "user-x"},
			{"_@example.com", "user"},
			{"o'brien&co@example.com", "o-brien-co"},
			{long + "@example.com", long[:40]},
		} {
			u := signUpByEmail(t, svc, mail, tt.email)
			assert.Equal(t, tt.username, u.Username, tt.email)
			assert.True(t, auth.ValidUsername(u.Username), u.Username)
		}
		// bob, bob-2, ... bob-20, then a random suffix.
		for i := 1; i <= 21; i++ {
			u := signUpByEmail(t, svc, mail, "bob@host"+strings.Repeat("a", i)+".example")
			switch i {
			case 1:
				assert.Equal(t, "bob", u.Username)
			case 20:
				assert.Equal(t, "bob-20", u.Username)
			case 21:
				assert.Regexp(t, `^bob-[0-9a-f]{8}$`, u.Username, "numbered names used up")
			}
		}
	})
}

// The migration that introduces guests gives existing email users a
// username, skipping taken names.
func TestMigrationNamesEmailUsers(t *testing.T) {
	dbtest.ForEachDB(t, nil, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, err := store.Migrate(ctx, db, auth.Migrations()[:1])
		require.NoError(t, err)
		for _, stmt := range []string{
			`INSERT INTO auth_users (id, email, name, lastname, role, created_at) VALUES ('u1', 'dana@example.com', '', '', 'user', '2026-01-01 00:00:00')`,
			`INSERT INTO auth_users (id, username, name, lastname, role, created_at) VALUES ('u2', 'Erin', '', '', 'user', '2026-01-02 00:00:00')`,
			`INSERT INTO auth_users (id, email, name, lastname, role, created_at) VALUES ('u3', 'erin@example.com', '', '', 'user', '2026-01-03 00:00:00')`,
		} {
			_, err := db.ExecContext(ctx, stmt)
			require.NoError(t, err)
		}
		_, err = store.Migrate(ctx, db, auth.Migrations())
		require.NoError(t, err)
		svc := newService(t, db, auth.Config{})
		for id, name := range map[string]string{"u1": "dana", "u2": "Erin", "u3": "erin-2"} {
			u, err := svc.User(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, name, u.Username, id)
			assert.False(t, u.Guest, id)
		}
	})
}
