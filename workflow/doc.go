// Package workflow defines workflows (seeds/004): a workflow's details and
// its SLA per ticket priority, and its graph of steps, each worked by a
// role, joined by transitions within the workflow.
//
// A workflow starts as a draft, which may be incomplete. Service.Initialize
// checks the rules that make it usable (REFERENCE-NOTES.md: one start, an
// end, every step reachable and with a role, ...) and names every broken
// one; from then on a change that would break a rule is refused, so a
// workflow that is not a draft can always run tasks. Graph changes of one
// workflow are transactions that take turns on the workflow's row: a
// replaced graph is replaced whole or not at all.
//
// Roles come from outside through the small Roles interface, so this
// package does not depend on where roles live; tasks (the task engine) are
// counted through TaskCounter, so that a workflow with tasks keeps its
// graph.
//
// It follows the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations.
package workflow
