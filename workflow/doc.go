// Package workflow will hold workflow graphs with steps, transitions and
// roles, task instances, assignment, SLAs, escalation, audit and analytics,
// plus personal tasks and scheduled automated processes (seeds/003,
// seeds/004).
//
// It will follow the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations. It holds
// no code yet.
package workflow
