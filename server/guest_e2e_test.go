package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// call sends one request the way the documents' curl examples do (header
// pairs after the body) and returns the status and the JSON body.
func call(t *testing.T, c *http.Client, method, url, body string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// analysisJob stores seeds/001's example analysis and returns its job id.
func analysisJob(t *testing.T, srv *apitest.Server) string {
	t.Helper()
	status, body := call(t, srv.Client, http.MethodPost, srv.URL+"/analyze-failures", `{
"failures": [
{
"test_name": "tests.api.test_login.test_admin_login",
"error_message": "AssertionError: expected 200 got 500",
"stack_trace": "Traceback..."
}
]
}`)
	require.Equal(t, http.StatusOK, status, body)
	return body["job_id"].(string)
}

const exampleComment = `{
"test_name": "tests.api.test_login.test_admin_login",
"comment": "Fails only when the auth fixture runs after cache warm-up."
}`

// addComment posts seeds/001's example comment with the given headers and
// returns its id.
func addComment(t *testing.T, srv *apitest.Server, job string, header ...string) string {
	t.Helper()
	status, body := call(t, srv.Client, http.MethodPost, srv.URL+"/results/"+job+"/comments", exampleComment, header...)
	require.Equal(t, http.StatusCreated, status, body)
	return fmt.Sprint(body["id"])
}

// actingRequests are the requests that act for the username context, each
// with a valid body.
func actingRequests(srv *apitest.Server, job, comment string) [][3]string {
	return [][3]string{
		{http.MethodGet, srv.URL + "/api/user/tokens", ""},
		{http.MethodPut, srv.URL + "/api/user/tokens", `{"github_token": "ghp_attacker_0000"}`},
		{http.MethodPost, srv.URL + "/results/" + job + "/comments", exampleComment},
		{http.MethodDelete, srv.URL + "/results/" + job + "/comments/" + comment, ""},
		{http.MethodPut, srv.URL + "/results/" + job + "/reviewed", `{"test_name": "tests.api.test_login.test_admin_login", "reviewed": true}`},
		{http.MethodPut, srv.URL + "/results/" + job + "/override-classification", `{"test_name": "tests.api.test_login.test_admin_login", "classification": "CODE ISSUE"}`},
		{http.MethodPost, srv.URL + "/history/classify", `{"test_name": "tests.api.test_login.test_admin_login", "classification": "FLAKY", "job_id": "` + job + `"}`},
	}
}

// A bare jji_username cookie never acts for an account that can sign in:
// the attacks of issue 11 (a victim's saved token replaced, the admin's
// comment deleted) and every other request that acts for the username
// context answer 401 asking to sign in, and change nothing. A signed-in user
// with someone else's cookie acts as themselves.
func TestBareUsernameCookieCannotActForAccounts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, mailDir := identityServer(t, url)
		c := srv.Client
		victim := signedInUser(t, srv, "victim1")
		status, body := call(t, c, http.MethodPut, srv.URL+"/api/user/tokens", `{"github_token": "ghp_victim_secret_1234"}`, "Authorization", "Bearer "+victim)
		require.Equal(t, http.StatusOK, status, body)
		job := analysisJob(t, srv)
		adminComment := addComment(t, srv, job, "Authorization", "Bearer "+testAdminKey)

		// Every kind of account: password, admin user (API key), email
		// code, the reserved bootstrap admin, any case.
		status, body = call(t, c, http.MethodPost, srv.URL+"/api/admin/users", `{"username": "release-manager"}`, "Authorization", "Bearer "+testAdminKey)
		require.Equal(t, http.StatusOK, status, body)
		status, _ = call(t, c, http.MethodPost, srv.URL+"/verify_email_and_generate_otp", `{"email": "erin@example.com"}`)
		require.Equal(t, http.StatusOK, status)
		status, body = call(t, c, http.MethodPost, srv.URL+"/signin", `{"email": "erin@example.com", "otp": "`+codeFor(t, mailDir, "erin@example.com")+`"}`)
		require.Equal(t, http.StatusOK, status, body)
		for _, name := range []string{"victim1", "Victim1", "release-manager", "erin", "admin"} {
			for _, rq := range actingRequests(srv, job, adminComment) {
				status, body := call(t, c, rq[0], rq[1], rq[2], "Cookie", "jji_username="+name)
				assert.Equal(t, http.StatusUnauthorized, status, "%s %s as %s: %v", rq[0], rq[1], name, body)
				assert.Contains(t, body["detail"], "sign in", "%s %s as %s", rq[0], rq[1], name)
			}
			_, who := call(t, c, http.MethodGet, srv.URL+"/api/auth/me", "", "Cookie", "jji_username="+name)
			assert.Equal(t, map[string]any{"username": "", "role": "user", "is_admin": false}, who, name)
		}
		// A stale session with the cookie a browser keeps is no better.
		status, _ = call(t, c, http.MethodDelete, srv.URL+"/results/"+job+"/comments/"+adminComment, "", "Cookie", "jji_session=expired-or-forged; jji_username=admin")
		assert.Equal(t, http.StatusUnauthorized, status)

		// Nothing changed.
		_, mine := call(t, c, http.MethodGet, srv.URL+"/api/user/tokens", "", "Authorization", "Bearer "+victim)
		assert.Equal(t, "ghp_victim_secret_1234", mine["github_token"])
		var comments struct {
			Comments []struct {
				Username string `json:"username"`
			} `json:"comments"`
			Reviews map[string]any `json:"reviews"`
		}
		getJSON(t, c, srv.URL+"/results/"+job+"/comments", &comments)
		require.Len(t, comments.Comments, 1, "the admin's comment is still there")
		assert.Equal(t, "admin", comments.Comments[0].Username)
		assert.Empty(t, comments.Reviews)

		// A signed-in user who lacks the right, sending the victim's and
		// the admin's cookie, acts as themselves.
		mallory := signedInUser(t, srv, "mallory")
		status, _ = call(t, c, http.MethodPut, srv.URL+"/api/user/tokens", `{"github_token": "ghp_mallory_000000"}`, "Authorization", "Bearer "+mallory, "Cookie", "jji_username=victim1")
		assert.Equal(t, http.StatusOK, status)
		_, mine = call(t, c, http.MethodGet, srv.URL+"/api/user/tokens", "", "Authorization", "Bearer "+victim)
		assert.Equal(t, "ghp_victim_secret_1234", mine["github_token"], "saved for mallory, not the victim")
		status, _ = call(t, c, http.MethodDelete, srv.URL+"/results/"+job+"/comments/"+adminComment, "", "Authorization", "Bearer "+mallory, "Cookie", "jji_username=admin")
		assert.Equal(t, http.StatusNotFound, status, "not mallory's comment")
		status, body = call(t, c, http.MethodPut, srv.URL+"/results/"+job+"/reviewed", `{"test_name": "tests.api.test_login.test_admin_login", "reviewed": true}`, "Authorization", "Bearer "+mallory, "Cookie", "jji_username=victim1")
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "mallory", body["reviewed_by"])

		// The owner deletes their own comment.
		status, _ = call(t, c, http.MethodDelete, srv.URL+"/results/"+job+"/comments/"+adminComment, "", "Authorization", "Bearer "+testAdminKey)
		assert.Equal(t, http.StatusOK, status)
	})
}

// seeds/001's curl examples with "Cookie: jji_username=alice" alone work as
// written for a guest username, including the ones that answered 404
// because alice was not a tracked user: saving tokens, and an admin
// promoting alice and rotating her key. Once alice is an account, her
// cookie alone no longer acts.
func TestGuestUsernameCurlExamples(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		c := srv.Client
		job := analysisJob(t, srv)
		alice := []string{"Cookie", "jji_username=alice"}

		comment := addComment(t, srv, job, alice...)
		status, body := call(t, c, http.MethodPut, srv.URL+"/results/"+job+"/reviewed", `{
"test_name": "tests.api.test_login.test_admin_login",
"reviewed": true
}`, alice...)
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, "alice", body["reviewed_by"])
		status, body = call(t, c, http.MethodPut, srv.URL+"/results/"+job+"/override-classification", `{
"test_name": "tests.api.test_login.test_admin_login",
"classification": "CODE ISSUE"
}`, alice...)
		require.Equal(t, http.StatusOK, status, body)
		status, body = call(t, c, http.MethodPost, srv.URL+"/history/classify", `{
"test_name": "tests.api.test_login.test_admin_login",
"classification": "FLAKY",
"reason": "Intermittent timeout in shared CI",
"job_id": "`+job+`"
}`, alice...)
		require.Equal(t, http.StatusCreated, status, body)
		status, body = call(t, c, http.MethodDelete, srv.URL+"/results/"+job+"/comments/"+comment, "", alice...)
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, "deleted", body["status"])

		_, body = call(t, c, http.MethodGet, srv.URL+"/api/auth/me", "", alice...)
		assert.Equal(t, map[string]any{"username": "alice", "role": "user", "is_admin": false}, body)
		status, body = call(t, c, http.MethodGet, srv.URL+"/api/user/tokens", "", alice...)
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, map[string]any{"github_token": "", "jira_email": "", "jira_token": ""}, body)
		status, body = call(t, c, http.MethodPut, srv.URL+"/api/user/tokens", `{
"github_token": "ghp_example",
"jira_email": "alice@example.com",
"jira_token": "jira_example"
}`, alice...)
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, true, body["ok"])
		_, body = call(t, c, http.MethodGet, srv.URL+"/api/user/tokens", "", alice...)
		assert.Equal(t, map[string]any{"github_token": "****", "jira_email": "alice@example.com", "jira_token": "****mple"}, body, "a bare cookie sees tokens masked")

		// The admin sees alice tracked as a guest, promotes her and
		// rotates her key.
		admin := []string{"Authorization", "Bearer " + testAdminKey}
		var users struct {
			Users []struct {
				Username string     `json:"username"`
				Guest    bool       `json:"guest"`
				LastSeen *time.Time `json:"last_seen"`
			} `json:"users"`
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/admin/users", nil)
		req.Header.Set(admin[0], admin[1])
		resp, err := c.Do(req)
		require.NoError(t, err)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&users))
		resp.Body.Close()
		require.Len(t, users.Users, 1)
		assert.Equal(t, "alice", users.Users[0].Username)
		assert.True(t, users.Users[0].Guest)
		assert.NotNil(t, users.Users[0].LastSeen)
		status, body = call(t, c, http.MethodPut, srv.URL+"/api/admin/users/alice/role", `{
"role": "admin"
}`, admin...)
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, "admin", body["role"])
		assert.NotEmpty(t, body["api_key"])
		status, body = call(t, c, http.MethodPost, srv.URL+"/api/admin/users/alice/rotate-key", `{
"new_key": "jji_custom_admin_key_123456"
}`, admin...)
		require.Equal(t, http.StatusOK, status, body)

		// alice is an account now: her cookie alone asks to sign in, her
		// key works, and tokens a guest saved (anyone could) are gone.
		status, body = call(t, c, http.MethodGet, srv.URL+"/api/user/tokens", "", alice...)
		assert.Equal(t, http.StatusUnauthorized, status, body)
		_, body = call(t, c, http.MethodGet, srv.URL+"/api/user/tokens", "", "Authorization", "Bearer jji_custom_admin_key_123456")
		assert.Equal(t, map[string]any{"github_token": "", "jira_email": "", "jira_token": ""}, body)
		addComment(t, srv, job, "Authorization", "Bearer jji_custom_admin_key_123456")
	})
}

// With guest usernames turned off a bare cookie acts for no one, while
// signed-in users keep their username context.
func TestGuestUsernamesOff(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{
			DatabaseURL: url, AdminKey: testAdminKey, SecretKey: "secret for tests", DisableGuestUsernames: true,
		}})
		c := srv.Client
		job := analysisJob(t, srv)
		comment := addComment(t, srv, job) // anonymous comments stay possible
		for _, rq := range actingRequests(srv, job, comment) {
			status, body := call(t, c, rq[0], rq[1], rq[2], "Cookie", "jji_username=alice")
			assert.Equal(t, http.StatusUnauthorized, status, "%s %s: %v", rq[0], rq[1], body)
			assert.Contains(t, body["detail"], "sign in", "%s %s", rq[0], rq[1])
		}
		_, who := call(t, c, http.MethodGet, srv.URL+"/api/auth/me", "", "Cookie", "jji_username=alice")
		assert.Equal(t, "", who["username"])
		_, err := srv.Engine.Auth.UserByUsername(t.Context(), "alice")
		assert.Error(t, err, "alice is not tracked")

		jane := signedInUser(t, srv, "jane")
		mine := addComment(t, srv, job, "Authorization", "Bearer "+jane, "Cookie", "jji_username=alice")
		status, _ := call(t, c, http.MethodDelete, srv.URL+"/results/"+job+"/comments/"+mine, "", "Authorization", "Bearer "+jane)
		assert.Equal(t, http.StatusOK, status)
	})
}

// A user who signed in by email code has a username, so they can delete
// their own comment (it was "" before, which answered 401).
func TestEmailCodeUserDeletesOwnComment(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, mailDir := identityServer(t, url)
		c := srv.Client
		status, _ := call(t, c, http.MethodPost, srv.URL+"/verify_email_and_generate_otp", `{"email": "Grace.Hopper+ci@example.com"}`)
		require.Equal(t, http.StatusOK, status)
		status, body := call(t, c, http.MethodPost, srv.URL+"/signin", `{"email": "grace.hopper+ci@example.com", "otp": "`+codeFor(t, mailDir, "grace.hopper+ci@example.com")+`"}`)
		require.Equal(t, http.StatusOK, status, body)
		grace := []string{"Authorization", "Bearer " + body["session_id"].(string)}

		_, who := call(t, c, http.MethodGet, srv.URL+"/api/auth/me", "", grace...)
		assert.Equal(t, "grace.hopper", who["username"])
		job := analysisJob(t, srv)
		comment := addComment(t, srv, job, grace...)
		var comments struct {
			Comments []struct {
				Username string `json:"username"`
			} `json:"comments"`
		}
		getJSON(t, c, srv.URL+"/results/"+job+"/comments", &comments)
		require.Len(t, comments.Comments, 1)
		assert.Equal(t, "grace.hopper", comments.Comments[0].Username)
		other := signedInUser(t, srv, "someone")
		status, _ = call(t, c, http.MethodDelete, srv.URL+"/results/"+job+"/comments/"+comment, "", "Authorization", "Bearer "+other)
		assert.Equal(t, http.StatusNotFound, status, "not someone's comment")
		status, body = call(t, c, http.MethodDelete, srv.URL+"/results/"+job+"/comments/"+comment, "", grace...)
		assert.Equal(t, http.StatusOK, status, body)
	})
}
