package auth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// Every secret bugflow issues is stored only as a digest: a dump of the auth
// tables contains none of them.
func TestIssuedSecretsAreNotStored(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mail := &outbox{}
		svc := newService(t, db, auth.Config{Mailer: mail, AdminKey: adminKey})
		root, err := svc.Authenticate(ctx, adminKey)
		require.NoError(t, err)

		var issued []string
		_, err = svc.RequestOTP(ctx, "alice@example.com")
		require.NoError(t, err)
		pending := "pending@example.com"
		_, err = svc.RequestOTP(ctx, pending)
		require.NoError(t, err)
		issued = append(issued, mail.lastCode(t, pending)) // still unused, so still stored
		in, err := svc.SignInWithOTP(ctx, "alice@example.com", mail.lastCode(t, "alice@example.com"))
		require.NoError(t, err)
		issued = append(issued, in.Token)
		_, key, err := svc.CreateAdmin(ctx, root, "release-manager")
		require.NoError(t, err)
		issued = append(issued, key)
		adminSess, err := svc.AdminLogin(ctx, "release-manager", key)
		require.NoError(t, err)
		issued = append(issued, adminSess.Token, adminKey)
		_, err = svc.Register(ctx, auth.Registration{Username: "bob", Password: "bob-password-1"})
		require.NoError(t, err)
		issued = append(issued, "bob-password-1")

		dump := dumpTables(t, db, "auth_users", "auth_sessions", "auth_otp_codes", "auth_tracker_tokens", "auth_roles", "auth_role_members")
		require.Contains(t, dump, "alice@example.com", "the dump sees the tables")
		for _, secret := range issued {
			assert.NotContains(t, dump, secret)
		}
	})
}

// dumpTables renders every value of every row of the tables as text.
func dumpTables(t *testing.T, db *store.DB, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+table)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					b.Write(raw)
				} else {
					fmt.Fprint(&b, v)
				}
				b.WriteByte('|')
			}
			b.WriteByte('\n')
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return b.String()
}
