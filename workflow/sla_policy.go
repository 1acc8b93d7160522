package workflow

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// SLA policies. A workflow's SLAs and calendar together are its SLA
// policy; each change of either makes a new version, kept for good, so
// that every task can say which policy its clock runs under and its clock
// can be replayed later (RecomputeSLA).
//
// The re-targeting rule: when a workflow's policy changes, every task of
// it that is not resolved moves to the new version at once, and its
// target becomes what the new policy gives for its priority, counted from
// its creation, plus the paused time it has accumulated (kept as it was
// measured). Marks already made (warnings, a breach) stay: a mark is
// never taken back. Resolved tasks keep the version and target they
// finished under. Assignments keep their targets: a step's target is a
// promise made to its holder when the step was assigned; steps assigned
// later get targets under the new policy.

// SLAPolicy is one version of a workflow's SLA policy.
type SLAPolicy struct {
	WorkflowID int64 `json:"workflow_id"`
	Version    int   `json:"version"`
	SLAs
	Calendar  *Calendar `json:"calendar"`
	CreatedAt time.Time `json:"created_at"`
}

// policy is w's current SLA policy.
func (w Workflow) policy() SLAPolicy {
	return SLAPolicy{WorkflowID: w.ID, Version: w.SLAVersion, SLAs: w.SLAs, Calendar: w.Calendar, CreatedAt: w.UpdatedAt}
}

// samePolicy reports whether two workflows have the same SLAs and calendar.
func samePolicy(a, b Workflow) bool {
	eq := func(x, y *Duration) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	if !eq(a.Low, b.Low) || !eq(a.Medium, b.Medium) || !eq(a.High, b.High) || !eq(a.Urgent, b.Urgent) {
		return false
	}
	if a.Calendar == nil || b.Calendar == nil {
		return a.Calendar == nil && b.Calendar == nil
	}
	x, y := *a.Calendar, *b.Calendar
	return x.TimeZone == y.TimeZone && x.Start == y.Start && x.End == y.End && slices.Equal(x.Days, y.Days) && slices.Equal(x.Holidays, y.Holidays)
}

// normal returns c with its days and holidays sorted and without
// repeats, and never nil lists, so that equal calendars compare equal.
func (c Calendar) normal() Calendar {
	c.Days = slices.Compact(slices.Sorted(slices.Values(c.Days)))
	c.Holidays = slices.Compact(slices.Sorted(slices.Values(c.Holidays)))
	if c.Days == nil {
		c.Days = []time.Weekday{}
	}
	if c.Holidays == nil {
		c.Holidays = []string{}
	}
	return c
}

// slaClock measures SLA time: around the clock without a calendar, in
// working time on one.
type slaClock struct{ cal *calendar }

// clock returns the policy's clock. A stored calendar was valid when it
// was stored; one that no longer compiles (a time zone gone from the
// system's database) is an error rather than a silent 24/7 clock.
func (p SLAPolicy) clock() (slaClock, error) {
	if p.Calendar == nil {
		return slaClock{}, nil
	}
	cal, err := p.Calendar.compile()
	if err != nil {
		return slaClock{}, fmt.Errorf("calendar of workflow %d, SLA version %d: %w", p.WorkflowID, p.Version, err)
	}
	return slaClock{cal: cal}, nil
}

// add returns when d of SLA time has passed since from.
func (c slaClock) add(from time.Time, d time.Duration) time.Time {
	if c.cal == nil {
		return from.Add(d).Truncate(time.Microsecond)
	}
	return c.cal.add(from, d).Truncate(time.Microsecond)
}

// between is the SLA time from from to to (0 when to is not after from).
func (c slaClock) between(from, to time.Time) time.Duration {
	if c.cal == nil {
		return max(to.Sub(from), 0)
	}
	return c.cal.between(from, to)
}

// working reports whether t is in working hours: always without a
// calendar. The SLA check marks (and so notifies) only in working hours.
func (c slaClock) working(t time.Time) bool {
	return c.cal == nil || c.cal.working(t)
}

// pausedFor is the SLA time of a pause from from to to, in whole seconds
// (the unit it is stored in).
func (c slaClock) pausedFor(from, to time.Time) time.Duration {
	return c.between(from, to).Truncate(time.Second)
}

// target is when a task of priority p created at created, paused for
// paused, should be resolved under the policy: created + the SLA + the
// paused time, in SLA time; nil without an SLA for p.
func (p SLAPolicy) target(clk slaClock, pr Priority, created time.Time, paused time.Duration) *time.Time {
	sla := p.slaFor(pr)
	if sla == nil {
		return nil
	}
	t := clk.add(created, *sla+paused)
	return &t
}

// slaLevelOn is the mark due at now for a clock that started at start,
// aims at target and was paused for paused: breached once now is past the
// target, else warned at 80 % and 90 % of the SLA time between them,
// paused time left out of both.
func slaLevelOn(clk slaClock, start, target, now time.Time, paused time.Duration) int {
	if now.After(target) {
		return levelBreached
	}
	total := clk.between(start, target) - paused
	elapsed := clk.between(start, now) - paused
	switch {
	case total <= 0:
		return levelOnTime
	case elapsed*10 >= total*9:
		return levelWarned90
	case elapsed*10 >= total*8:
		return levelWarned80
	}
	return levelOnTime
}

// The kinds of SLAEvent.
const (
	SLAEventStart    = "start"    // the task's clock started, under Version, for Priority
	SLAEventPause    = "pause"    // the task was put on hold
	SLAEventResume   = "resume"   // the task was resumed; PausedSeconds were added
	SLAEventRetarget = "retarget" // the policy version or the priority changed
)

// SLAEvent is one line of a task's SLA history: what its clock depends on,
// stored in the transaction of the change, so that RecomputeSLA can replay
// the clock.
type SLAEvent struct {
	ID       int64     `json:"id"`
	TaskID   int64     `json:"task_id"`
	Kind     string    `json:"kind"`
	At       time.Time `json:"at"`
	Version  int       `json:"sla_version"`
	Priority Priority  `json:"priority"`
	// PausedSeconds is, for a resume, the paused time it added.
	PausedSeconds int64 `json:"paused_seconds"`
}

// policyClock reads a policy version and its clock, from cache when it
// holds them (cache may be nil).
func policyClock(ctx context.Context, st Store, workflowID int64, version int, cache map[policyKey]policyAndClock) (SLAPolicy, slaClock, error) {
	k := policyKey{workflowID, version}
	if pc, ok := cache[k]; ok {
		return pc.policy, pc.clock, nil
	}
	p, err := st.SLAPolicy(ctx, workflowID, version)
	if err != nil {
		return SLAPolicy{}, slaClock{}, err
	}
	clk, err := p.clock()
	if err != nil {
		return SLAPolicy{}, slaClock{}, err
	}
	if cache != nil {
		cache[k] = policyAndClock{p, clk}
	}
	return p, clk, nil
}

type policyKey struct {
	workflow int64
	version  int
}

type policyAndClock struct {
	policy SLAPolicy
	clock  slaClock
}

// addSLAEvent stores one line of a task's SLA history.
func addSLAEvent(ctx context.Context, st Store, t Task, kind string, at time.Time, paused time.Duration) error {
	return st.InsertSLAEvent(ctx, &SLAEvent{TaskID: t.ID, Kind: kind, At: at, Version: t.SLAVersion, Priority: t.Priority, PausedSeconds: int64(paused / time.Second)})
}

// SLAFacts is a task's SLA clock at one instant.
type SLAFacts struct {
	// Version is the SLA policy version the clock runs under.
	Version int `json:"sla_version"`
	// Target is when the task should be resolved; nil without an SLA.
	Target *time.Time `json:"target_resolution"`
	// Paused is the paused SLA time accumulated by finished pauses.
	Paused time.Duration `json:"paused"`
	// Elapsed is the SLA time from creation to the instant (or to the
	// task's resolution or current pause, if earlier), less Paused,
	// measured on the calendar of Version.
	Elapsed time.Duration `json:"elapsed"`
	// OnHold says whether the clock is paused at the instant.
	OnHold bool `json:"on_hold"`
	// State is the highest mark: as the check stored it (LiveSLA), or as a
	// check run before every change of the clock and at the instant would
	// have made it (RecomputeSLA).
	State SLAState `json:"sla_state"`
}

// LiveSLA returns what the live clock recorded for a task, with its
// elapsed time at at.
func (s *Service) LiveSLA(ctx context.Context, taskID int64, at time.Time) (SLAFacts, error) {
	var f SLAFacts
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		t, err := st.GetTask(ctx, taskID)
		if err != nil {
			return err
		}
		_, clk, err := policyClock(ctx, st, t.WorkflowID, t.SLAVersion, nil)
		if err != nil {
			return err
		}
		paused := time.Duration(t.PausedSeconds) * time.Second
		end := at
		if t.PausedAt != nil && t.PausedAt.Before(end) {
			end = *t.PausedAt
		}
		if t.ResolvedAt != nil && t.ResolvedAt.Before(end) {
			end = *t.ResolvedAt
		}
		f = SLAFacts{Version: t.SLAVersion, Target: t.TargetResolution, Paused: paused, OnHold: t.Status == TaskOnHold,
			Elapsed: max(clk.between(t.CreatedAt, end)-paused, 0), State: t.SLAState}
		return nil
	})
	if err != nil {
		return SLAFacts{}, fmt.Errorf("SLA of task %d: %w", taskID, err)
	}
	return f, nil
}

// RecomputeSLA replays a task's SLA clock from its stored history alone:
// its creation, its SLA events (start, pauses, resumes, re-targets), its
// resolution and the policy versions they name, up to at. Paused time is
// measured again from the pauses' times; the state is what a check run
// just before every change of the clock and at at (or at the resolution,
// if earlier) would have marked, in working hours only, as the check
// does. For a task whose checks ran so, it equals LiveSLA.
func (s *Service) RecomputeSLA(ctx context.Context, taskID int64, at time.Time) (SLAFacts, error) {
	var f SLAFacts
	err := s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		t, err := st.GetTask(ctx, taskID)
		if err != nil {
			return err
		}
		events, err := st.SLAEvents(ctx, taskID)
		if err != nil {
			return err
		}
		if len(events) == 0 || events[0].Kind != SLAEventStart {
			return fmt.Errorf("task %d has no SLA start in its history", taskID)
		}
		cache := map[policyKey]policyAndClock{}
		version, priority := events[0].Version, events[0].Priority
		var paused time.Duration
		var pausedAt *time.Time
		level := levelOnTime
		evaluate := func(point time.Time) error {
			p, clk, err := policyClock(ctx, st, t.WorkflowID, version, cache)
			if err != nil {
				return err
			}
			target := p.target(clk, priority, t.CreatedAt, paused)
			if pausedAt != nil || target == nil || !clk.working(point) {
				return nil
			}
			level = max(level, slaLevelOn(clk, t.CreatedAt, *target, point, paused))
			return nil
		}
		end := at
		if t.ResolvedAt != nil && t.ResolvedAt.Before(end) {
			end = *t.ResolvedAt
		}
		for _, e := range events[1:] {
			if e.At.After(end) {
				break
			}
			if err := evaluate(e.At); err != nil {
				return err
			}
			switch e.Kind {
			case SLAEventPause:
				pausedAt = &e.At
			case SLAEventResume:
				_, clk, err := policyClock(ctx, st, t.WorkflowID, version, cache)
				if err != nil {
					return err
				}
				if pausedAt != nil {
					paused += clk.pausedFor(*pausedAt, e.At)
				}
				pausedAt = nil
			case SLAEventRetarget:
				version, priority = e.Version, e.Priority
			}
		}
		if err := evaluate(end); err != nil {
			return err
		}
		p, clk, err := policyClock(ctx, st, t.WorkflowID, version, cache)
		if err != nil {
			return err
		}
		stop := end
		if pausedAt != nil && pausedAt.Before(stop) {
			stop = *pausedAt
		}
		f = SLAFacts{Version: version, Target: p.target(clk, priority, t.CreatedAt, paused), Paused: paused, OnHold: pausedAt != nil,
			Elapsed: max(clk.between(t.CreatedAt, stop)-paused, 0), State: slaState(level)}
		return nil
	})
	if err != nil {
		return SLAFacts{}, fmt.Errorf("recompute the SLA of task %d: %w", taskID, err)
	}
	return f, nil
}

// retarget moves every open task of w to w's current policy version, in
// the caller's transaction (which holds w's row): a new target from the
// task's creation and paused time, a history line, an SLA event and an
// audit event each.
func (s *Service) retarget(ctx context.Context, st Store, w Workflow) error {
	ids, err := st.OpenTaskIDs(ctx, w.ID)
	if err != nil {
		return err
	}
	p := w.policy()
	clk, err := p.clock()
	if err != nil {
		return err
	}
	now := w.UpdatedAt
	for _, id := range ids {
		t, err := st.LockTask(ctx, id)
		if err != nil {
			return err
		}
		if t.Status == TaskResolved {
			continue // resolved since it was listed: it keeps its policy
		}
		before := t
		t.SLAVersion, t.UpdatedAt = p.Version, now
		t.TargetResolution = p.target(clk, t.Priority, t.CreatedAt, time.Duration(t.PausedSeconds)*time.Second)
		if err := st.UpdateTask(ctx, t); err != nil {
			return err
		}
		if err := addSLAEvent(ctx, st, t, SLAEventRetarget, now, 0); err != nil {
			return err
		}
		note := fmt.Sprintf("SLA policy version %d: no target", p.Version)
		if t.TargetResolution != nil {
			note = fmt.Sprintf("SLA policy version %d: target %s", p.Version, t.TargetResolution.Format(time.RFC3339))
		}
		if err := s.history(ctx, st, nil, t.ID, LogRetargeted, t.CurrentStep.ID, note, now); err != nil {
			return err
		}
		if err := s.record(ctx, "sla_retarget", "Task", t.ID, before, t); err != nil {
			return err
		}
	}
	return nil
}
