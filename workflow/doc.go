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
// The task engine runs tickets through initialized workflows. StartTask
// (intake, which joins the caller's transaction) matches a workflow on
// department and category, creates the task at the start step, makes the
// next Ticket Coordinator its owner and assigns the start step's role in
// turn (a stored counter per role, over the holders ordered by user id);
// Transition, Transfer and Escalate move it on as REFERENCE-NOTES.md says,
// each change in one transaction that locks the task's row, audited and
// written to the task's history. Targets are stored: the task's is created
// + the workflow's SLA for its priority, a step's its weight's share of
// that SLA. One task is read and worked only by admins, its ticket's owner
// and the people assigned to it (Forbidden for others).
//
// SLAs are watched, not only computed. CheckSLA, which the engine runs as
// a periodic durable job (Jobs), marks every open task and active
// assignment warned once 80 % and 90 % of the time from its start to its
// target have passed and breached once the target has; each mark is a
// conditional update, so it happens once however many processes run the
// check, and comes with a history line, an audit event and a notification
// in its transaction. A breached assignment's holder may still move the
// task on. SLACompliance counts met, breached and open tasks from stored
// facts: an unresolved task is never "met". Every change that concerns a
// person (assignment, transfer, escalation, warning, breach, resolution)
// writes a notification to the Notifier (package notify's outbox) in its
// own transaction. Calendar computes working-time targets (business hours,
// holidays, a time zone); workflows do not use it yet (issue 15).
//
// Roles and the people who hold them come from outside through the small
// Roles and People interfaces, so this package does not depend on where
// they live. A workflow with tasks keeps its graph: the engine counts them
// (or Config.Tasks does), and the tables' foreign keys restrict.
//
// It follows the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations.
package workflow
