package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow"
)

// finish moves a task through both steps as their holders, at the
// engine's clock.
func (e *engine) finish(t *testing.T, taskID int64) {
	t.Helper()
	ctx := context.Background()
	holder := func() workflow.Actor {
		d := e.detail(t, taskID)
		a := d.Assignments[len(d.Assignments)-1]
		return workflow.Actor{UserID: a.UserID, Username: a.Username}
	}
	_, err := e.svc.Transition(ctx, holder(), taskID, &e.assign, "triaged")
	require.NoError(t, err)
	_, err = e.svc.Transition(ctx, holder(), taskID, nil, "fixed")
	require.NoError(t, err)
}

func TestSLAComplianceCountsOpenTasksAsOpenNotMet(t *testing.T) {
	dbtest.ForEachDB(t, slaMigrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEngine(t, db)
		from, to := t0, t0.Add(time.Hour)

		e.at(-time.Second)
		e.start(t) // before the range
		e.at(0)
		onTime, late, open := e.start(t), e.start(t), e.start(t)
		// A workflow without SLAs: its task has no target.
		in, g := itSupport()
		in.Name, in.Category, in.LowSLA, in.MediumSLA, in.HighSLA, in.UrgentSLA = "No SLA", "Facilities", "", "", "", ""
		c, err := e.svc.CreateWorkflow(ctx, in, g)
		require.NoError(t, err)
		_, err = e.svc.Initialize(ctx, c.ID)
		require.NoError(t, err)
		noSLA, err := e.svc.CreateTask(ctx, admin, workflow.TaskInput{WorkflowID: c.ID, Subject: "Chair"})
		require.NoError(t, err)
		require.Nil(t, noSLA.TargetResolution)
		e.at(time.Hour)
		e.start(t) // at the range's end: outside it

		// Nothing is decided yet: no rate, rather than 100 % "met".
		e.at(time.Hour)
		got, err := e.svc.SLACompliance(ctx, 0, from, to)
		require.NoError(t, err)
		assert.Equal(t, workflow.Compliance{From: from, To: to, At: t0.Add(time.Hour), Total: 4, Open: 3, NoSLA: 1}, got)

		// Resolved exactly at its target: met. The target is now, so the
		// others are still open.
		e.at(24 * time.Hour)
		e.finish(t, onTime.ID)
		got, err = e.svc.SLACompliance(ctx, 0, from, to)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 0, 2, 1}, []int{got.Met, got.Breached, got.Open, got.NoSLA})
		require.NotNil(t, got.Rate)
		assert.InDelta(t, 1.0, *got.Rate, 1e-9)

		// A second late: resolved after the target is breached; open past
		// the target is breached too, whether or not the check ran.
		e.at(24*time.Hour + time.Second)
		e.finish(t, late.ID)
		got, err = e.svc.SLACompliance(ctx, 0, from, to)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2, 0, 1}, []int{got.Met, got.Breached, got.Open, got.NoSLA})
		assert.InDelta(t, 1.0/3, *got.Rate, 1e-9)

		// Per workflow; the SLA check's mark changes nothing.
		e.check(t)
		got, err = e.svc.SLACompliance(ctx, e.wf.ID, from, to)
		require.NoError(t, err)
		assert.Equal(t, []int{3, 1, 2, 0, 0}, []int{got.Total, got.Met, got.Breached, got.Open, got.NoSLA})
		assert.Equal(t, workflow.SLABreached, e.detail(t, open.ID).SLAState)

		_, err = e.svc.SLACompliance(ctx, 0, to, from)
		assert.ErrorIs(t, err, errs.ErrInvalid)
		_, err = e.svc.SLACompliance(ctx, 0, from, from)
		assert.ErrorIs(t, err, errs.ErrInvalid)
	})
}
