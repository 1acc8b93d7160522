package workflow_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// BenchmarkAllTasksSearch times all-tasks with search (one page of 10 and
// the count) over 100,000 tasks on PostgreSQL, with the migration's
// indexes in place (pg_trgm's when the database allows it). It needs
// BUGFLOW_TEST_POSTGRES_URL; the tasks are seeded by SQL, each with one
// assignment whose username search also matches.
//
//	go test ./workflow -run '^$' -bench AllTasksSearch
func BenchmarkAllTasksSearch(b *testing.B) {
	if os.Getenv(dbtest.PostgresEnv) == "" {
		b.Skip(dbtest.PostgresEnv + " is not set")
	}
	var pg dbtest.Backend
	for _, be := range dbtest.Backends() {
		if be.Name == "postgres" {
			pg = be
		}
	}
	ctx := context.Background()
	db := dbtest.Open(b, pg.NewURL(b), migrations())
	svc := workflow.New(workflow.NewBunStore(db.DB), workflow.Config{Roles: roles})
	in, g := itSupport()
	c, err := svc.CreateWorkflow(ctx, in, g)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100000
	triage := c.TempIDMapping["node_1"]
	now := time.Now().UTC()
	// Subjects name their number, descriptions a rotating word, and each
	// task one of 500 assignees.
	if _, err := db.ExecContext(ctx, `
		INSERT INTO workflow_tasks (workflow_id, ticket_id, subject, description, priority, status, current_step_id, search_text, created_at, updated_at)
		SELECT ?, 'TX' || i, 'Laptop issue #' || i, 'the ' || (ARRAY['keyboard','screen','battery','network'])[1 + i % 4] || ' fails',
			'High', 'new', ?, lower('Laptop issue #' || i || E'\n' || 'the ' || (ARRAY['keyboard','screen','battery','network'])[1 + i % 4] || ' fails' || E'\n' || 'agent' || (i % 500)), ?, ?
		FROM generate_series(1, ?) AS i`, c.ID, triage, now, now, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `
		INSERT INTO workflow_task_items (task_id, user_id, username, role_id, role_name, role_key, step_id, status, origin, notes, assigned_at)
		SELECT id, 'u' || (id % 500), 'agent' || (id % 500), 2, 'Agent', 'agent', current_step_id, 'new', 'System', '', created_at FROM workflow_tasks`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	var trgm bool
	if err := db.NewSelect().ColumnExpr("EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'workflow_tasks_search_trgm_idx')").Scan(ctx, &trgm); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d tasks; pg_trgm index: %v", n, trgm)
	for _, q := range []struct{ name, search string }{
		{"rare", "issue #4242"},   // 11 tasks
		{"assignee", "agent417"},  // 200 tasks
		{"common", "keyboard"},    // 25,000 tasks
		{"none", "no such thing"}, // 0 tasks
	} {
		b.Run(q.name, func(b *testing.B) {
			var total int
			for b.Loop() {
				_, total, err = svc.AllTasks(ctx, admin, workflow.AllTasksFilter{Tab: workflow.TabActive, Search: q.search}, workflow.ListOptions{})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/search")
			b.ReportMetric(float64(total), "matches")
		})
	}
}

// A role that may not create extensions still migrates: the pg_trgm index
// is left out and search works without it.
func TestSearchWithoutTheTrigramIndex(t *testing.T) {
	if os.Getenv(dbtest.PostgresEnv) == "" {
		t.Skip(dbtest.PostgresEnv + " is not set")
	}
	ctx := context.Background()
	var pg dbtest.Backend
	for _, be := range dbtest.Backends() {
		if be.Name == "postgres" {
			pg = be
		}
	}
	adminURL := pg.NewURL(t)
	owner := dbtest.Open(t, adminURL, nil)
	role := fmt.Sprintf("bugflow_noext_%d", time.Now().UnixNano())
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT ALL ON SCHEMA public TO " + role,
		"REVOKE CREATE ON DATABASE " + currentDB(t, owner) + " FROM PUBLIC",
	} {
		_, err := owner.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	t.Cleanup(func() {
		_, _ = owner.ExecContext(context.Background(), "DROP OWNED BY "+role)
		_, _ = owner.ExecContext(context.Background(), "DROP ROLE "+role)
	})
	u, err := url.Parse(adminURL)
	require.NoError(t, err)
	u.User = url.User(role)
	db := dbtest.Open(t, u.String(), migrations())
	var trgm bool
	require.NoError(t, db.NewSelect().ColumnExpr("EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'workflow_tasks_search_trgm_idx')").Scan(ctx, &trgm))
	assert.False(t, trgm, "no index without the right to create pg_trgm")

	e := newEngine(t, db)
	task := e.start(t)
	found, _, err := e.svc.AllTasks(ctx, admin, workflow.AllTasksFilter{Search: "BOOT"}, workflow.ListOptions{})
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, task.ID, found[0].ID)
}

func currentDB(t *testing.T, db *store.DB) string {
	t.Helper()
	var name string
	require.NoError(t, db.NewSelect().ColumnExpr("current_database()").Scan(context.Background(), &name))
	return `"` + name + `"`
}
