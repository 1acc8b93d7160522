// Package personal keeps each user's own to-do list (seeds/003's tasks),
// the automated processes that work on it and the chat agent that manages
// it from plain sentences.
//
// Tasks have a status, a priority, an optional due date and tags, and only
// their owner sees and changes them: every method takes the owner's user
// id, and a task of another owner is NotFound, never Forbidden, so that ids
// cannot be probed. They are a different thing from the tasks of package
// workflow, which are steps of a ticket's journey assigned by role.
//
// Processes are built-in (the overdue reschedule daily at 07:30 and the
// daily digest at 07:45, over every user's tasks) or a user's own (over
// their tasks), triggered manually or on a cron schedule evaluated in
// Config.Location. RegisterJobs adds a periodic job that calls RunDue every
// minute; RunDue claims each tick with one conditional update, so replicas
// never run a tick twice, and runs a process once however many ticks it
// missed. A partial unique index keeps a process to one running execution.
//
// Chat reads a message with a Planner (the built-in Parse, or a ModelPlanner
// asking an OpenAI-compatible chat-completions API, with Parse as its
// fallback) and calls one of the agent's tools on the owner's tasks.
//
// It follows the domain package pattern of DESIGN.md: model, Service, small
// Store interfaces (Store, ProcessStore, ChatStore) and their bun
// implementation with migrations.
package personal
