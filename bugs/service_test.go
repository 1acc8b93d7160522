package bugs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/activity"
	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

func migrations() []store.Migration {
	return append(bugs.Migrations(), activity.Migrations()...)
}

func newServices(db *store.DB) (*bugs.Service, *activity.Service) {
	act := activity.New(activity.NewBunStore(db.DB), activity.Config{})
	return bugs.New(bugs.NewBunStore(db.DB), bugs.Config{Journey: act}), act
}

func ptr[T any](v T) *T { return &v }

// requireInvalidField asserts that err is Invalid and names exactly field.
func requireInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, errs.ErrInvalid)
	assert.Equal(t, []string{field}, errs.As(err).FieldNames())
}

func TestValidation(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newServices(db)
		valid := bugs.CreateInput{Title: "t", Source: bugs.SourceUserCommand}
		createTests := []struct {
			name  string
			edit  func(*bugs.CreateInput)
			field string
		}{
			{"title missing", func(in *bugs.CreateInput) { in.Title = "  " }, "title"},
			{"title too long", func(in *bugs.CreateInput) { in.Title = strings.Repeat("é", 501) }, "title"},
			{"source missing", func(in *bugs.CreateInput) { in.Source = "" }, "source"},
			{"source unknown", func(in *bugs.CreateInput) { in.Source = "user:email" }, "source"},
			{"severity unknown", func(in *bugs.CreateInput) { in.Severity = "urgent" }, "severity"},
			{"description too long", func(in *bugs.CreateInput) { in.Description = strings.Repeat("x", 10_001) }, "description"},
			{"errorMessage too long", func(in *bugs.CreateInput) { in.ErrorMessage = strings.Repeat("x", 10_001) }, "errorMessage"},
			{"errorStack too long", func(in *bugs.CreateInput) { in.ErrorStack = strings.Repeat("x", 50_001) }, "errorStack"},
			{"errorCode too long", func(in *bugs.CreateInput) { in.ErrorCode = strings.Repeat("x", 101) }, "errorCode"},
			{"context not an object", func(in *bugs.CreateInput) { in.Context = json.RawMessage(`[1]`) }, "context"},
			{"context not JSON", func(in *bugs.CreateInput) { in.Context = json.RawMessage(`{`) }, "context"},
			{"context too large", func(in *bugs.CreateInput) {
				in.Context = json.RawMessage(`{"a":"` + strings.Repeat("x", bugs.MaxJSONBytes) + `"}`)
			}, "context"},
			{"metadata not an object", func(in *bugs.CreateInput) { in.Metadata = json.RawMessage(`"s"`) }, "metadata"},
			{"userJourney not an object", func(in *bugs.CreateInput) { in.UserJourney = json.RawMessage(`1`) }, "userJourney"},
		}
		for _, tt := range createTests {
			t.Run("create/"+tt.name, func(t *testing.T) {
				in := valid
				tt.edit(&in)
				_, err := svc.Create(ctx, in)
				requireInvalidField(t, err, tt.field)
			})
		}
		t.Run("create/limits are inclusive", func(t *testing.T) {
			in := valid
			in.Title = strings.Repeat("é", 500)
			in.ErrorStack = strings.Repeat("x", 50_000)
			_, err := svc.Create(ctx, in)
			require.NoError(t, err)
		})

		autoTests := []struct {
			name  string
			in    bugs.AutoInput
			field string
		}{
			{"source missing", bugs.AutoInput{ErrorMessage: "x"}, "source"},
			{"source not automatic", bugs.AutoInput{Source: bugs.SourceUserCommand, ErrorMessage: "x"}, "source"},
			{"severity unknown", bugs.AutoInput{Source: bugs.SourceAutoClient, Severity: "huge"}, "severity"},
			{"title too long", bugs.AutoInput{Source: bugs.SourceAutoClient, Title: strings.Repeat("x", 501)}, "title"},
			{"errorMessage too long", bugs.AutoInput{Source: bugs.SourceAutoClient, ErrorMessage: strings.Repeat("x", 10_001)}, "errorMessage"},
			{"metadata not an object", bugs.AutoInput{Source: bugs.SourceAutoClient, Metadata: json.RawMessage(`[]`)}, "metadata"},
		}
		for _, tt := range autoTests {
			t.Run("auto/"+tt.name, func(t *testing.T) {
				_, _, err := svc.Auto(ctx, tt.in)
				requireInvalidField(t, err, tt.field)
			})
		}

		t.Run("list", func(t *testing.T) {
			_, err := svc.List(ctx, bugs.ListFilter{Status: "done"})
			requireInvalidField(t, err, "status")
			_, err = svc.List(ctx, bugs.ListFilter{Source: "auto"})
			requireInvalidField(t, err, "source")
			_, err = svc.List(ctx, bugs.ListFilter{Severity: "x"})
			requireInvalidField(t, err, "severity")
			_, err = svc.List(ctx, bugs.ListFilter{Page: -1})
			requireInvalidField(t, err, "page")
			_, err = svc.List(ctx, bugs.ListFilter{Limit: -5})
			requireInvalidField(t, err, "limit")
			from, to := time.Now(), time.Now().Add(-time.Hour)
			_, err = svc.List(ctx, bugs.ListFilter{FromDate: &from, ToDate: &to})
			requireInvalidField(t, err, "toDate")
		})
		t.Run("update", func(t *testing.T) {
			_, err := svc.Update(ctx, bugs.UpdateInput{})
			requireInvalidField(t, err, "bugReportId")
			r, err := svc.Create(ctx, valid)
			require.NoError(t, err)
			_, err = svc.Update(ctx, bugs.UpdateInput{ID: r.ID, Status: ptr(bugs.Status("done"))})
			requireInvalidField(t, err, "status")
			_, err = svc.Update(ctx, bugs.UpdateInput{ID: r.ID, Severity: ptr(bugs.Severity("x"))})
			requireInvalidField(t, err, "severity")
			_, err = svc.Update(ctx, bugs.UpdateInput{ID: r.ID, Title: ptr("")})
			requireInvalidField(t, err, "title")
			_, err = svc.Update(ctx, bugs.UpdateInput{ID: r.ID, Description: ptr(strings.Repeat("x", 10_001))})
			requireInvalidField(t, err, "description")
		})
	})
}

func TestCreate(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, act := newServices(db)
		now := store.Now()
		// 25 actions in the last 25 minutes, one from 40 minutes ago and
		// one of someone else: the journey holds the latest 20 of the 25.
		_, err := act.Record(ctx, activity.Entry{UserID: "user_789", Action: "page-view", Summary: "too old", At: now.Add(-40 * time.Minute)})
		require.NoError(t, err)
		_, err = act.Record(ctx, activity.Entry{UserID: "someone", Action: "page-view", At: now.Add(-time.Minute)})
		require.NoError(t, err)
		for i := range 25 {
			_, err := act.Record(ctx, activity.Entry{
				UserID: "user_789", Action: "page-view", Summary: fmt.Sprintf("Viewed page %d", i),
				At: now.Add(time.Duration(i-25) * time.Minute),
			})
			require.NoError(t, err)
		}
		_, err = act.Record(ctx, activity.Entry{UserID: "user_789", Action: "task-create", Target: "task_1", At: now.Add(-30 * time.Second)})
		require.NoError(t, err)

		r, err := svc.Create(ctx, bugs.CreateInput{
			Title: "Export button not working", Description: "When clicking Export, nothing happens",
			Source: bugs.SourceUserCommand, Severity: bugs.SeverityHigh, SpaceID: "space_456", ReporterID: "user_789",
			Context:     json.RawMessage(`{"pageId": "page_789", "sessionToken": "abc", "n": 12345678901234567890}`),
			UserJourney: json.RawMessage(`{"breadcrumbs": [{"click": "#export", "authorization": "x"}]}`),
		})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(r.ID, "bug_"), r.ID)
		assert.Equal(t, bugs.StatusOpen, r.Status)
		assert.Equal(t, bugs.SeverityHigh, r.Severity)
		assert.Equal(t, 1, r.OccurrenceCount)
		assert.Equal(t, "space_456", *r.SpaceID)
		assert.Nil(t, r.WorkspaceID)
		assert.Nil(t, r.ErrorMessage)
		assert.Nil(t, r.ResolvedAt)
		assert.Empty(t, r.Fingerprint)
		assert.JSONEq(t, `{"pageId": "page_789", "sessionToken": "[REDACTED]", "n": 12345678901234567890}`, string(r.Context))

		var j bugs.Journey
		require.NoError(t, json.Unmarshal(r.UserJourney, &j))
		require.Len(t, j.RecentActions, bugs.JourneyLimit)
		assert.Equal(t, "Viewed page 6", j.RecentActions[0].Summary, "the oldest kept is the 7th of 26 recent ones")
		last := j.RecentActions[len(j.RecentActions)-1]
		assert.Equal(t, "task-create", last.Source)
		assert.Equal(t, "task-create: task_1", last.Summary, "an entry without summary is described by action and target")
		require.NotNil(t, j.SessionStartedAt)
		assert.True(t, j.SessionStartedAt.Equal(j.RecentActions[0].Timestamp))
		for i := 1; i < len(j.RecentActions); i++ {
			assert.False(t, j.RecentActions[i].Timestamp.Before(j.RecentActions[i-1].Timestamp))
		}
		assert.JSONEq(t, `{"breadcrumbs": [{"click": "#export", "authorization": "[REDACTED]"}]}`, string(j.Client))

		got, err := svc.Get(ctx, r.ID)
		require.NoError(t, err)
		assert.Equal(t, r.ID, got.ID)
		assert.Equal(t, r.Title, got.Title)
		assert.Equal(t, *r.Description, *got.Description)
		assert.True(t, r.CreatedAt.Equal(got.CreatedAt))
		assert.True(t, r.OccurredAt.Equal(got.OccurredAt))
		assert.JSONEq(t, string(r.UserJourney), string(got.UserJourney))
		assert.JSONEq(t, string(r.Context), string(got.Context))

		t.Run("defaults and no journey", func(t *testing.T) {
			r, err := svc.Create(ctx, bugs.CreateInput{Title: "x", Source: bugs.SourceUserCommand, ReporterID: "quiet_user", ErrorMessage: "boom 1"})
			require.NoError(t, err)
			assert.Equal(t, bugs.SeverityMedium, r.Severity)
			assert.Nil(t, r.UserJourney)
			assert.Nil(t, r.Context)
			assert.Equal(t, bugs.Fingerprint(bugs.SourceUserCommand, "", "boom 1"), r.Fingerprint)
			// A person's report never absorbs occurrences.
			r2, err := svc.Create(ctx, bugs.CreateInput{Title: "x", Source: bugs.SourceUserCommand, ErrorMessage: "boom 2"})
			require.NoError(t, err)
			assert.NotEqual(t, r.ID, r2.ID)
		})
		t.Run("get unknown", func(t *testing.T) {
			_, err := svc.Get(ctx, "bug_nope")
			require.ErrorIs(t, err, errs.ErrNotFound)
			_, err = svc.Get(ctx, "")
			requireInvalidField(t, err, "bugReportId")
		})
	})
}

func TestAutoDedup(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newServices(db)

		t.Run("differing only in an id is one report", func(t *testing.T) {
			first, created, err := svc.Auto(ctx, bugs.AutoInput{
				Source: bugs.SourceAutoClient, ErrorMessage: "Order 1234 not found", ErrorStack: "at x",
				Context: json.RawMessage(`{"url": "https://app.example.com/pages/123", "apiKey": "k"}`),
			})
			require.NoError(t, err)
			assert.True(t, created)
			assert.Equal(t, 1, first.OccurrenceCount)
			assert.Equal(t, "Order 1234 not found", first.Title)
			assert.Equal(t, bugs.SeverityLow, first.Severity)
			assert.Equal(t, bugs.NormaliserVersion, first.NormaliserVersion)
			assert.JSONEq(t, `{"url": "https://app.example.com/pages/123", "apiKey": "[REDACTED]"}`, string(first.Context))

			later := first.OccurredAt.Add(time.Minute)
			second, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoClient, ErrorMessage: "Order 98 not found", OccurredAt: later})
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, first.ID, second.ID)
			assert.Equal(t, 2, second.OccurrenceCount, "the updated row is returned")
			assert.True(t, second.LastSeenAt.Equal(later))
			assert.True(t, second.FirstSeenAt.Equal(first.OccurredAt))
			assert.True(t, second.OccurredAt.Equal(first.OccurredAt), "occurredAt is the first occurrence")
			assert.Equal(t, "Order 1234 not found", *second.ErrorMessage, "the first raw message is kept")

			// An occurrence reported late widens first seen, not last seen.
			earlier := first.OccurredAt.Add(-time.Hour)
			third, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoClient, ErrorMessage: "Order 7 not found", OccurredAt: earlier})
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, 3, third.OccurrenceCount)
			assert.True(t, third.FirstSeenAt.Equal(earlier))
			assert.True(t, third.LastSeenAt.Equal(later))

			other, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "Order 1234 not found"})
			require.NoError(t, err)
			assert.True(t, created, "another source is another report")
			assert.NotEqual(t, first.ID, other.ID)
		})

		t.Run("no message never deduplicates", func(t *testing.T) {
			a, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorCode: "E42"})
			require.NoError(t, err)
			assert.True(t, created)
			assert.Equal(t, "Error E42", a.Title)
			b, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorCode: "E42"})
			require.NoError(t, err)
			assert.True(t, created)
			assert.NotEqual(t, a.ID, b.ID)
		})

		t.Run("outside the window starts a new report", func(t *testing.T) {
			now := store.Now()
			old, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "disk full on vol 3", OccurredAt: now.Add(-25 * time.Hour)})
			require.NoError(t, err)
			require.True(t, created)
			fresh, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "disk full on vol 4", OccurredAt: now})
			require.NoError(t, err)
			assert.True(t, created)
			assert.NotEqual(t, old.ID, fresh.ID)
			again, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "disk full on vol 5", OccurredAt: now.Add(time.Second)})
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, fresh.ID, again.ID, "the new report is the active one")
			assert.Equal(t, 2, again.OccurrenceCount)
			oldNow, err := svc.Get(ctx, old.ID)
			require.NoError(t, err)
			assert.Equal(t, 1, oldNow.OccurrenceCount)
		})

		t.Run("within 24h of the last occurrence, not of the first", func(t *testing.T) {
			now := store.Now()
			first, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoAgent, ErrorMessage: "tool x failed", OccurredAt: now.Add(-40 * time.Hour)})
			require.NoError(t, err)
			_, _, err = svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoAgent, ErrorMessage: "tool x failed", OccurredAt: now.Add(-20 * time.Hour)})
			require.NoError(t, err)
			r, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoAgent, ErrorMessage: "tool x failed", OccurredAt: now})
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, first.ID, r.ID)
			assert.Equal(t, 3, r.OccurrenceCount)
		})

		for _, status := range []bugs.Status{bugs.StatusResolved, bugs.StatusClosed} {
			t.Run(string(status)+" recurring is reopened as a regression", func(t *testing.T) {
				msg := "payment " + string(status) + " failed for card 4242"
				r, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: msg})
				require.NoError(t, err)
				_, err = svc.Update(ctx, bugs.UpdateInput{ID: r.ID, Status: &status})
				require.NoError(t, err)
				again, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: msg})
				require.NoError(t, err)
				assert.False(t, created)
				assert.Equal(t, r.ID, again.ID)
				assert.Equal(t, bugs.StatusOpen, again.Status)
				assert.True(t, again.Regression)
				assert.Nil(t, again.ResolvedAt)
				assert.Equal(t, 2, again.OccurrenceCount)
				// An open report recurring is no regression.
				third, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: msg})
				require.NoError(t, err)
				assert.True(t, third.Regression, "the flag records the history")
				assert.Equal(t, 3, third.OccurrenceCount)
			})
		}

		t.Run("another replica joins through the upsert", func(t *testing.T) {
			// A second store has not seen the fingerprint, so it takes the
			// INSERT ... ON CONFLICT path rather than the plain UPDATE.
			other := bugs.New(bugs.NewBunStore(db.DB), bugs.Config{})
			r, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "replica error 1"})
			require.NoError(t, err)
			_, err = svc.Update(ctx, bugs.UpdateInput{ID: r.ID, Status: ptr(bugs.StatusResolved)})
			require.NoError(t, err)
			later := r.OccurredAt.Add(time.Minute)
			again, created, err := other.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "replica error 2", OccurredAt: later})
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, r.ID, again.ID)
			assert.Equal(t, 2, again.OccurrenceCount)
			assert.Equal(t, bugs.StatusOpen, again.Status)
			assert.True(t, again.Regression)
			assert.Nil(t, again.ResolvedAt)
			assert.True(t, again.LastSeenAt.Equal(later))

			stale, _, err := other.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "replica error 3", OccurredAt: later.Add(25 * time.Hour)})
			require.NoError(t, err)
			assert.NotEqual(t, r.ID, stale.ID, "past the window the upsert path starts a new report too")
			joined, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "replica error 4", OccurredAt: later.Add(26 * time.Hour)})
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, stale.ID, joined.ID, "the first store finds the new active report")
		})

		t.Run("in-progress recurring stays in progress", func(t *testing.T) {
			r, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "cache miss storm"})
			require.NoError(t, err)
			_, err = svc.Update(ctx, bugs.UpdateInput{ID: r.ID, Status: ptr(bugs.StatusInProgress)})
			require.NoError(t, err)
			again, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "cache miss storm"})
			require.NoError(t, err)
			assert.Equal(t, bugs.StatusInProgress, again.Status)
			assert.False(t, again.Regression)
		})

		t.Run("a deleted report is not joined", func(t *testing.T) {
			r, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "gone soon"})
			require.NoError(t, err)
			require.NoError(t, svc.Delete(ctx, r.ID))
			again, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "gone soon"})
			require.NoError(t, err)
			assert.True(t, created)
			assert.NotEqual(t, r.ID, again.ID)
		})
	})
}

func TestAutoWorkspace(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newServices(db)
		auto := func(workspace, msg string) (bugs.Report, bool) {
			t.Helper()
			r, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, WorkspaceID: workspace, ErrorMessage: msg})
			require.NoError(t, err)
			return r, created
		}

		a, created := auto("ws_a", "Order 1 failed")
		require.True(t, created)
		assert.Equal(t, bugs.NormaliserVersion, a.NormaliserVersion)
		assert.Equal(t, bugs.Fingerprint(bugs.SourceAutoServer, "ws_a", "Order 1 failed"), a.Fingerprint)
		b, created := auto("ws_b", "Order 2 failed")
		assert.True(t, created, "the same error in another workspace is another report")
		assert.NotEqual(t, a.ID, b.ID)
		again, created := auto("ws_a", "Order 3 failed")
		assert.False(t, created, "the same workspace folds")
		assert.Equal(t, a.ID, again.ID)
		assert.Equal(t, 2, again.OccurrenceCount)

		none, created := auto("", "Order 4 failed")
		assert.True(t, created, "no workspace is a group of its own")
		assert.NotEqual(t, a.ID, none.ID)
		assert.Nil(t, none.WorkspaceID)
		noneAgain, created := auto("", "Order 5 failed")
		assert.False(t, created)
		assert.Equal(t, none.ID, noneAgain.ID)
		assert.Equal(t, 2, noneAgain.OccurrenceCount)

		for ws, want := range map[string]int{"ws_a": 2, "ws_b": 1} {
			page, err := svc.List(ctx, bugs.ListFilter{WorkspaceID: ws})
			require.NoError(t, err)
			require.Len(t, page.Items, 1, ws)
			assert.Equal(t, want, page.Items[0].OccurrenceCount, ws)
		}

		r, err := svc.Create(ctx, bugs.CreateInput{Title: "x", Source: bugs.SourceUserCommand, WorkspaceID: "ws_a", ErrorMessage: "Order 6 failed"})
		require.NoError(t, err)
		assert.Equal(t, bugs.Fingerprint(bugs.SourceUserCommand, "ws_a", "Order 6 failed"), r.Fingerprint, "a person's report carries the workspace in its key too")
	})
}

// TestAutoLegacyFingerprint covers reports stored under NormaliserVersion 1
// (source and message only): they stay as they are, keep absorbing an
// ongoing storm of their own workspace and no other, and stop once a report
// under the new fingerprint exists.
func TestAutoLegacyFingerprint(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := bugs.NewBunStore(db.DB)
		svc := bugs.New(st, bugs.Config{})
		now := store.Now()
		// seedV1 stores a report as version 1 did: its fingerprint hashes
		// the source, "1" and the normalised message.
		seedV1 := func(workspace, msg string, lastSeen time.Time) bugs.Report {
			t.Helper()
			at := lastSeen.UTC().Truncate(time.Microsecond)
			r := bugs.Report{
				ID: "bug_v1_" + strings.ReplaceAll(msg, " ", "_"), Source: bugs.SourceAutoServer, Severity: bugs.SeverityMedium,
				Status: bugs.StatusOpen, Title: msg, ErrorMessage: &msg, OccurrenceCount: 1,
				Fingerprint: hashParts(string(bugs.SourceAutoServer), "1", bugs.Normalise(msg)), NormaliserVersion: 1,
				OccurredAt: at, FirstSeenAt: at, LastSeenAt: at, CreatedAt: at, UpdatedAt: at,
			}
			if workspace != "" {
				r.WorkspaceID = &workspace
			}
			stored, created, err := st.Upsert(ctx, &r, "", at.Add(-bugs.DefaultDedupWindow))
			require.NoError(t, err)
			require.True(t, created)
			return stored
		}
		auto := func(workspace, msg string, at time.Time) (bugs.Report, bool) {
			t.Helper()
			r, created, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, WorkspaceID: workspace, ErrorMessage: msg, OccurredAt: at})
			require.NoError(t, err)
			return r, created
		}
		requireUnchanged := func(old bugs.Report, count int) {
			t.Helper()
			got, err := svc.Get(ctx, old.ID)
			require.NoError(t, err)
			assert.Equal(t, old.Fingerprint, got.Fingerprint, "a version 1 report keeps its fingerprint")
			assert.Equal(t, 1, got.NormaliserVersion)
			assert.Equal(t, count, got.OccurrenceCount)
		}

		t.Run("an ongoing storm stays in its report, other workspaces split off", func(t *testing.T) {
			old := seedV1("ws_a", "Payment 1 declined", now.Add(-time.Hour))
			r, created := auto("ws_a", "Payment 2 declined", now)
			assert.False(t, created)
			assert.Equal(t, old.ID, r.ID)
			assert.Equal(t, 2, r.OccurrenceCount)
			assert.Equal(t, old.Fingerprint, r.Fingerprint)
			assert.Equal(t, 1, r.NormaliserVersion)

			other, created := auto("ws_b", "Payment 3 declined", now)
			assert.True(t, created, "another workspace does not join the version 1 report")
			assert.Equal(t, bugs.Fingerprint(bugs.SourceAutoServer, "ws_b", "Payment 3 declined"), other.Fingerprint)
			assert.Equal(t, bugs.NormaliserVersion, other.NormaliserVersion)
			otherAgain, created := auto("ws_b", "Payment 4 declined", now)
			assert.False(t, created)
			assert.Equal(t, other.ID, otherAgain.ID)

			none, created := auto("", "Payment 5 declined", now)
			assert.True(t, created, "no workspace is not ws_a")
			assert.NotEqual(t, old.ID, none.ID)
			requireUnchanged(old, 2)
		})

		t.Run("a version 1 report without workspace takes occurrences without one", func(t *testing.T) {
			old := seedV1("", "Cache 1 cold", now.Add(-time.Hour))
			r, created := auto("", "Cache 2 cold", now)
			assert.False(t, created)
			assert.Equal(t, old.ID, r.ID)
			r, created = auto("ws_a", "Cache 3 cold", now)
			assert.True(t, created)
			assert.NotEqual(t, old.ID, r.ID)
			requireUnchanged(old, 2)
		})

		t.Run("past the window a new report starts under the new fingerprint", func(t *testing.T) {
			old := seedV1("ws_a", "Disk 1 full", now.Add(-30*time.Hour))
			fresh, created := auto("ws_a", "Disk 2 full", now)
			assert.True(t, created)
			assert.Equal(t, bugs.NormaliserVersion, fresh.NormaliserVersion)
			// Reported late, to a replica that has not seen the new
			// fingerprint, this occurrence is within a day of the old
			// report's last one, but the new report exists: it grows.
			replica := bugs.New(bugs.NewBunStore(db.DB), bugs.Config{})
			late, created, err := replica.Auto(ctx, bugs.AutoInput{
				Source: bugs.SourceAutoServer, WorkspaceID: "ws_a", ErrorMessage: "Disk 3 full", OccurredAt: now.Add(-29 * time.Hour),
			})
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, fresh.ID, late.ID)
			assert.Equal(t, 2, late.OccurrenceCount)
			requireUnchanged(old, 1)
		})
	})
}

func TestAutoConcurrent(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newServices(db)
		const n = 100
		var wg sync.WaitGroup
		results := make(chan bool, n)
		errc := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, created, err := svc.Auto(ctx, bugs.AutoInput{
					Source:       bugs.SourceAutoServer,
					ErrorMessage: fmt.Sprintf("Connection timeout after %dms talking to 10.0.0.%d", 1000+i, i%250),
				})
				if err != nil {
					errc <- err
					return
				}
				results <- created
			})
		}
		wg.Wait()
		close(errc)
		close(results)
		for err := range errc {
			require.NoError(t, err)
		}
		createdCount := 0
		for c := range results {
			if c {
				createdCount++
			}
		}
		assert.Equal(t, 1, createdCount, "exactly one call created the report")

		page, err := svc.List(ctx, bugs.ListFilter{})
		require.NoError(t, err)
		require.Equal(t, 1, page.Total)
		assert.Equal(t, n, page.Items[0].OccurrenceCount)
	})
}

func TestListUpdateDelete(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newServices(db)
		base := time.Date(2025, 2, 14, 10, 0, 0, 0, time.UTC)
		var ids []string
		for i := range 25 {
			in := bugs.AutoInput{
				Source:      []bugs.Source{bugs.SourceAutoServer, bugs.SourceAutoClient}[i%2],
				Severity:    []bugs.Severity{bugs.SeverityHigh, bugs.SeverityLow, bugs.SeverityCritical}[i%3],
				WorkspaceID: []string{"ws_1", "ws_2"}[i%2],
				Title:       fmt.Sprintf("report %d", i),
				OccurredAt:  base.Add(time.Duration(i) * time.Hour),
			}
			r, _, err := svc.Auto(ctx, in)
			require.NoError(t, err)
			ids = append(ids, r.ID)
		}

		page, err := svc.List(ctx, bugs.ListFilter{})
		require.NoError(t, err)
		assert.Equal(t, 25, page.Total)
		assert.Equal(t, 1, page.Page)
		assert.Equal(t, bugs.DefaultLimit, page.Limit)
		require.Len(t, page.Items, 20)
		assert.True(t, page.HasNextPage)
		assert.False(t, page.HasPrevPage)
		assert.Equal(t, "report 24", page.Items[0].Title, "newest first")
		assert.Equal(t, "report 5", page.Items[19].Title)

		page, err = svc.List(ctx, bugs.ListFilter{Page: 2})
		require.NoError(t, err)
		require.Len(t, page.Items, 5)
		assert.False(t, page.HasNextPage)
		assert.True(t, page.HasPrevPage)
		assert.Equal(t, "report 0", page.Items[4].Title)

		page, err = svc.List(ctx, bugs.ListFilter{Page: 9})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
		assert.NotNil(t, page.Items)

		page, err = svc.List(ctx, bugs.ListFilter{Limit: 1000})
		require.NoError(t, err)
		assert.Equal(t, bugs.MaxLimit, page.Limit)
		assert.Len(t, page.Items, 25)

		from, to := base.Add(10*time.Hour), base.Add(14*time.Hour)
		filterTests := []struct {
			name  string
			f     bugs.ListFilter
			total int
		}{
			{"source", bugs.ListFilter{Source: bugs.SourceAutoClient}, 12},
			{"severity", bugs.ListFilter{Severity: bugs.SeverityCritical}, 8},
			{"workspace", bugs.ListFilter{WorkspaceID: "ws_1"}, 13},
			{"dates inclusive", bugs.ListFilter{FromDate: &from, ToDate: &to}, 5},
			{"from only", bugs.ListFilter{FromDate: &from}, 15},
			{"combined", bugs.ListFilter{Source: bugs.SourceAutoServer, Severity: bugs.SeverityHigh}, 5},
			{"status", bugs.ListFilter{Status: bugs.StatusOpen}, 25},
			{"status none", bugs.ListFilter{Status: bugs.StatusResolved}, 0},
		}
		for _, tt := range filterTests {
			t.Run("filter/"+tt.name, func(t *testing.T) {
				f := tt.f
				f.Limit = bugs.MaxLimit
				page, err := svc.List(ctx, f)
				require.NoError(t, err)
				assert.Equal(t, tt.total, page.Total)
				assert.Len(t, page.Items, tt.total)
				for _, r := range page.Items {
					if tt.f.Source != "" {
						assert.Equal(t, tt.f.Source, r.Source)
					}
					if tt.f.Severity != "" {
						assert.Equal(t, tt.f.Severity, r.Severity)
					}
					if tt.f.FromDate != nil {
						assert.False(t, r.OccurredAt.Before(*tt.f.FromDate))
					}
					if tt.f.ToDate != nil {
						assert.False(t, r.OccurredAt.After(*tt.f.ToDate))
					}
				}
			})
		}

		t.Run("update", func(t *testing.T) {
			id := ids[3]
			r, err := svc.Update(ctx, bugs.UpdateInput{ID: id, Status: ptr(bugs.StatusResolved), Title: ptr("renamed"), Description: ptr("why"), Severity: ptr(bugs.SeverityLow)})
			require.NoError(t, err)
			assert.Equal(t, bugs.StatusResolved, r.Status)
			assert.Equal(t, "renamed", r.Title)
			assert.Equal(t, "why", *r.Description)
			assert.Equal(t, bugs.SeverityLow, r.Severity)
			require.NotNil(t, r.ResolvedAt)
			resolvedAt := *r.ResolvedAt
			assert.True(t, r.UpdatedAt.After(r.CreatedAt) || r.UpdatedAt.Equal(r.CreatedAt))

			r, err = svc.Update(ctx, bugs.UpdateInput{ID: id, Status: ptr(bugs.StatusResolved)})
			require.NoError(t, err)
			assert.True(t, r.ResolvedAt.Equal(resolvedAt), "resolving again keeps the first stamp")
			r, err = svc.Update(ctx, bugs.UpdateInput{ID: id, Status: ptr(bugs.StatusClosed)})
			require.NoError(t, err)
			assert.NotNil(t, r.ResolvedAt, "closing keeps the stamp")
			r, err = svc.Update(ctx, bugs.UpdateInput{ID: id, Status: ptr(bugs.StatusTriaged)})
			require.NoError(t, err)
			assert.Nil(t, r.ResolvedAt, "reopening clears it")
			assert.Equal(t, "renamed", r.Title, "fields not given stay")

			got, err := svc.Get(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, bugs.StatusTriaged, got.Status)

			_, err = svc.Update(ctx, bugs.UpdateInput{ID: "bug_missing", Status: ptr(bugs.StatusClosed)})
			require.ErrorIs(t, err, errs.ErrNotFound)
		})

		t.Run("delete", func(t *testing.T) {
			id := ids[24]
			require.NoError(t, svc.Delete(ctx, id))
			_, err := svc.Get(ctx, id)
			require.ErrorIs(t, err, errs.ErrNotFound)
			_, err = svc.Update(ctx, bugs.UpdateInput{ID: id, Title: ptr("x")})
			require.ErrorIs(t, err, errs.ErrNotFound)
			require.ErrorIs(t, svc.Delete(ctx, id), errs.ErrNotFound)
			require.ErrorIs(t, svc.Delete(ctx, "bug_missing"), errs.ErrNotFound)
			page, err := svc.List(ctx, bugs.ListFilter{Limit: 100})
			require.NoError(t, err)
			assert.Equal(t, 24, page.Total)
			for _, r := range page.Items {
				assert.NotEqual(t, id, r.ID)
			}
		})
	})
}
