// Package tickets holds tickets and their intake into workflows
// (seeds/004's Tickets API).
//
// A ticket is submitted with Service.Submit. In the same transaction as
// the ticket's insert, intake (an Intake, the workflow engine) matches an
// initialized workflow and starts a task for the ticket; the ticket then
// names its task, workflow and owner. A ticket that no workflow matches is
// stored with status New and no task, and the result says so; any other
// intake failure stores nothing.
//
// Statuses follow the ticket's task (the service is the engine's
// workflow.TaskObserver):
//
//	New          no workflow matched; no task works on it
//	Open         a task took it and waits at its start step
//	In Progress  its task has been acted on
//	Resolved     its task was resolved at an end step
//
// Who may do what (object-level authorization, by Caller): admins and
// Ticket Coordinators read, list and update every ticket; any other user
// reads, lists and updates the tickets they submitted or own; only admins
// delete.
//
// It follows the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations.
package tickets
