package apitest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/apitest"
)

// recordingT captures the harness's complaints instead of failing the test,
// so that the harness itself can be tested.
type recordingT struct {
	testing.TB
	errors []string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestDocumentIsValidOpenAPI(t *testing.T) {
	doc, err := apitest.LoadDocument()
	require.NoError(t, err)
	assert.Equal(t, "3.0.3", doc.OpenAPI)
}

func TestHarnessAcceptsDocumentedExchanges(t *testing.T) {
	rec := &recordingT{TB: t}
	srv := apitest.Start(rec, apitest.Config{})
	resp, err := srv.Client.Get(srv.URL + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, rec.errors)
}

func TestHarnessRejectsUndocumentedRoutes(t *testing.T) {
	rec := &recordingT{TB: t}
	srv := apitest.Start(rec, apitest.Config{})
	resp, err := srv.Client.Get(srv.URL + "/not-in-the-document")
	require.NoError(t, err)
	resp.Body.Close()
	require.Len(t, rec.errors, 1)
	assert.Contains(t, rec.errors[0], "is not described by openapi.yaml")
}

func TestHarnessRejectsUndocumentedStatus(t *testing.T) {
	rec := &recordingT{TB: t}
	srv := apitest.Start(rec, apitest.Config{})
	// /health documents GET only; a 405 answer to DELETE is not documented.
	req, err := http.NewRequest(http.MethodDelete, srv.URL+"/health", nil)
	require.NoError(t, err)
	resp, err := srv.Client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEmpty(t, rec.errors)
	assert.True(t, strings.Contains(strings.Join(rec.errors, "\n"), "openapi.yaml"))
}

func TestHarnessRejectsBodiesThatDoNotMatchTheSchema(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"sleepy","version":"1"}`))
	}))
	defer fake.Close()
	rec := &recordingT{TB: t}
	client := apitest.ValidatingClient(rec, fake.URL, fake.Client().Transport)
	resp, err := client.Get(fake.URL + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	errs := strings.Join(rec.errors, "\n")
	assert.Contains(t, errs, "does not match openapi.yaml")
	assert.Contains(t, errs, "timestamp", "the missing required property is named")
}
