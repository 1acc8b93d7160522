package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// The migration that gives roles a table of their own keeps the role names
// users held: one role per name in any case, its holders kept; the global
// roles' names are dropped, and the Ticket Coordinator is created.
func TestMigrationTurnsRoleNamesIntoRoles(t *testing.T) {
	dbtest.ForEachDB(t, nil, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, err := store.MigrateTo(ctx, db, "20261205130000", Migrations())
		require.NoError(t, err)
		for _, stmt := range []string{
			`INSERT INTO auth_users (id, username, name, lastname, role, created_at) VALUES ('u1', 'ann', '', '', 'user', '2026-01-01 00:00:00')`,
			`INSERT INTO auth_users (id, username, name, lastname, role, created_at) VALUES ('u2', 'ben', '', '', 'user', '2026-01-02 00:00:00')`,
			`INSERT INTO auth_user_roles (user_id, role) VALUES ('u1', 'Agent'), ('u2', 'agent'), ('u2', 'ticket coordinator'), ('u2', 'Admin'), ('u1', 'Auditor')`,
		} {
			_, err := db.ExecContext(ctx, stmt)
			require.NoError(t, err)
		}
		_, err = store.Migrate(ctx, db, Migrations())
		require.NoError(t, err)

		st := NewBunStore(db.DB)
		all, _, err := st.ListRoles(ctx, 0, 0)
		require.NoError(t, err)
		var names []string
		for _, r := range all {
			names = append(names, r.Name)
		}
		assert.Equal(t, []string{TicketCoordinator, "Agent", "Auditor"}, names)
		for id, want := range map[string][]string{"u1": {"Agent", "Auditor"}, "u2": {"Agent", TicketCoordinator}} {
			u, _, err := st.User(ctx, UserKey{ID: id})
			require.NoError(t, err)
			assert.Equal(t, want, u.Roles, id)
		}
	})
}
