// Package personal keeps each user's own to-do list (seeds/003's tasks):
// tasks with a status, a priority, an optional due date and tags, which only
// their owner sees and changes. They are a different thing from the tasks
// of package workflow, which are steps of a ticket's journey assigned by
// role.
//
// It follows the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations. Every
// method takes the owner's user id; a task of another owner is NotFound,
// never Forbidden, so that ids cannot be probed.
package personal
