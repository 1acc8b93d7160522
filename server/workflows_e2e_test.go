package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// seeds/004's "Create Workflow with Graph" request, verbatim; only its role
// ids (2 and 3) are replaced by roles the test creates.
const documentWorkflowBody = `{
  "workflow": {
    "name": "IT Support Request",
    "description": "Standard IT support workflow",
    "category": "Technology",
    "sub_category": "Support",
    "department": "IT",
    "low_sla": "72:00:00",
    "medium_sla": "48:00:00",
    "high_sla": "24:00:00",
    "urgent_sla": "04:00:00"
  },
  "graph": {
    "nodes": [
      {
        "temp_id": "node_1",
        "name": "Triage",
        "role_id": 2,
        "is_start": true,
        "weight": 0.3
      },
      {
        "temp_id": "node_2",
        "name": "Resolution",
        "role_id": 3,
        "is_end": true,
        "weight": 0.7
      }
    ],
    "edges": [
      {
        "from_temp_id": "node_1",
        "to_temp_id": "node_2",
        "name": "Assign"
      }
    ]
  }
}`

// The workflow story of seeds/004 through the contract harness: create
// with a graph (the document's body as raw HTTP), read the graph and the
// detail, change details and graph, initialize (refused naming the broken
// rules, then done), list page by page, delete; on every backend.
func TestWorkflowsWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		root := newAPIClient(t, srv, client.WithToken(testAdminKey))
		anon := newAPIClient(t, srv)
		aliceToken := signedInUser(t, srv, "alice")
		alice := newAPIClient(t, srv, client.WithToken(aliceToken))
		roleID := func(name string) int64 {
			r, err := client.Check(root.CreateRoleWithResponse(ctx, api.CreateRoleJSONRequestBody{Name: name}))
			require.NoError(t, err)
			return r.JSON201.RoleId
		}
		agent, resolver := roleID("Agent"), roleID("Resolver")

		body := strings.Replace(documentWorkflowBody, `"role_id": 2`, fmt.Sprintf(`"role_id": %d`, agent), 1)
		body = strings.Replace(body, `"role_id": 3`, fmt.Sprintf(`"role_id": %d`, resolver), 1)
		status, created := call(t, srv.Client, http.MethodPost, srv.URL+"/workflows/", body, "Authorization", "Bearer "+testAdminKey)
		require.Equal(t, http.StatusCreated, status, "%v", created)
		assert.Equal(t, "IT Support Request", created["name"])
		assert.Equal(t, "draft", created["status"])
		assert.Equal(t, "04:00:00", created["urgent_sla"])
		mapping := created["temp_id_mapping"].(map[string]any)
		require.Len(t, mapping, 2)
		nodes := created["graph"].(map[string]any)["nodes"].([]any)
		first := nodes[0].(map[string]any)
		assert.Equal(t, "node_1", first["temp_id"])
		assert.Equal(t, mapping["node_1"], first["step_id"])
		assert.Equal(t, "Agent", first["role_name"])
		assert.Equal(t, 0.3, first["weight"])
		assert.Len(t, created["graph"].(map[string]any)["edges"], 1)
		id := int64(created["workflow_id"].(float64))

		// Reads are for any signed-in user.
		graph, err := client.Check(alice.GetWorkflowGraphWithResponse(ctx, id))
		require.NoError(t, err)
		require.Len(t, graph.JSON200.Nodes, 2)
		assert.Equal(t, "Resolution", graph.JSON200.Nodes[1].Name)
		assert.Nil(t, graph.JSON200.Nodes[1].TempId, "temp_id belongs to the answer that created the step")
		assert.Equal(t, int64(mapping["node_2"].(float64)), graph.JSON200.Edges[0].ToStepId)
		detail, err := client.Check(alice.GetWorkflowDetailWithResponse(ctx, id))
		require.NoError(t, err)
		assert.Equal(t, "Technology", detail.JSON200.Category)
		assert.Equal(t, graph.JSON200.Nodes, detail.JSON200.Graph.Nodes)

		// A name is unique in any case.
		dup, err := root.CreateWorkflowWithResponse(ctx, api.CreateWorkflowJSONRequestBody{Workflow: api.WorkflowInput{Name: "it support REQUEST"}})
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, dup.StatusCode())
		assert.NotEmpty(t, dup.JSON409.Error)

		details, err := client.Check(root.UpdateWorkflowDetailsWithResponse(ctx, id, api.WorkflowInput{
			Name: "IT Support", Category: ptr("Technology"), UrgentSla: ptr("02:00:00"), LowSla: ptr("96:00:00"),
		}))
		require.NoError(t, err)
		assert.Equal(t, "IT Support", details.JSON200.Name)
		assert.Equal(t, "02:00:00", *details.JSON200.UrgentSla)
		assert.Nil(t, details.JSON200.HighSla, "the body replaces every detail")

		// A draft may hold an incomplete graph; initialize names what is
		// missing, and the graph stays a draft's.
		nodes2 := []api.GraphNodeInput{{TempId: "a", Name: "Triage", IsStart: ptr(true)}, {TempId: "b", Name: "Fix", RoleId: &resolver}}
		replaced, err := client.Check(root.UpdateWorkflowGraphWithResponse(ctx, id, api.GraphInput{Nodes: &nodes2}))
		require.NoError(t, err)
		assert.NotEqual(t, int64(mapping["node_1"].(float64)), replaced.JSON200.TempIdMapping["a"], "the new graph's steps are new")
		assert.Empty(t, replaced.JSON200.Graph.Edges)
		refused, err := root.InitializeWorkflowWithResponse(ctx, id)
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, refused.StatusCode())
		require.NotNil(t, refused.JSON400.Details)
		assert.NotEmpty(t, (*refused.JSON400.Details)["graph"], "%v", *refused.JSON400.Details)
		broken := strings.Join((*refused.JSON400.Details)["graph"], "\n")
		assert.Contains(t, broken, "Triage", "the step without a role is named")

		edges := []api.GraphEdgeInput{{FromTempId: "a", ToTempId: "b", Name: ptr("Assign")}}
		nodes2 = []api.GraphNodeInput{
			{TempId: "a", Name: "Triage", IsStart: ptr(true), RoleId: &agent},
			{TempId: "b", Name: "Fix", RoleId: &resolver, IsEnd: ptr(true)},
		}
		_, err = client.Check(root.UpdateWorkflowGraphWithResponse(ctx, id, api.GraphInput{Nodes: &nodes2, Edges: &edges}))
		require.NoError(t, err)
		denied, err := alice.InitializeWorkflowWithResponse(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, denied.StatusCode())
		for range 2 { // initializing twice changes nothing
			done, err := client.Check(root.InitializeWorkflowWithResponse(ctx, id))
			require.NoError(t, err)
			assert.Equal(t, api.Initialized, done.JSON200.Status)
			assert.Len(t, done.JSON200.Graph.Nodes, 2)
		}

		// Pages link to each other.
		_, err = client.Check(root.CreateWorkflowWithResponse(ctx, api.CreateWorkflowJSONRequestBody{Workflow: api.WorkflowInput{Name: "Onboarding"}}))
		require.NoError(t, err)
		one := api.DRFPageSize(1)
		page, err := client.Check(alice.ListWorkflowsWithResponse(ctx, &api.ListWorkflowsParams{PageSize: &one}))
		require.NoError(t, err)
		assert.Equal(t, 2, page.JSON200.Count)
		assert.Equal(t, "IT Support", page.JSON200.Results[0].Name)
		require.NotNil(t, page.JSON200.Next)
		assert.Nil(t, page.JSON200.Previous)
		status, next := call(t, srv.Client, http.MethodGet, *page.JSON200.Next, "", "Authorization", "Bearer "+aliceToken)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "Onboarding", next["results"].([]any)[0].(map[string]any)["name"])
		assert.Nil(t, next["next"])

		anonList, err := anon.ListWorkflowsWithResponse(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, anonList.StatusCode())
		keep, err := alice.DeleteWorkflowWithResponse(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, keep.StatusCode())
		gone, err := client.Check(root.DeleteWorkflowWithResponse(ctx, id))
		require.NoError(t, err)
		assert.Equal(t, http.StatusNoContent, gone.StatusCode())
		missing, err := alice.GetWorkflowWithResponse(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, missing.StatusCode())
		require.NotNil(t, missing.JSON404)
	})
}

// Bad input to the workflow endpoints is 400 {"error", "details"} naming
// the field, an id that is no workflow's 404 {"error"}: never a 500.
func TestWorkflowsRefuseBadInputInTheirDialect(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		admin := []string{"Authorization", "Bearer " + testAdminKey}
		status, created := call(t, srv.Raw, http.MethodPost, srv.URL+"/workflows/", `{"workflow": {"name": "Flow"}}`, admin...)
		require.Equal(t, http.StatusCreated, status, "%v", created)
		flow := fmt.Sprintf("/workflows/%v/", created["workflow_id"])
		assertDRFRefusals(t, srv, admin, []drfRefusal{
			{http.MethodPost, "/workflows/", `{}`, http.StatusBadRequest, "name"},
			{http.MethodPost, "/workflows/", `{"workflow": {"name": 5}}`, http.StatusBadRequest, "workflow.name"},
			{http.MethodPost, "/workflows/", `{"workflow": {"name": "X", "urgent_sla": "48:00:00", "high_sla": "24:00:00"}}`, http.StatusBadRequest, "high_sla"},
			{http.MethodPost, "/workflows/", `{"workflow": {"name": "X", "low_sla": "1 day"}}`, http.StatusBadRequest, "low_sla"},
			{http.MethodPost, "/workflows/", `{"workflow": {"name": "X"}, "graph": {"nodes": [{"temp_id": "a", "name": "A", "role_id": 999}]}}`, http.StatusBadRequest, "graph.nodes[0].role_id"},
			{http.MethodPost, "/workflows/", `{"workflow": {"name": "X"}, "graph": {"nodes": [{"temp_id": "a", "name": "A"}], "edges": [{"from_temp_id": "a", "to_temp_id": "a"}]}}`, http.StatusBadRequest, "graph.edges[0].to_temp_id"},
			{http.MethodPost, "/workflows/", `{"workflow": {"name": "flow"}}`, http.StatusConflict, ""},
			{http.MethodPost, "/workflows/", `{"workflow": {"name": "X"}`, http.StatusBadRequest, ""},
			{http.MethodPut, flow + "update-details/", `{"name": ""}`, http.StatusBadRequest, "name"},
			{http.MethodPut, flow + "update-graph/", `{"nodes": [{"temp_id": "a"}]}`, http.StatusBadRequest, "graph.nodes[0].name"},
			{http.MethodPut, flow + "update-graph/", `{"nodes": "a"}`, http.StatusBadRequest, "nodes"},
			{http.MethodPost, flow + "initialize/", "", http.StatusBadRequest, "graph"},
			{http.MethodGet, "/workflows/?page=0", "", http.StatusBadRequest, "page"},
			{http.MethodGet, "/workflows/?page_size=101", "", http.StatusBadRequest, "page_size"},
			{http.MethodGet, "/workflows/abc/", "", http.StatusNotFound, ""},
			{http.MethodGet, "/workflows/0/detail/", "", http.StatusNotFound, ""},
			{http.MethodGet, "/workflows/99999999999999999999/graph/", "", http.StatusNotFound, ""},
			{http.MethodGet, "/workflows/999999/", "", http.StatusNotFound, ""},
			{http.MethodPut, "/workflows/999999/update-graph/", `{}`, http.StatusNotFound, ""},
			{http.MethodPost, "/workflows/999999/initialize/", "", http.StatusNotFound, ""},
			{http.MethodDelete, "/workflows/999999/", "", http.StatusNotFound, ""},
			{http.MethodPost, "/steps/", `{"name": "A"}`, http.StatusBadRequest, "workflow_id"},
			{http.MethodPost, "/steps/", `{"workflow_id": 999999, "name": "A"}`, http.StatusBadRequest, "workflow_id"},
			{http.MethodPost, "/steps/", fmt.Sprintf(`{"workflow_id": %v, "name": "A", "weight": 1.5}`, created["workflow_id"]), http.StatusBadRequest, "weight"},
			{http.MethodPut, "/steps/999999/", `{"name": "A"}`, http.StatusNotFound, ""},
			{http.MethodGet, "/steps/?workflow_id=x", "", http.StatusBadRequest, "workflow_id"},
			{http.MethodGet, "/steps/abc/", "", http.StatusNotFound, ""},
			{http.MethodPost, "/transitions/", `{}`, http.StatusBadRequest, "from_step_id"},
			{http.MethodPost, "/transitions/", `{"from_step_id": "1"}`, http.StatusBadRequest, "from_step_id"},
			{http.MethodGet, "/transitions/?workflow_id=0", "", http.StatusBadRequest, "workflow_id"},
			{http.MethodDelete, "/transitions/999999/", "", http.StatusNotFound, ""},
		})
	})
}

// seeds/004's steps and transitions one at a time, through the contract
// harness: a step object exactly as documented, transitions only between
// steps of one workflow, once, and never from a step to itself; on every
// backend.
func TestStepsAndTransitionsWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		root := newAPIClient(t, srv, client.WithToken(testAdminKey))
		alice := newAPIClient(t, srv, client.WithToken(signedInUser(t, srv, "alice")))
		role, err := client.Check(root.CreateRoleWithResponse(ctx, api.CreateRoleJSONRequestBody{Name: "Agent"}))
		require.NoError(t, err)
		agent := role.JSON201.RoleId
		newFlow := func(name string) int64 {
			c, err := client.Check(root.CreateWorkflowWithResponse(ctx, api.CreateWorkflowJSONRequestBody{Workflow: api.WorkflowInput{Name: name}}))
			require.NoError(t, err)
			return c.JSON201.WorkflowId
		}
		flow, other := newFlow("IT Support"), newFlow("Onboarding")

		// The document's step object, sent as written (its escalate_to
		// becomes the role the test has).
		status, triage := call(t, srv.Client, http.MethodPost, srv.URL+"/steps/", fmt.Sprintf(`{
  "workflow_id": %d,
  "name": "Triage",
  "description": "Initial ticket assessment",
  "instruction": "Review ticket and assign priority",
  "role_id": %d,
  "escalate_to": %d,
  "weight": 0.3,
  "order": 1,
  "is_start": true,
  "is_end": false,
  "design": {"x": 100, "y": 100}
}`, flow, agent, agent), "Authorization", "Bearer "+testAdminKey)
		require.Equal(t, http.StatusCreated, status, "%v", triage)
		assert.Equal(t, "Agent", triage["role_name"])
		assert.Equal(t, map[string]any{"x": 100.0, "y": 100.0}, triage["design"])
		triageID := int64(triage["step_id"].(float64))

		fix, err := client.Check(root.CreateStepWithResponse(ctx, api.CreateStepJSONRequestBody{WorkflowId: flow, Name: "Fix", RoleId: &agent, IsEnd: ptr(true)}))
		require.NoError(t, err)
		assert.Equal(t, 0.5, fix.JSON201.Weight, "the default weight")
		assert.Equal(t, 2, fix.JSON201.Order, "after the last step")
		elsewhere, err := client.Check(root.CreateStepWithResponse(ctx, api.CreateStepJSONRequestBody{WorkflowId: other, Name: "Welcome"}))
		require.NoError(t, err)
		denied, err := alice.CreateStepWithResponse(ctx, api.CreateStepJSONRequestBody{WorkflowId: flow, Name: "Mine"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, denied.StatusCode())

		got, err := client.Check(alice.GetStepWithResponse(ctx, triageID))
		require.NoError(t, err)
		assert.Equal(t, "Review ticket and assign priority", got.JSON200.Instruction)
		updated, err := client.Check(root.UpdateStepWithResponse(ctx, fix.JSON201.StepId, api.StepInput{Name: "Resolution", RoleId: &agent, IsEnd: ptr(true), Weight: ptr(0.7)}))
		require.NoError(t, err)
		assert.Equal(t, "Resolution", updated.JSON200.Name)
		assert.Equal(t, 2, updated.JSON200.Order, "an update without order keeps it")

		one := api.DRFPageSize(1)
		steps, err := client.Check(alice.ListStepsWithResponse(ctx, &api.ListStepsParams{WorkflowId: &flow, PageSize: &one}))
		require.NoError(t, err)
		assert.Equal(t, 2, steps.JSON200.Count)
		assert.Equal(t, "Triage", steps.JSON200.Results[0].Name)
		require.NotNil(t, steps.JSON200.Next)
		all, err := client.Check(alice.ListStepsWithResponse(ctx, nil))
		require.NoError(t, err)
		assert.Equal(t, 3, all.JSON200.Count)

		assign, err := client.Check(root.CreateTransitionWithResponse(ctx, api.CreateTransitionJSONRequestBody{FromStepId: triageID, ToStepId: fix.JSON201.StepId, Name: ptr("Assign")}))
		require.NoError(t, err)
		assert.Equal(t, flow, assign.JSON201.WorkflowId)
		for _, bad := range []struct {
			from, to int64
			status   int
		}{
			{triageID, fix.JSON201.StepId, http.StatusConflict},
			{triageID, triageID, http.StatusBadRequest},
			{triageID, elsewhere.JSON201.StepId, http.StatusBadRequest},
			{triageID, 999999, http.StatusBadRequest},
		} {
			r, err := root.CreateTransitionWithResponse(ctx, api.CreateTransitionJSONRequestBody{FromStepId: bad.from, ToStepId: bad.to})
			require.NoError(t, err)
			assert.Equal(t, bad.status, r.StatusCode(), "%+v: %s", bad, r.Body)
		}
		transitions, err := client.Check(alice.ListTransitionsWithResponse(ctx, &api.ListTransitionsParams{WorkflowId: &flow}))
		require.NoError(t, err)
		require.Equal(t, 1, transitions.JSON200.Count)
		assert.Equal(t, *assign.JSON201, transitions.JSON200.Results[0])
		gotT, err := client.Check(alice.GetTransitionWithResponse(ctx, assign.JSON201.TransitionId))
		require.NoError(t, err)
		assert.Equal(t, *assign.JSON201, *gotT.JSON200)

		keep, err := alice.DeleteTransitionWithResponse(ctx, assign.JSON201.TransitionId)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, keep.StatusCode())
		_, err = client.Check(root.DeleteTransitionWithResponse(ctx, assign.JSON201.TransitionId))
		require.NoError(t, err)
		_, err = client.Check(root.DeleteStepWithResponse(ctx, triageID))
		require.NoError(t, err)
		for _, r := range []interface{ StatusCode() int }{
			must(alice.GetTransitionWithResponse(ctx, assign.JSON201.TransitionId)),
			must(alice.GetStepWithResponse(ctx, triageID)),
			must(root.DeleteStepWithResponse(ctx, triageID)),
		} {
			assert.Equal(t, http.StatusNotFound, r.StatusCode())
		}
	})
}

// must drops the error of a client call that the test does not expect to
// fail to reach the server.
func must[R any](r R, err error) R {
	if err != nil {
		panic(err)
	}
	return r
}

// drfRefusal is a request that a seeds/004 route must refuse with status,
// naming field in details ("" for an error without details).
type drfRefusal struct {
	method, path, body string
	status             int
	field              string
}

// assertDRFRefusals sends each request raw (the contract harness would
// refuse them first) with header and checks the DRF error it gets.
func assertDRFRefusals(t *testing.T, srv *apitest.Server, header []string, cases []drfRefusal) {
	t.Helper()
	for _, tc := range cases {
		status, body := call(t, srv.Raw, tc.method, srv.URL+tc.path, tc.body, header...)
		assert.Equal(t, tc.status, status, "%s %s %s: %v", tc.method, tc.path, tc.body, body)
		assert.IsType(t, "", body["error"], "%s %s: %v", tc.method, tc.path, body)
		if tc.field == "" {
			assert.NotContains(t, body, "details", "%s %s", tc.method, tc.path)
			continue
		}
		details, _ := body["details"].(map[string]any)
		assert.NotEmpty(t, details[tc.field], "%s %s %s: %v", tc.method, tc.path, tc.body, body)
	}
}
