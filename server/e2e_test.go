package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/server"
)

// httprouterParam matches :name and *name path segments.
var httprouterParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// TestEveryRouteIsDocumented keeps openapi.yaml and the router in step in both
// directions: a registered route missing from the document, or a documented
// operation the server does not serve, fails.
func TestEveryRouteIsDocumented(t *testing.T) {
	engine, err := bugflow.Open(context.Background(), bugflow.Config{DatabaseURL: "sqlite::memory:", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer engine.Close()
	s := server.New(engine).(*server.Server)

	doc, err := apitest.LoadDocument()
	require.NoError(t, err)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range s.Routes() {
		key := r.Method + " " + httprouterParam.ReplaceAllString(r.Path, "{$1}")
		served[key] = true
		assert.True(t, documented[key], "%s is served but not in openapi.yaml", key)
	}
	for key := range documented {
		assert.True(t, served[key], "%s is in openapi.yaml but not served", key)
	}
	assert.NotEmpty(t, served)
}

func getJSON(t *testing.T, c *http.Client, url string, into any) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	if into != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(into))
	}
	return resp
}

func TestSystemEndpointsE2E(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url}})

		var root map[string]string
		resp := getJSON(t, srv.Client, srv.URL+"/", &root)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "Welcome to Workflow Management API", root["message"])
		assert.Equal(t, "1.0", root["version"])

		var health struct {
			Status    string    `json:"status"`
			Version   string    `json:"version"`
			Timestamp time.Time `json:"timestamp"`
		}
		resp = getJSON(t, srv.Client, srv.URL+"/health", &health)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "healthy", health.Status)
		assert.Equal(t, bugflow.Version, health.Version)
		assert.WithinDuration(t, time.Now(), health.Timestamp, time.Minute)
		assert.NotEmpty(t, resp.Header.Get("X-Request-ID"))

		resp, err := srv.Client.Get(srv.URL + "/openapi.yaml")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "application/yaml", resp.Header.Get("Content-Type"))
		assert.Equal(t, bugflow.OpenAPI(), body)

		resp, err = srv.Client.Get(srv.URL + "/metrics")
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Contains(t, string(body), `bugflow_http_requests_total{method="GET",route="/health",status="200"} 1`)
	})
}

func TestHealthReportsAnUnreachableDatabase(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{})
	require.NoError(t, srv.Engine.Close()) // the database is gone
	var health map[string]any
	resp := getJSON(t, srv.Client, srv.URL+"/health", &health)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "unhealthy", health["status"])
}

// GET / lists only links that answer: each one, followed by an admin (who
// may see everything), answers neither 404 nor 405.
func TestAPIRootListsOnlyLinksThatAnswer(t *testing.T) {
	const adminKey = "api-root-test-admin-key"
	srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{AdminKey: adminKey}})
	var root map[string]string
	resp := getJSON(t, srv.Client, srv.URL+"/", &root)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for name, link := range root {
		if name == "message" || name == "version" {
			continue
		}
		require.True(t, strings.HasPrefix(link, srv.URL+"/"), "%s=%s", name, link)
		req, err := http.NewRequest(http.MethodGet, link, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := srv.Raw.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.NotContains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, resp.StatusCode, "the link %s=%s answers", name, link)
	}
}

// /health checks what the server needs, not only that the database
// answers: a database that lost its schema, or whose schema is behind this
// version, is unhealthy, on every backend.
func TestHealthReportsALostSchema(t *testing.T) {
	ctx := context.Background()
	damages := map[string]func(t *testing.T, db *store.DB){
		"history dropped": func(t *testing.T, db *store.DB) {
			_, err := db.ExecContext(ctx, "DROP TABLE bugflow_migrations")
			require.NoError(t, err)
		},
		"newest migration missing": func(t *testing.T, db *store.DB) {
			_, err := db.ExecContext(ctx, "DELETE FROM bugflow_migrations WHERE name = (SELECT MAX(name) FROM bugflow_migrations)")
			require.NoError(t, err)
		},
		"every table dropped": func(t *testing.T, db *store.DB) {
			if db.Dialect == store.Postgres {
				_, err := db.ExecContext(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
				require.NoError(t, err)
				return
			}
			var tables []string
			require.NoError(t, db.NewRaw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").Scan(ctx, &tables))
			require.NotEmpty(t, tables)
			// One connection, so that switching foreign keys off holds for
			// every drop.
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			_, err = conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF")
			require.NoError(t, err)
			for _, table := range tables {
				_, err := conn.ExecContext(ctx, `DROP TABLE "`+table+`"`)
				require.NoError(t, err)
			}
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			dbtest.ForEach(t, func(t *testing.T, url string) {
				srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url, Jobs: bugflow.JobsConfig{Disabled: true}}})
				db, err := store.Open(ctx, url)
				require.NoError(t, err)
				defer db.Close()
				damage(t, db)

				var health map[string]any
				resp := getJSON(t, srv.Client, srv.URL+"/health", &health)
				assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
				assert.Equal(t, "unhealthy", health["status"])
			})
		})
	}
}

// The generated client drives the system endpoints through the contract
// harness, on every backend.
func TestSystemEndpointsWithGeneratedClient(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url}})
		c, err := client.New(srv.URL, client.WithHTTPClient(srv.Client), client.WithRetry(2))
		require.NoError(t, err)
		ctx := context.Background()

		root, err := client.Check(c.GetAPIRootWithResponse(ctx))
		require.NoError(t, err)
		assert.Equal(t, "1.0", root.JSON200.Version)
		for name, link := range root.JSON200.AdditionalProperties {
			assert.True(t, strings.HasPrefix(link, srv.URL+"/"), "link %s=%s uses the host the client called", name, link)
		}

		health, err := client.Check(c.GetHealthWithResponse(ctx))
		require.NoError(t, err)
		assert.Equal(t, api.Healthy, health.JSON200.Status)
		assert.Equal(t, bugflow.Version, health.JSON200.Version)

		doc, err := client.Check(c.GetOpenAPIWithResponse(ctx))
		require.NoError(t, err)
		require.NotNil(t, doc.YAML200)
		assert.Equal(t, "3.0.3", (*doc.YAML200)["openapi"])

		metrics, err := client.Check(c.GetMetricsWithResponse(ctx))
		require.NoError(t, err)
		assert.Contains(t, string(metrics.Body), `route="/health"`)
	})
}
