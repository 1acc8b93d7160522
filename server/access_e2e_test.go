package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/server"
)

// TestEveryRouteEnforcesItsAccess walks Server.Routes, so that every route,
// present or future, is covered. Each route's declared access must agree
// with openapi.yaml (a route is gated exactly when its operation has a
// security requirement, and for admins or roles exactly when it documents
// 403), which catches a route whose access was dropped from its
// declaration. Then each gated route, sent a schema-valid request, must
// answer 401 without credentials and, where it is for admins or roles, 403
// to a signed-in user without roles, each in the route's dialect; the
// validating client checks the answers against the document too.
func TestEveryRouteEnforcesItsAccess(t *testing.T) {
	doc, err := apitest.LoadDocument()
	require.NoError(t, err)
	dbtest.ForEach(t, func(t *testing.T, dbURL string) {
		srv, _ := identityServer(t, dbURL)
		userToken := signedInUser(t, srv, "no-roles")
		gated := 0
		for _, rt := range server.New(srv.Engine).(*server.Server).Routes() {
			docPath := httprouterParam.ReplaceAllString(rt.Path, "{$1}")
			item := doc.Paths.Find(docPath)
			require.NotNil(t, item, "%s %s is not documented", rt.Method, docPath)
			op := item.GetOperation(rt.Method)
			require.NotNil(t, op, "%s %s is not documented", rt.Method, docPath)
			narrow := rt.Access.Level == server.AccessAdmin || rt.Access.Level == server.AccessRole
			t.Run(rt.Method+" "+docPath+" "+rt.Access.Level.String(), func(t *testing.T) {
				assert.Equal(t, op.Security != nil && len(*op.Security) > 0, rt.Access.Level != server.AccessPublic,
					"the route's access (%s) and the document's security requirement disagree", rt.Access.Level)
				if rt.Access.Level == server.AccessPublic {
					return
				}
				// A signed-in route may answer 403 only for an object the
				// caller may not see or act on, which the document marks.
				_, objectLevel := op.Extensions["x-object-level-access"]
				assert.Equal(t, op.Responses.Value("403") != nil, narrow || objectLevel,
					"the route's access (%s) and the document's 403 disagree", rt.Access.Level)

				status, body := callRoute(t, srv, rt.Method, srv.URL+docPath, slices.Concat(item.Parameters, op.Parameters), op.RequestBody, "")
				assert.Equal(t, http.StatusUnauthorized, status, "anonymous: %s", body)
				assertDialectError(t, rt.Family, http.StatusUnauthorized, body)
				if narrow {
					status, body = callRoute(t, srv, rt.Method, srv.URL+docPath, slices.Concat(item.Parameters, op.Parameters), op.RequestBody, userToken)
					assert.Equal(t, http.StatusForbidden, status, "user without roles: %s", body)
					assertDialectError(t, rt.Family, http.StatusForbidden, body)
				}
			})
			if rt.Access.Level != server.AccessPublic {
				gated++
			}
		}
		assert.GreaterOrEqual(t, gated, 17, "the walk covers the gated routes")
	})
}

// callRoute sends a schema-valid request to an operation through the
// validating client, with token as bearer when it is not "", and returns
// the status and the body.
func callRoute(t *testing.T, srv *apitest.Server, method, target string, params openapi3.Parameters, body *openapi3.RequestBodyRef, token string) (int, []byte) {
	t.Helper()
	schema, contentType := requestSchema(body)
	var sample any
	if schema != nil {
		var leaves []leaf
		sample = sampleValue(schema, nil, &leaves)
	}
	value := func(p *openapi3.Parameter) (string, bool) { return sampleString(p.Schema.Value), p.Required }
	req := buildRequest(t, target, method, params, value, contentType, schema, sample)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// assertDialectError checks that body is family's error shape for status,
// written out here from the documents rather than taken from the server.
func assertDialectError(t *testing.T, family server.Family, status int, body []byte) {
	t.Helper()
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got), "%s", body)
	code := map[int]string{http.StatusUnauthorized: "unauthorized", http.StatusForbidden: "forbidden"}[status]
	switch family {
	case server.Plain:
		inner, ok := got["error"].(map[string]any)
		require.True(t, ok, "plain: {\"error\": {\"code\", \"message\"}}: %s", body)
		assert.Equal(t, code, inner["code"], "%s", body)
		assert.NotEmpty(t, inner["message"], "%s", body)
	case server.FastAPI:
		assert.Len(t, got, 1, "fastapi: {\"detail\": \"...\"}: %s", body)
		assert.IsType(t, "", got["detail"], "%s", body)
		assert.NotEmpty(t, got["detail"], "%s", body)
	case server.Envelope:
		assert.Equal(t, false, got["success"], "%s", body)
		assert.EqualValues(t, status, got["status"], "%s", body)
		inner, ok := got["error"].(map[string]any)
		require.True(t, ok, "envelope: {\"success\", \"status\", \"error\": {\"code\", \"message\"}}: %s", body)
		assert.Equal(t, code, inner["code"], "%s", body)
	case server.DRF:
		assert.IsType(t, "", got["error"], "drf: {\"error\": \"...\"}: %s", body)
		assert.NotEmpty(t, got["error"], "%s", body)
	default:
		t.Errorf("no dialect known for family %d", family)
	}
}
