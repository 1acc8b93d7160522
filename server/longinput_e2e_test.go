package server_test

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// Test names are stored and found in full however long they are: 3,000 and
// 10,000 characters, ASCII and two-byte, and two names that differ only in
// their last character. PostgreSQL once refused to index them ("index row
// size 3024 exceeds btree version 4 maximum 2704") and answered 500. The
// names are random: PostgreSQL compresses index entries, and a repeated
// letter would fit.
func TestLongTestNamesAreStoredInFull(t *testing.T) {
	names := []string{
		randomText(3000, 'a', 'z'),
		randomText(2999, 'a', 'z'),
		randomText(3000, 'À', 'ɏ'), // two bytes each in UTF-8
		randomText(10_000, 'a', 'z'),
		randomText(10_000, 'À', 'ɏ'),
	}
	names[1] = names[0][:2999] + "!"
	dbtest.ForEach(t, func(t *testing.T, dbURL string) {
		srv, _ := identityServer(t, dbURL)
		ctx := context.Background()
		c := newAPIClient(t, srv)

		failures := make([]api.TestFailure, len(names))
		for i, n := range names {
			failures[i] = api.TestFailure{TestName: n, ErrorMessage: ptr("AssertionError: expected 200 got 500")}
		}
		res, err := client.Check(c.AnalyzeFailuresWithResponse(ctx, api.AnalyzeFailuresJSONRequestBody{Failures: &failures}))
		require.NoError(t, err)
		job := res.JSON200.JobId
		stored := map[string]bool{}
		for _, f := range res.JSON200.Failures {
			stored[f.TestName] = true
		}
		for _, n := range names {
			assert.True(t, stored[n], "the result holds the %d-character name in full", len([]rune(n)))
		}

		for i, n := range names {
			th, err := client.Check(c.GetTestHistoryWithResponse(ctx, n, &api.GetTestHistoryParams{}))
			require.NoError(t, err)
			assert.Equal(t, n, th.JSON200.TestName)
			assert.Equal(t, 1, th.JSON200.Failures, "name %d: its own run only", i)

			_, err = client.Check(c.AddCommentWithResponse(ctx, job, api.AddCommentJSONRequestBody{TestName: n, Comment: "seen before"}, asUser("alice")))
			require.NoError(t, err)
			_, err = client.Check(c.SetReviewedWithResponse(ctx, job, api.SetReviewedJSONRequestBody{TestName: n, Reviewed: true}, asUser("alice")))
			require.NoError(t, err)
			_, err = client.Check(c.ClassifyTestWithResponse(ctx, api.ClassifyTestJSONRequestBody{TestName: n, Classification: "FLAKY", JobId: job}, asUser("alice")))
			require.NoError(t, err)
		}
		comments, err := client.Check(c.ListCommentsWithResponse(ctx, job))
		require.NoError(t, err)
		require.Len(t, comments.JSON200.Comments, len(names))
		for _, cm := range comments.JSON200.Comments {
			assert.Contains(t, names, cm.TestName)
		}
		for _, n := range names {
			assert.True(t, comments.JSON200.Reviews[n].Reviewed, "review of the %d-character name", len([]rune(n)))
		}
		st, err := client.Check(c.GetReviewStatusWithResponse(ctx, job))
		require.NoError(t, err)
		assert.Equal(t, len(names), st.JSON200.ReviewedCount)

		// The override of one name is found by that name, not by its twin.
		_, err = client.Check(c.OverrideClassificationWithResponse(ctx, job, api.OverrideClassificationJSONRequestBody{TestName: names[1], Classification: "PRODUCT BUG"}, asUser("alice")))
		require.NoError(t, err)
		for i, want := range []int{0, 1} {
			cls, err := client.Check(c.ListClassificationsWithResponse(ctx, &api.ListClassificationsParams{TestName: &names[i]}))
			require.NoError(t, err)
			require.Len(t, cls.JSON200.Classifications, want, "name %d", i)
			if want == 1 {
				assert.Equal(t, names[i], cls.JSON200.Classifications[0].TestName)
			}
		}
	})
}

// randomText returns n characters from lo to hi, the same on every run.
func randomText(n int, lo, hi rune) string {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(lo)))
	var b strings.Builder
	for range n {
		b.WriteRune(lo + rng.Int32N(hi-lo+1))
	}
	return b.String()
}

// Job ids and job names are identifiers, capped at analysis.MaxNameLength
// characters so that their indexes cannot overflow: at the cap a label is
// stored, one more is a 422 naming the field. The document states the cap,
// so requests beyond it go around the validating client.
func TestJobIDsAreCapped(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dbURL string) {
		srv, _ := identityServer(t, dbURL)
		ctx := context.Background()
		c := newAPIClient(t, srv)
		raw := newAPIClient(t, srv, client.WithHTTPClient(srv.Raw))
		for _, id := range []string{strings.Repeat("é", analysis.MaxNameLength), strings.Repeat("j", analysis.MaxNameLength)} {
			_, err := client.Check(c.ClassifyTestWithResponse(ctx, api.ClassifyTestJSONRequestBody{TestName: "t", Classification: "FLAKY", JobId: id}))
			require.NoError(t, err)
		}
		for _, id := range []string{strings.Repeat("é", analysis.MaxNameLength+1), randomText(3000, 'a', 'z')} {
			tooLong, err := raw.ClassifyTestWithResponse(ctx, api.ClassifyTestJSONRequestBody{TestName: "t", Classification: "FLAKY", JobId: id})
			require.NoError(t, err)
			require.Equal(t, http.StatusUnprocessableEntity, tooLong.StatusCode())
			require.NotNil(t, tooLong.JSON422)
			assert.Equal(t, []string{"body", "job_id"}, tooLong.JSON422.Detail[0].Loc)
		}
	})
}

// The failure search is capped at analysis.MaxSearchLength characters: at
// the cap, even all wildcards, it answers; beyond it, and at the 50,000
// characters that once made SQLite answer 500 ("LIKE or GLOB pattern too
// complex"), it is a 422 naming search. Requests beyond the documented cap
// go around the validating client.
func TestFailureSearchIsCapped(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dbURL string) {
		srv, _ := identityServer(t, dbURL)
		ctx := context.Background()
		c := newAPIClient(t, srv)
		raw := newAPIClient(t, srv, client.WithHTTPClient(srv.Raw))
		// SQLite builds a LIKE pattern only when it has a row to match.
		_, err := client.Check(c.AnalyzeFailuresWithResponse(ctx, api.AnalyzeFailuresJSONRequestBody{Failures: &[]api.TestFailure{{TestName: "pkg.Test", ErrorMessage: ptr("boom")}}}))
		require.NoError(t, err)
		for _, r := range []string{"%", "é"} {
			atCap := strings.Repeat(r, analysis.MaxSearchLength)
			_, err := client.Check(c.GetFailureHistoryWithResponse(ctx, &api.GetFailureHistoryParams{Search: &atCap}))
			require.NoError(t, err)
		}
		for _, n := range []int{analysis.MaxSearchLength + 1, 30_000, 50_000} {
			search := strings.Repeat("%", n)
			resp, err := raw.GetFailureHistoryWithResponse(ctx, &api.GetFailureHistoryParams{Search: &search})
			require.NoError(t, err)
			if assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode(), "%d characters: %s", n, resp.Body) {
				assert.Equal(t, []string{"body", "search"}, resp.JSON422.Detail[0].Loc)
			}
		}
	})
}

// Page numbers and offsets are bounded the same way on every paginated
// route: past the data a page is empty, beyond the documented maximum (up
// to the largest int64 and past it) it is invalid input in the route's
// dialect. POST /api/bug-reports/list once answered page 1 with
// hasNextPage true for page 9223372036854775807. Page sizes beyond their
// maximum are capped on bug reports (seeds/002 sets none) and 422 on the
// FastAPI routes (seeds/001 documents it).
func TestPagesAreBounded(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dbURL string) {
		srv, _ := identityServer(t, dbURL)
		auth := []string{"Authorization", "Bearer " + testAdminKey}
		resp, body := rawPost(t, srv.Client, srv.URL+"/api/bug-reports/create", `{"title": "t", "source": "user:command"}`, auth...)
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)

		for _, tt := range []struct {
			body string
			page float64
		}{
			{`{"page": 1000000}`, 1_000_000},
			{`{"page": 1000000, "limit": 9223372036854775807}`, 1_000_000},
		} {
			resp, body := rawPost(t, srv.Client, srv.URL+"/api/bug-reports/list", tt.body, auth...)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %v", tt.body, body)
			data := body["data"].(map[string]any)
			meta := data["meta"].(map[string]any)
			assert.Empty(t, data["items"], tt.body)
			assert.Equal(t, tt.page, meta["page"], tt.body)
			assert.Equal(t, float64(1), meta["total"], tt.body)
			assert.Equal(t, false, meta["hasNextPage"], tt.body)
		}
		for _, page := range []string{"1000001", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5"} {
			resp, body := rawPost(t, srv.Raw, srv.URL+"/api/bug-reports/list", `{"page": `+page+`}`, auth...)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "page %s: %v", page, body)
			assert.Contains(t, body["error"].(map[string]any)["details"], "page", "page %s", page)
		}

		c := newAPIClient(t, srv)
		raw := newAPIClient(t, srv, client.WithHTTPClient(srv.Raw))
		ctx := context.Background()
		last := 2147483647
		h, err := client.Check(c.GetFailureHistoryWithResponse(ctx, &api.GetFailureHistoryParams{Offset: &last}))
		require.NoError(t, err)
		assert.Empty(t, h.JSON200.Failures)
		for _, offset := range []string{"2147483648", "9223372036854775807", "9223372036854775808"} {
			resp, err := srv.Raw.Get(srv.URL + "/history/failures?offset=" + offset)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "offset %s", offset)
		}
		for _, limit := range []int{101, math.MaxInt64} {
			resp, err := raw.ListResultsWithResponse(ctx, &api.ListResultsParams{Limit: &limit})
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode(), "limit %d", limit)
		}
	})
}
