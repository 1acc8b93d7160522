// Package analysis will hold CI failure analysis: JUnit XML and Jenkins
// ingestion, failure signatures, pluggable analyzers, results, reviews,
// comments, history and GitHub/Jira issue creation (seeds/001).
//
// It will follow the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations. It holds
// no code yet.
package analysis
