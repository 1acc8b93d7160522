package auth_test

import (
	"context"
	"slices"
	"strings"
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

// root acts as the bootstrap admin in the tests of roles.
var root = &auth.Identity{User: auth.User{Username: auth.ReservedUsername, Role: auth.RoleAdmin}, Method: auth.MethodBootstrap}

func register(t *testing.T, svc *auth.Service, username string) auth.User {
	t.Helper()
	u, err := svc.Register(context.Background(), auth.Registration{Username: username, Password: "correct horse battery"})
	require.NoError(t, err)
	return u
}

func TestTicketCoordinatorExistsAfterMigration(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		svc := newService(t, db, auth.Config{})
		r, err := svc.RoleByName(context.Background(), "ticket coordinator")
		require.NoError(t, err)
		assert.Equal(t, auth.TicketCoordinator, r.Name)
		got, err := svc.GetRole(context.Background(), r.ID)
		require.NoError(t, err)
		assert.Equal(t, r, got)
	})
}

func TestCreateRole(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock()
		svc := newService(t, db, auth.Config{Now: clk.Now})

		agent, err := svc.CreateRole(ctx, root, auth.RoleInput{Name: "  Agent ", Description: "Works tickets"})
		require.NoError(t, err)
		assert.Equal(t, auth.DomainRole{ID: agent.ID, Name: "Agent", Description: "Works tickets", CreatedAt: clk.Now()}, agent)
		got, err := svc.GetRole(ctx, agent.ID)
		require.NoError(t, err)
		assert.Equal(t, agent, got)

		// Names are unique in any case.
		_, err = svc.CreateRole(ctx, root, auth.RoleInput{Name: "AGENT"})
		require.Equal(t, errs.Invalid, kind(err))
		assert.Contains(t, errs.As(err).Fields["name"], "a role with this name already exists")

		for _, bad := range []auth.RoleInput{
			{Name: ""}, {Name: "   "}, {Name: "Admin"}, {Name: "user"}, {Name: "a\x00b"},
			{Name: strings.Repeat("é", 101)},
			{Name: "Long description", Description: strings.Repeat("d", 1001)},
		} {
			_, err := svc.CreateRole(ctx, root, bad)
			assert.Equal(t, errs.Invalid, kind(err), "%q", bad.Name)
			assert.NotEmpty(t, errs.As(err).Fields, "names the field: %q", bad.Name)
		}
		_, err = svc.CreateRole(ctx, root, auth.RoleInput{Name: strings.Repeat("é", 100), Description: strings.Repeat("d", 1000)})
		assert.NoError(t, err, "100 characters of name and 1000 of description are allowed")

		// Only admins create roles.
		alice := register(t, svc, "alice")
		_, err = svc.CreateRole(ctx, &auth.Identity{User: alice, Method: auth.MethodSession}, auth.RoleInput{Name: "Reviewer"})
		assert.Equal(t, errs.Forbidden, kind(err))
		_, err = svc.CreateRole(ctx, nil, auth.RoleInput{Name: "Reviewer"})
		assert.Equal(t, errs.Unauthorized, kind(err))

		_, err = svc.GetRole(ctx, 999999)
		assert.Equal(t, errs.NotFound, kind(err))
		_, err = svc.RoleByName(ctx, "Nobody")
		assert.Equal(t, errs.NotFound, kind(err))

		// Listed by id, in pages, with the count of all.
		all, n, err := svc.ListRoles(ctx, 0, 0)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		require.Len(t, all, 3)
		assert.Equal(t, []string{auth.TicketCoordinator, "Agent"}, []string{all[0].Name, all[1].Name})
		page, n, err := svc.ListRoles(ctx, 2, 2)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		assert.Equal(t, all[2:], page)
	})
}

func TestRoleMembership(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, auth.Config{})
		tc, err := svc.RoleByName(ctx, auth.TicketCoordinator)
		require.NoError(t, err)
		agent, err := svc.CreateRole(ctx, root, auth.RoleInput{Name: "Agent"})
		require.NoError(t, err)
		alice, bob := register(t, svc, "alice"), register(t, svc, "bob")

		added, err := svc.AddUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		assert.True(t, added)
		added, err = svc.AddUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		assert.False(t, added, "adding a held role changes nothing")
		_, err = svc.AddUserRole(ctx, root, tc.ID, alice.ID)
		require.NoError(t, err)
		_, err = svc.AddUserRole(ctx, root, agent.ID, bob.ID)
		require.NoError(t, err)

		// A user holds several roles; HasRole sees them in any case.
		u, err := svc.User(ctx, alice.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"Agent", auth.TicketCoordinator}, u.Roles)
		id := &auth.Identity{User: u}
		assert.True(t, id.HasRole("ticket coordinator"))
		assert.True(t, id.HasRole("AGENT"))
		roles, err := svc.UserRoles(ctx, alice.ID)
		require.NoError(t, err)
		assert.Equal(t, []auth.DomainRole{agent, tc}, roles)

		// Members in user id order, for round-robin assignment.
		users, err := svc.UsersWithRole(ctx, agent.ID)
		require.NoError(t, err)
		want := []string{alice.ID, bob.ID}
		slices.Sort(want)
		assert.Equal(t, want, userIDs(users))
		members, n, err := svc.RoleMembers(ctx, agent.ID, 1, 1)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		require.Len(t, members, 1)
		assert.Equal(t, want[1], members[0].User.ID)
		assert.Equal(t, auth.SourceAdmin, members[0].Source)

		removed, err := svc.RemoveUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		assert.True(t, removed)
		removed, err = svc.RemoveUserRole(ctx, root, agent.ID, alice.ID)
		require.NoError(t, err)
		assert.False(t, removed, "removing a role not held changes nothing")
		users, err = svc.UsersWithRole(ctx, agent.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{bob.ID}, userIDs(users))

		// Unknown roles and users, guests, and callers who are not admins.
		_, err = svc.AddUserRole(ctx, root, 999999, alice.ID)
		assert.Equal(t, errs.NotFound, kind(err))
		_, err = svc.AddUserRole(ctx, root, agent.ID, "no-such-user")
		assert.Equal(t, errs.NotFound, kind(err))
		_, err = svc.RemoveUserRole(ctx, root, 999999, alice.ID)
		assert.Equal(t, errs.NotFound, kind(err))
		_, err = svc.RemoveUserRole(ctx, root, agent.ID, "no-such-user")
		assert.Equal(t, errs.NotFound, kind(err))
		_, err = svc.UsersWithRole(ctx, 999999)
		assert.Equal(t, errs.NotFound, kind(err))
		guest, err := svc.Guest(ctx, "visitor")
		require.NoError(t, err)
		_, err = svc.AddUserRole(ctx, root, agent.ID, guest.ID)
		assert.Equal(t, errs.Invalid, kind(err))
		asAlice := &auth.Identity{User: u, Method: auth.MethodSession}
		_, err = svc.AddUserRole(ctx, asAlice, agent.ID, alice.ID)
		assert.Equal(t, errs.Forbidden, kind(err))
		_, err = svc.RemoveUserRole(ctx, asAlice, tc.ID, alice.ID)
		assert.Equal(t, errs.Forbidden, kind(err))

		// Deleting a user ends its memberships.
		require.NoError(t, svc.DeleteUser(ctx, root, "bob"))
		users, err = svc.UsersWithRole(ctx, agent.ID)
		require.NoError(t, err)
		assert.Empty(t, users)
	})
}

func userIDs(users []auth.User) []string {
	ids := []string{}
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return ids
}

// A JWT's role claims map onto bugflow's roles by name, in any case; names
// of no role are ignored. Claimed memberships follow the token, those an
// admin granted stay.
func TestJWTRoleClaimsMapOntoRoles(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, auth.Config{JWT: &auth.JWTConfig{HS256Secret: hsSecret}})
		agent, err := svc.CreateRole(ctx, root, auth.RoleInput{Name: "Agent"})
		require.NoError(t, err)
		reviewer, err := svc.CreateRole(ctx, root, auth.RoleInput{Name: "Reviewer"})
		require.NoError(t, err)
		token := func(roles ...string) string {
			return sign(t, jwt.SigningMethodHS256, []byte(hsSecret), jwt.MapClaims{"username": "smith", "roles": roles, "exp": time.Now().Add(time.Hour).Unix()})
		}

		id, err := svc.Authenticate(ctx, token("agent", "offline_access", "TICKET COORDINATOR", strings.Repeat("x", 200)))
		require.NoError(t, err)
		assert.Equal(t, []string{"Agent", auth.TicketCoordinator}, id.User.Roles, "the roles' own names, unknown ones left out")
		assert.True(t, id.HasRole(auth.TicketCoordinator))
		users, err := svc.UsersWithRole(ctx, agent.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{id.User.ID}, userIDs(users), "a claimed role is held, for assignment too")

		// An admin's grant outlasts the claims; a claim gone is a role gone.
		_, err = svc.AddUserRole(ctx, root, reviewer.ID, id.User.ID)
		require.NoError(t, err)
		id, err = svc.Authenticate(ctx, token("Ticket Coordinator"))
		require.NoError(t, err)
		assert.Equal(t, []string{"Reviewer", auth.TicketCoordinator}, id.User.Roles)
		users, err = svc.UsersWithRole(ctx, agent.ID)
		require.NoError(t, err)
		assert.Empty(t, users)

		// An admin adding a claimed role makes it the admin's grant.
		id, err = svc.Authenticate(ctx, token("Agent"))
		require.NoError(t, err)
		assert.Equal(t, []string{"Agent", "Reviewer"}, id.User.Roles)
		added, err := svc.AddUserRole(ctx, root, agent.ID, id.User.ID)
		require.NoError(t, err)
		assert.False(t, added)
		id, err = svc.Authenticate(ctx, token())
		require.NoError(t, err)
		assert.Equal(t, []string{"Agent", "Reviewer"}, id.User.Roles)
	})
}
