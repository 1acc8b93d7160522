package auth_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// failingAuditor records through the real audit service and then fails,
// so that the membership change it is part of must roll back with the
// event.
type failingAuditor struct{ audit *audit.Service }

var errAudit = errors.New("the audit trail is unavailable")

func (f failingAuditor) Record(ctx context.Context, c audit.Change) error {
	if err := f.audit.Record(ctx, c); err != nil {
		return err
	}
	return errAudit
}

func TestRoleMembershipChangesAreAuditedInTheirTransaction(t *testing.T) {
	dbtest.ForEachDB(t, slices.Concat(auth.Migrations(), audit.Migrations()), func(t *testing.T, db *store.DB) {
		ctx := audit.WithActor(context.Background(), audit.Actor{Username: "admin"})
		trail := audit.New(audit.NewBunStore(db.DB), audit.Config{})
		svc := newService(t, db, auth.Config{Audit: trail})
		agent, err := svc.CreateRole(ctx, root, auth.RoleInput{Name: "Agent"})
		require.NoError(t, err)
		alice := register(t, svc, "alice")
		events := func(action string) []audit.Event {
			list, _, err := trail.List(ctx, audit.Filter{Action: action, TargetType: "Role", TargetID: strconv.FormatInt(agent.ID, 10)}, 1, 100)
			require.NoError(t, err)
			return list
		}

		added, err := svc.AddUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		require.True(t, added)
		_, err = svc.AddUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		adds := events("add_role_member")
		require.Len(t, adds, 1, "adding a held role changes nothing and records nothing")
		assert.Equal(t, "admin", adds[0].Username)
		assert.JSONEq(t, `null`, string(adds[0].Before))
		assert.JSONEq(t, `{"role_id":`+strconv.FormatInt(agent.ID, 10)+`,"role_name":"Agent","user_id":"`+alice.ID+`","username":"alice"}`, string(adds[0].After))

		removed, err := svc.RemoveUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		require.True(t, removed)
		_, err = svc.RemoveUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		removes := events("remove_role_member")
		require.Len(t, removes, 1)
		assert.Contains(t, string(removes[0].Before), alice.ID)
		assert.JSONEq(t, `null`, string(removes[0].After))

		// An event that cannot be recorded undoes its change.
		failing := newService(t, db, auth.Config{Audit: failingAuditor{trail}})
		_, err = failing.AddUserRole(ctx, root, agent.ID, alice.ID)
		require.ErrorIs(t, err, errAudit)
		users, err := svc.UsersWithRole(ctx, agent.ID)
		require.NoError(t, err)
		assert.Empty(t, users)
		assert.Len(t, events("add_role_member"), 1)

		_, err = svc.AddUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		_, err = failing.RemoveUserRole(ctx, root, agent.ID, alice.ID)
		require.ErrorIs(t, err, errAudit)
		users, err = svc.UsersWithRole(ctx, agent.ID)
		require.NoError(t, err)
		assert.Len(t, users, 1)
		assert.Len(t, events("remove_role_member"), 1)
	})
}
