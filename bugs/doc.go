// Package bugs will hold bug reports: user-reported and automatically captured
// intake, fingerprint deduplication (a storm of identical errors becomes one
// report with a count), triage status and soft delete (seeds/002).
//
// It will follow the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations. It holds
// no code yet.
package bugs
