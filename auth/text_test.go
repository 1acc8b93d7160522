package auth_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// Text that no engine can store (a NUL, invalid UTF-8) is the caller's
// mistake in every call that takes it, never a database error: a field
// error where the call stores it, "invalid credentials" where it signs in.
func TestTextThatCannotBeStoredIsRefused(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, auth.Config{AdminKey: adminKey, SecretKey: "a secret for tests", Mailer: &outbox{}})
		_, err := svc.Register(ctx, auth.Registration{Username: "alice", Password: "alicepass123"})
		require.NoError(t, err)

		for _, bad := range []string{"a\x00b", "a\xffb"} {
			for field, r := range map[string]auth.Registration{
				"username": {Username: bad, Password: "alicepass123"},
				"name":     {Username: "bob", Password: "bobpass1234", Name: bad},
				"lastname": {Username: "bob", Password: "bobpass1234", Lastname: bad},
			} {
				_, err := svc.Register(ctx, r)
				require.ErrorIs(t, err, errs.ErrInvalid, field)
				assert.Contains(t, errs.As(err).FieldNames(), field)
			}
			_, err := svc.Login(ctx, bad, "alicepass123")
			assert.Equal(t, errs.Unauthorized, kind(err), "%v", err)
			_, err = svc.AdminLogin(ctx, bad, adminKey)
			assert.Equal(t, errs.Unauthorized, kind(err), "%v", err)
			_, err = svc.RequestOTP(ctx, bad+"@example.com")
			assert.Equal(t, errs.Invalid, kind(err), "%v", err)
			err = svc.SetUserTokens(ctx, "alice", auth.TokensUpdate{JiraEmail: &bad})
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, []string{"jira_email"}, errs.As(err).FieldNames())
		}
	})
}
