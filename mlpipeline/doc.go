// Package mlpipeline will hold triage models: tracker CSV ingestion, text
// features, per-field classifiers with calibrated confidences, training and
// prediction jobs and the model store (seeds/000).
//
// It will follow the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations. It holds
// no code yet.
package mlpipeline
