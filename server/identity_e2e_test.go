package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

const testAdminKey = "bootstrap-admin-key-for-tests"

// identityServer starts a server whose mail goes to .eml files in a temp dir.
func identityServer(t *testing.T, dbURL string) (*apitest.Server, string) {
	t.Helper()
	mailDir := t.TempDir()
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{
		DatabaseURL: dbURL, MailURL: "file://" + mailDir, AdminKey: testAdminKey, SecretKey: "secret for tests",
		AI: fakeAI(t),
	}})
	return srv, mailDir
}

var otpInMail = regexp.MustCompile(`sign-in code is (\d{6})`)

// codeFor reads the newest sign-in code mailed to addr.
func codeFor(t *testing.T, mailDir, addr string) string {
	t.Helper()
	entries, err := os.ReadDir(mailDir)
	require.NoError(t, err)
	code := ""
	for _, e := range entries { // names sort by time
		raw, err := os.ReadFile(filepath.Join(mailDir, e.Name()))
		require.NoError(t, err)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		if msg.Header.Get("To") != "<"+addr+">" {
			continue
		}
		body, _ := io.ReadAll(msg.Body)
		if m := otpInMail.FindStringSubmatch(string(body)); m != nil {
			code = m[1]
		}
	}
	require.NotEmpty(t, code, "no code mailed to %s", addr)
	return code
}

func newAPIClient(t *testing.T, srv *apitest.Server, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, append([]client.Option{client.WithHTTPClient(srv.Client)}, opts...)...)
	require.NoError(t, err)
	return c
}

// The email-code sign-in and the password accounts through the generated
// client, on every backend.
func TestSignInWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, mailDir := identityServer(t, url)
		ctx := context.Background()
		c := newAPIClient(t, srv)

		otp, err := client.Check(c.RequestOTPWithResponse(ctx, api.RequestOTPJSONRequestBody{Email: "alice@example.com"}))
		require.NoError(t, err)
		assert.Equal(t, 60, otp.JSON200.WaitDurationSeconds)
		again, err := c.RequestOTPWithResponse(ctx, api.RequestOTPJSONRequestBody{Email: "alice@example.com"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusTooManyRequests, again.StatusCode())
		assert.NotEmpty(t, again.HTTPResponse.Header.Get("Retry-After"))
		bad, err := c.RequestOTPWithResponse(ctx, api.RequestOTPJSONRequestBody{Email: "not-an-email"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, bad.StatusCode())
		require.NotNil(t, bad.JSON400)
		assert.Equal(t, "invalid", bad.JSON400.Error.Code)

		wrong, err := c.SignInWithResponse(ctx, api.SignInJSONRequestBody{Email: "alice@example.com", Otp: "000000x"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, wrong.StatusCode())
		in, err := client.Check(c.SignInWithResponse(ctx, api.SignInJSONRequestBody{Email: "alice@example.com", Otp: codeFor(t, mailDir, "alice@example.com")}))
		require.NoError(t, err)
		session := in.JSON200.SessionId

		v, err := client.Check(c.VerifySessionWithResponse(ctx, api.VerifySessionJSONRequestBody{SessionId: session}))
		require.NoError(t, err)
		assert.True(t, v.JSON200.IsValid)
		assert.InDelta(t, time.Now().Add(7*24*time.Hour).Unix(), v.JSON200.ExpiresAtInSecondsSinceEpoch, 60)
		v, err = client.Check(c.VerifySessionWithResponse(ctx, api.VerifySessionJSONRequestBody{SessionId: "nope"}))
		require.NoError(t, err)
		assert.False(t, v.JSON200.IsValid)
		assert.Zero(t, v.JSON200.ExpiresAtInSecondsSinceEpoch)

		// The session is a bearer token for the tasks API's /me too.
		me, err := client.Check(newAPIClient(t, srv, client.WithToken(session)).GetMeWithResponse(ctx))
		require.NoError(t, err)
		assert.Equal(t, "alice@example.com", *me.JSON200.Email)

		reg, err := client.Check(c.RegisterWithResponse(ctx, api.RegisterJSONRequestBody{Username: "johndoe", Password: "securepass123", Name: ptr("John"), Lastname: ptr("Doe")}))
		require.NoError(t, err)
		assert.Equal(t, "johndoe", reg.JSON200.Username)
		dup, err := c.RegisterWithResponse(ctx, api.RegisterJSONRequestBody{Username: "johndoe", Password: "securepass123"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, dup.StatusCode())
		assert.Equal(t, "username already exists", dup.JSON400.Detail)
		short, err := c.RegisterWithResponse(ctx, api.RegisterJSONRequestBody{Username: "jane", Password: "short"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnprocessableEntity, short.StatusCode())

		login, err := client.Check(c.LoginWithResponse(ctx, api.LoginJSONRequestBody{Username: "johndoe", Password: "securepass123"}))
		require.NoError(t, err)
		assert.Equal(t, reg.JSON200.UserId, login.JSON200.User.UserId)
		badLogin, err := c.LoginWithResponse(ctx, api.LoginJSONRequestBody{Username: "johndoe", Password: "nope-nope"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, badLogin.StatusCode())
		assert.Equal(t, `Bearer realm="bugflow"`, badLogin.HTTPResponse.Header.Get("WWW-Authenticate"))

		me, err = client.Check(newAPIClient(t, srv, client.WithToken(login.JSON200.Token)).GetMeWithResponse(ctx))
		require.NoError(t, err)
		assert.Equal(t, "John", me.JSON200.Name)
	})
}

func ptr[T any](v T) *T { return &v }

// Admin login, user management and personal tokens through the generated
// client, on every backend.
func TestAdministrationWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		root := newAPIClient(t, srv, client.WithToken(testAdminKey))
		anon := newAPIClient(t, srv)

		created, err := client.Check(root.CreateAdminUserWithResponse(ctx, api.CreateAdminUserJSONRequestBody{Username: "release-manager"}))
		require.NoError(t, err)
		assert.Equal(t, "no-store", created.HTTPResponse.Header.Get("Cache-Control"))
		rmKey := created.JSON200.ApiKey
		for _, name := range []string{"admin", "release-manager", "-bad", "x"} {
			r, err := root.CreateAdminUserWithResponse(ctx, api.CreateAdminUserJSONRequestBody{Username: name})
			require.NoError(t, err)
			assert.Equal(t, http.StatusBadRequest, r.StatusCode(), name)
		}

		// A user, to manage below.
		_, err = client.Check(anon.RegisterWithResponse(ctx, api.RegisterJSONRequestBody{Username: "alice", Password: "alice-password"}))
		require.NoError(t, err)

		// The new admin's key opens the admin API, as a bearer token and via
		// the cookie login.
		asRM := newAPIClient(t, srv, client.WithToken(rmKey))
		list, err := client.Check(asRM.ListUsersWithResponse(ctx))
		require.NoError(t, err)
		names := []string{}
		for _, u := range list.JSON200.Users {
			names = append(names, u.Username)
		}
		assert.ElementsMatch(t, []string{"release-manager", "alice"}, names)

		login, err := client.Check(anon.AdminLoginWithResponse(ctx, api.AdminLoginJSONRequestBody{Username: "release-manager", ApiKey: rmKey}))
		require.NoError(t, err)
		assert.Equal(t, api.WhoAmI{Username: "release-manager", Role: api.WhoAmIRoleAdmin, IsAdmin: true}, *login.JSON200)
		wrongKey, err := anon.AdminLoginWithResponse(ctx, api.AdminLoginJSONRequestBody{Username: "release-manager", ApiKey: "wrong-key-wrong-key"})
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, wrongKey.StatusCode())

		promoted, err := client.Check(root.SetUserRoleWithResponse(ctx, "alice", api.SetUserRoleJSONRequestBody{Role: api.SetUserRoleJSONBodyRoleAdmin}))
		require.NoError(t, err)
		require.NotNil(t, promoted.JSON200.ApiKey)
		same, err := root.SetUserRoleWithResponse(ctx, "alice", api.SetUserRoleJSONRequestBody{Role: api.SetUserRoleJSONBodyRoleAdmin})
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, same.StatusCode())
		self, err := asRM.SetUserRoleWithResponse(ctx, "release-manager", api.SetUserRoleJSONRequestBody{Role: api.SetUserRoleJSONBodyRoleUser})
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, self.StatusCode())
		_, err = client.Check(root.SetUserRoleWithResponse(ctx, "alice", api.SetUserRoleJSONRequestBody{Role: api.SetUserRoleJSONBodyRoleUser}))
		require.NoError(t, err)
		gone, err := newAPIClient(t, srv, client.WithToken(*promoted.JSON200.ApiKey)).ListUsersWithResponse(ctx)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, gone.StatusCode(), "demotion removed the key")

		rotated, err := client.Check(root.RotateUserKeyWithResponse(ctx, "release-manager", api.RotateUserKeyJSONRequestBody{NewKey: ptr("jji_custom_admin_key_123456")}))
		require.NoError(t, err)
		assert.Equal(t, "jji_custom_admin_key_123456", rotated.JSON200.NewApiKey)
		old, err := asRM.ListUsersWithResponse(ctx)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, old.StatusCode(), "the old key is dead")
		// Requests the document calls invalid go around the validating client.
		rawRoot, err := client.New(srv.URL, client.WithHTTPClient(srv.Raw), client.WithToken(testAdminKey))
		require.NoError(t, err)
		tooShort, err := rawRoot.RotateUserKeyWithResponse(ctx, "release-manager", api.RotateUserKeyJSONRequestBody{NewKey: ptr("short")})
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, tooShort.StatusCode())
		missing, err := root.RotateUserKeyWithResponse(ctx, "nobody", api.RotateUserKeyJSONRequestBody{})
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, missing.StatusCode())

		last, err := root.DeleteUserWithResponse(ctx, "release-manager")
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, last.StatusCode(), "the last admin")
		del, err := client.Check(root.DeleteUserWithResponse(ctx, "alice"))
		require.NoError(t, err)
		assert.Equal(t, "alice", del.JSON200.Deleted)
		del404, err := root.DeleteUserWithResponse(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, del404.StatusCode())

		// Personal tokens: saved for a known user, in full for the signed-in
		// owner, and refused to a bare cookie naming the account.
		asRM = newAPIClient(t, srv, client.WithToken("jji_custom_admin_key_123456"))
		_, err = client.Check(asRM.PutUserTokensWithResponse(ctx, api.PutUserTokensJSONRequestBody{GithubToken: ptr("ghp_example_0123456789"), JiraEmail: ptr("rm@example.com")}))
		require.NoError(t, err)
		mine, err := client.Check(asRM.GetUserTokensWithResponse(ctx))
		require.NoError(t, err)
		assert.Equal(t, api.TrackerTokens{GithubToken: "ghp_example_0123456789", JiraEmail: "rm@example.com"}, *mine.JSON200)
		cookie := func(_ context.Context, req *http.Request) error {
			req.AddCookie(&http.Cookie{Name: "jji_username", Value: "release-manager"})
			return nil
		}
		bare, err := anon.GetUserTokensWithResponse(ctx, cookie)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, bare.StatusCode())
		noUser, err := anon.GetUserTokensWithResponse(ctx)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, noUser.StatusCode())
	})
}

// rawPost sends a body the way the documents' curl examples do.
func rawPost(t *testing.T, c *http.Client, url, body string, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// The documents' curl examples, as raw HTTP through the contract harness.
func TestIdentityCurlExamples(t *testing.T) {
	srv, _ := identityServer(t, "")
	c := srv.Client

	// seeds/003: register, login, then GET /me with a bare token.
	resp, body := rawPost(t, c, srv.URL+"/register", `{
    "username": "johndoe",
    "password": "securepass123",
    "name": "John",
    "lastname": "Doe"
  }`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = rawPost(t, c, srv.URL+"/login", `{
    "username": "johndoe",
    "password": "securepass123"
  }`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	token := body["token"].(string)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
	req.Header.Set("Authorization", token)
	meResp, err := c.Do(req)
	require.NoError(t, err)
	meResp.Body.Close()
	assert.Equal(t, http.StatusOK, meResp.StatusCode, "bare Authorization: <token>")

	// seeds/001: admin login with the bootstrap key sets both cookies.
	resp, body = rawPost(t, c, srv.URL+"/api/auth/login", `{
"username": "admin",
"api_key": "`+testAdminKey+`"
}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, map[string]any{"username": "admin", "role": "admin", "is_admin": true}, body)
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		switch ck.Name {
		case "jji_session":
			session = ck
			assert.True(t, ck.HttpOnly)
			assert.Equal(t, http.SameSiteStrictMode, ck.SameSite)
			assert.InDelta(t, 8*3600, ck.MaxAge, 5)
		case "jji_username":
			assert.Equal(t, "admin", ck.Value)
			assert.InDelta(t, 365*24*3600, ck.MaxAge, 5)
		}
	}
	require.NotNil(t, session)
	resp, body = rawPost(t, srv.Raw, srv.URL+"/api/auth/login", `{"username": "admin"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "missing field is 400 here, not 422: %v", body)
	resp, _ = rawPost(t, c, srv.URL+"/api/auth/login", `{"username": "admin", "api_key": "wrong-wrong-wrong-wrong"}`)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// The admin cookie session works on admin endpoints, like the bearer key.
	resp, body = rawPost(t, c, srv.URL+"/api/admin/users", `{
"username": "release-manager"
}`, "Cookie", "jji_session="+session.Value)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = rawPost(t, c, srv.URL+"/api/admin/users/release-manager/rotate-key", `{
"new_key": "jji_custom_admin_key_123456"
}`, "Authorization", "Bearer "+testAdminKey)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// GET /api/auth/me with only the username cookie.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/auth/me", nil)
	req.Header.Set("Cookie", "jji_username=alice")
	meResp, err = c.Do(req)
	require.NoError(t, err)
	var who map[string]any
	require.NoError(t, json.NewDecoder(meResp.Body).Decode(&who))
	meResp.Body.Close()
	assert.Equal(t, map[string]any{"username": "alice", "role": "user", "is_admin": false}, who)

	// Logout ends the session and clears the cookie.
	resp, body = rawPost(t, c, srv.URL+"/api/auth/logout", ``, "Cookie", "jji_session="+session.Value)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, true, body["ok"])
	resp, _ = rawPost(t, c, srv.URL+"/api/admin/users", `{"username": "another"}`, "Cookie", "jji_session="+session.Value)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// seeds/000: the sign-in code flow with the documented bodies.
	resp, body = rawPost(t, c, srv.URL+"/verify_email_and_generate_otp", `{
      "email": "<your email address>"
    }`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	resp, body = rawPost(t, c, srv.URL+"/signin", `{
      "email": "someone@example.com",
      "otp": "1234"
    }`)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no code was requested: %v", body)
	errBody, _ := body["error"].(map[string]any)
	assert.Equal(t, "unauthorized", errBody["code"])
}

// rootIdentity is the bootstrap admin of srv, for calling services directly.
func rootIdentity(t *testing.T, srv *apitest.Server) *auth.Identity {
	t.Helper()
	id, err := srv.Engine.Auth.Authenticate(context.Background(), testAdminKey)
	require.NoError(t, err)
	return id
}
