package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// blockArgs is a job whose worker runs until the test ends.
type blockArgs struct{}

func (blockArgs) Kind() string { return "test_block" }

type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started chan struct{}
	release chan struct{}
}

func (w *blockWorker) Work(ctx context.Context, _ *river.Job[blockArgs]) error {
	w.started <- struct{}{}
	select {
	case <-w.release:
	case <-ctx.Done():
	}
	return nil
}

// unknownArgs has no worker anywhere: River fails each attempt with an
// error, so the job retries and, on its last attempt, is discarded.
type unknownArgs struct{}

func (unknownArgs) Kind() string { return "test_unknown" }

// Admins see queued, running, retrying and failed jobs with their attempts
// and errors, filtered by state and kind; others do not see them at all.
func TestAdminListsJobs(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		w := &blockWorker{started: make(chan struct{}, 1), release: make(chan struct{})}
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url, AdminKey: testAdminKey, Jobs: bugflow.JobsConfig{
			Register: func(ws *river.Workers, _ *[]*river.PeriodicJob) { river.AddWorker(ws, w) },
		}}})
		t.Cleanup(func() { close(w.release) })
		e := srv.Engine
		_, err := e.Enqueue(ctx, blockArgs{}, nil)
		require.NoError(t, err)
		<-w.started
		_, err = e.Enqueue(ctx, unknownArgs{}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		retrying, err := e.Enqueue(ctx, unknownArgs{}, &river.InsertOpts{MaxAttempts: 5})
		require.NoError(t, err)
		discarded, err := e.Enqueue(ctx, unknownArgs{}, &river.InsertOpts{MaxAttempts: 1})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			r, err := e.Job(ctx, retrying.Job.ID)
			require.NoError(t, err)
			d, err := e.Job(ctx, discarded.Job.ID)
			require.NoError(t, err)
			return r.State == "retryable" && d.State == "discarded"
		}, 30*time.Second, 20*time.Millisecond)

		anon := newAPIClient(t, srv)
		r, err := anon.ListJobsWithResponse(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, r.StatusCode(), "no credentials")
		_, err = client.Check(anon.RegisterWithResponse(ctx, api.RegisterJSONRequestBody{Username: "alice", Password: "alice-password"}))
		require.NoError(t, err)
		alice, err := client.Check(anon.LoginWithResponse(ctx, api.LoginJSONRequestBody{Username: "alice", Password: "alice-password"}))
		require.NoError(t, err)
		r, err = newAPIClient(t, srv, client.WithToken(alice.JSON200.Token)).ListJobsWithResponse(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, r.StatusCode(), "a signed-in user who is not an admin")

		root := newAPIClient(t, srv, client.WithToken(testAdminKey))
		all, err := client.Check(root.ListJobsWithResponse(ctx, nil))
		require.NoError(t, err)
		states := map[string]api.AdminJobRow{}
		for _, j := range all.JSON200.Jobs {
			// The engine's own periodic jobs (SLA check, notification
			// delivery) are listed too; this test looks at its own.
			if strings.HasPrefix(j.Kind, "test_") {
				states[string(j.State)] = j
			}
		}
		for _, s := range []string{"running", "scheduled", "retryable", "discarded"} {
			assert.Contains(t, states, s)
		}
		assert.Equal(t, 1, states["discarded"].Attempt)
		assert.Equal(t, 1, states["discarded"].MaxAttempts)
		require.Len(t, states["discarded"].Errors, 1)
		assert.Contains(t, states["discarded"].Errors[0].Error, "test_unknown")
		// It may have retried meanwhile: every attempt so far failed.
		assert.NotEmpty(t, states["retryable"].Errors)
		assert.Len(t, states["retryable"].Errors, states["retryable"].Attempt)
		assert.Equal(t, 5, states["retryable"].MaxAttempts)

		state, kind := "retryable,discarded", "test_unknown"
		failed, err := client.Check(root.ListJobsWithResponse(ctx, &api.ListJobsParams{State: &state, Kind: &kind}))
		require.NoError(t, err)
		assert.Len(t, failed.JSON200.Jobs, 2)
		kind = "test_block"
		running, err := client.Check(root.ListJobsWithResponse(ctx, &api.ListJobsParams{Kind: &kind}))
		require.NoError(t, err)
		require.Len(t, running.JSON200.Jobs, 1)
		assert.Equal(t, "running", string(running.JSON200.Jobs[0].State))

		for _, limit := range []int{1, 500} {
			l, err := client.Check(root.ListJobsWithResponse(ctx, &api.ListJobsParams{Limit: &limit}))
			require.NoError(t, err)
			if limit == 1 {
				assert.Len(t, l.JSON200.Jobs, 1)
				continue
			}
			// bugflow's own periodic jobs (SLA check, notification delivery,
			// upkeep, process ticks) are listed too, as often as queued.
			ours := slices.DeleteFunc(l.JSON200.Jobs, func(j api.AdminJobRow) bool { return !strings.HasPrefix(j.Kind, "test_") })
			assert.Len(t, ours, 4)
		}
		// Out of the documented range: sent without the validating client.
		for _, query := range []string{"limit=0", "limit=501", "limit=x", "state=sleeping"} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/admin/jobs?"+query, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+testAdminKey)
			resp, err := srv.Raw.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, query)
		}
	})
}
