package workflow

import (
	"fmt"
	"strings"
)

// brokenRules lists every rule of a usable workflow that w, with its steps
// (in order) and transitions, breaks: it has a name and a category, and
// its graph has steps, each with a role; exactly one start step; at least
// one end step; every step reachable from the start; an end reachable from
// the start; and an outgoing transition on every step that is not an end.
// Problems are named under "name", "category" and "graph".
func brokenRules(w Workflow, steps []Step, transitions []Transition) problems {
	p := problems{}
	if strings.TrimSpace(w.Name) == "" {
		p.add("name", "A workflow needs a name to be initialized.")
	}
	if strings.TrimSpace(w.Category) == "" {
		p.add("category", "A workflow needs a category to be initialized.")
	}
	if len(steps) == 0 {
		p.add("graph", "the workflow has no steps")
		return p
	}
	next := map[int64][]int64{}
	for _, t := range transitions {
		next[t.FromStepID] = append(next[t.FromStepID], t.ToStepID)
	}
	var starts []Step
	ends := 0
	for _, s := range steps {
		if s.RoleID == nil {
			p.add("graph", fmt.Sprintf("%s has no role", stepLabel(s)))
		}
		if s.IsStart {
			starts = append(starts, s)
		}
		if s.IsEnd {
			ends++
		}
	}
	switch len(starts) {
	case 0:
		p.add("graph", "no step is the start step; exactly one must be")
	case 1:
	default:
		labels := make([]string, len(starts))
		for i, s := range starts {
			labels[i] = stepLabel(s)
		}
		p.add("graph", fmt.Sprintf("%d steps are start steps (%s); exactly one must be", len(starts), strings.Join(labels, ", ")))
	}
	if ends == 0 {
		p.add("graph", "no step is an end step; at least one must be")
	}
	if len(starts) == 1 {
		reached := reachable(starts[0].ID, next)
		endReached := false
		for _, s := range steps {
			if !reached[s.ID] {
				p.add("graph", fmt.Sprintf("%s cannot be reached from the start step", stepLabel(s)))
			}
			endReached = endReached || (reached[s.ID] && s.IsEnd)
		}
		if ends > 0 && !endReached {
			p.add("graph", "no end step can be reached from the start step")
		}
	}
	for _, s := range steps {
		if !s.IsEnd && len(next[s.ID]) == 0 {
			p.add("graph", fmt.Sprintf("%s is not an end step and has no outgoing transition", stepLabel(s)))
		}
	}
	return p
}

// reachable returns the steps that can be reached from start (itself
// included) along next.
func reachable(start int64, next map[int64][]int64) map[int64]bool {
	seen := map[int64]bool{start: true}
	queue := []int64{start}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, to := range next[id] {
			if !seen[to] {
				seen[to] = true
				queue = append(queue, to)
			}
		}
	}
	return seen
}

// stepLabel names a step in a message.
func stepLabel(s Step) string {
	return fmt.Sprintf("step %q (%d)", s.Name, s.ID)
}
