// Package tickets will hold tickets and their intake into workflows
// (seeds/004).
//
// It will follow the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations. It holds
// no code yet.
package tickets
