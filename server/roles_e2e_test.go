package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// seeds/004's roles and the admin membership endpoints through the
// generated client, their errors in the DRF dialect, on every backend.
func TestRolesWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		root := newAPIClient(t, srv, client.WithToken(testAdminKey))
		anon := newAPIClient(t, srv)
		aliceToken := signedInUser(t, srv, "alice")
		alice := newAPIClient(t, srv, client.WithToken(aliceToken))
		aliceUser, err := srv.Engine.Auth.UserByUsername(ctx, "alice")
		require.NoError(t, err)

		r, err := anon.ListRolesWithResponse(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, r.StatusCode())
		require.NotNil(t, r.JSON401)
		assert.NotEmpty(t, r.JSON401.Error)

		// The Ticket Coordinator is there from the start.
		list, err := client.Check(alice.ListRolesWithResponse(ctx, nil))
		require.NoError(t, err)
		require.Equal(t, 1, list.JSON200.Count)
		assert.Equal(t, auth.TicketCoordinator, list.JSON200.Results[0].Name)

		// Admins create roles; others may not.
		denied, err := alice.CreateRoleWithResponse(ctx, api.CreateRoleJSONRequestBody{Name: "Agent"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, denied.StatusCode())
		require.NotNil(t, denied.JSON403)
		assert.Equal(t, "admin access required", denied.JSON403.Error)
		created, err := client.Check(root.CreateRoleWithResponse(ctx, api.CreateRoleJSONRequestBody{Name: "Agent", Description: ptr("Works tickets")}))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode())
		agent := *created.JSON201
		assert.Equal(t, "Agent", agent.Name)
		assert.Equal(t, "Works tickets", agent.Description)
		dup, err := root.CreateRoleWithResponse(ctx, api.CreateRoleJSONRequestBody{Name: "AGENT"})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, dup.StatusCode())
		assert.Equal(t, []string{"a role with this name already exists"}, (*dup.JSON400.Details)["name"])

		got, err := client.Check(alice.GetRoleWithResponse(ctx, agent.RoleId))
		require.NoError(t, err)
		assert.Equal(t, agent, *got.JSON200)
		missing, err := alice.GetRoleWithResponse(ctx, 999999)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, missing.StatusCode())
		require.NotNil(t, missing.JSON404)
		assert.NotEmpty(t, missing.JSON404.Error)

		// Membership: idempotent both ways, for admins only.
		added, err := client.Check(root.AddRoleMemberWithResponse(ctx, agent.RoleId, api.AddRoleMemberJSONRequestBody{UserId: aliceUser.ID}))
		require.NoError(t, err)
		assert.Equal(t, http.StatusCreated, added.StatusCode())
		assert.Equal(t, api.RoleMembership{RoleId: agent.RoleId, RoleName: "Agent", UserId: aliceUser.ID}, *added.JSON201)
		again, err := client.Check(root.AddRoleMemberWithResponse(ctx, agent.RoleId, api.AddRoleMemberJSONRequestBody{UserId: aliceUser.ID}))
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, again.StatusCode())
		self, err := alice.AddRoleMemberWithResponse(ctx, firstRoleID(list), api.AddRoleMemberJSONRequestBody{UserId: aliceUser.ID})
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, self.StatusCode(), "a user cannot grant itself a role")
		for _, bad := range []struct {
			role   int64
			userID string
			status int
		}{{999999, aliceUser.ID, http.StatusNotFound}, {agent.RoleId, "no-such-user", http.StatusNotFound}} {
			r, err := root.AddRoleMemberWithResponse(ctx, bad.role, api.AddRoleMemberJSONRequestBody{UserId: bad.userID})
			require.NoError(t, err)
			assert.Equal(t, bad.status, r.StatusCode(), "%+v", bad)
		}
		id, err := srv.Engine.Auth.Authenticate(ctx, aliceToken)
		require.NoError(t, err)
		assert.True(t, id.HasRole("Agent"), "the role opens role-gated routes")

		members, err := client.Check(root.ListRoleMembersWithResponse(ctx, agent.RoleId, nil))
		require.NoError(t, err)
		require.Equal(t, 1, members.JSON200.Count)
		assert.Equal(t, "alice", members.JSON200.Results[0].Username)
		assert.Equal(t, api.RoleMemberSourceAdmin, members.JSON200.Results[0].Source)

		for range 2 {
			gone, err := client.Check(root.RemoveRoleMemberWithResponse(ctx, agent.RoleId, aliceUser.ID))
			require.NoError(t, err)
			assert.Equal(t, http.StatusNoContent, gone.StatusCode())
		}
		members, err = client.Check(root.ListRoleMembersWithResponse(ctx, agent.RoleId, nil))
		require.NoError(t, err)
		assert.Equal(t, 0, members.JSON200.Count)
		unknown, err := root.RemoveRoleMemberWithResponse(ctx, 999999, aliceUser.ID)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, unknown.StatusCode())

		// Pages link to each other.
		one := api.DRFPageSize(1)
		first, err := client.Check(alice.ListRolesWithResponse(ctx, &api.ListRolesParams{PageSize: &one}))
		require.NoError(t, err)
		assert.Equal(t, 2, first.JSON200.Count)
		require.NotNil(t, first.JSON200.Next)
		assert.Nil(t, first.JSON200.Previous)
		status, body := call(t, srv.Client, http.MethodGet, *first.JSON200.Next, "", "Authorization", "Bearer "+aliceToken)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "Agent", body["results"].([]any)[0].(map[string]any)["name"])
		assert.Nil(t, body["next"])
		assert.NotNil(t, body["previous"])
	})
}

// firstRoleID is the id of the first role of a page: the Ticket Coordinator's.
func firstRoleID(list *api.ListRolesResponse) int64 { return list.JSON200.Results[0].RoleId }

// Bad input to the roles endpoints is 400 {"error", "details"} naming the
// field, an id that is no role's 404 {"error"}: never a 500.
func TestRolesRefuseBadInputInTheirDialect(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		admin := []string{"Authorization", "Bearer " + testAdminKey}
		assertDRFRefusals(t, srv, admin, []drfRefusal{
			{http.MethodPost, "/roles/", `{"name": 5}`, http.StatusBadRequest, "name"},
			{http.MethodPost, "/roles/", `{}`, http.StatusBadRequest, "name"},
			{http.MethodPost, "/roles/", `{"name": "admin"}`, http.StatusBadRequest, "name"},
			{http.MethodPost, "/roles/", `{"name": "Agent", "description": ["x"]}`, http.StatusBadRequest, "description"},
			{http.MethodPost, "/roles/", `{"name": "Agent"`, http.StatusBadRequest, ""},
			{http.MethodPost, "/roles/1/users/", `{}`, http.StatusBadRequest, "user_id"},
			{http.MethodPost, "/roles/1/users/", `{"user_id": 7}`, http.StatusBadRequest, "user_id"},
			{http.MethodGet, "/roles/?page=0", "", http.StatusBadRequest, "page"},
			{http.MethodGet, "/roles/?page_size=101", "", http.StatusBadRequest, "page_size"},
			{http.MethodGet, "/roles/abc/", "", http.StatusNotFound, ""},
			{http.MethodGet, "/roles/0/", "", http.StatusNotFound, ""},
			{http.MethodGet, "/roles/99999999999999999999/", "", http.StatusNotFound, ""},
			{http.MethodGet, "/roles/5/users/", "", http.StatusNotFound, ""},
			{http.MethodDelete, "/roles/1/users/no-such-user/", "", http.StatusNotFound, ""},
		})
	})
}
