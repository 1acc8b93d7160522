// Package bugs holds bug reports (seeds/002): user-reported and automatically
// captured intake, fingerprint deduplication, triage status and soft delete.
//
// # Intake
//
// Service.Create files a report written by a person (status open). It attaches
// the reporter's user journey: the last 20 actions of the past 30 minutes from
// the activity log (Config.Journey), under userJourney.recentActions, with
// sessionStartedAt set to the oldest of them. A journey the client sent itself
// (its breadcrumbs) is kept, secrets redacted, under userJourney.client, so
// neither source overwrites the other.
//
// Service.Auto files a captured error. When it has an errorMessage, the
// message is normalised (Normalise: numbers, ids, emails, URLs, IPs, dates,
// durations and quoted values become placeholders) and hashed with the
// source, the workspace (none is a value of its own) and NormaliserVersion
// into a fingerprint, so the same error in two workspaces is two reports.
// A report with the same
// fingerprint whose last occurrence is less than 24 hours before this one
// absorbs it: occurrenceCount grows by one and lastSeenAt moves forward; if
// that report was resolved or closed it is reopened and flagged as a
// regression. Otherwise a new report starts. A unique key on the active
// report of each fingerprint, written with INSERT ... ON CONFLICT DO UPDATE,
// makes concurrent identical reports land on one row.
//
// # Fingerprint versions
//
// Changing how fingerprints are made bumps NormaliserVersion and leaves
// stored reports as they are: their fingerprint and version never change.
// Version 2 added the workspace to version 1's source and message. So that
// an error storm going on across the upgrade does not split, an occurrence
// that no version 2 report absorbs joins the active version 1 report of the
// same source and message if that was last seen within the window, has the
// occurrence's workspace (the one of its first occurrence; none matches
// none) and no version 2 report for the error exists yet. Occurrences in
// other workspaces start their own reports at once, which is the point of
// the change. A version 1 report that falls out of its window is never
// joined again, so the fallback dies out one window after the last storm
// that began before the upgrade.
//
// Capture and CaptureHandler let a Go program report its own errors, panics
// and 5xx responses as auto:server reports. CaptureHandler keys a report on
// the route pattern and the kind of failure, not the literal path, and does
// not file 503s, which are deliberate answers about the service's state.
//
// # Data hygiene
//
// Text fields have the limits of the reference system (title 500 characters,
// description and errorMessage 10,000, errorStack 50,000, errorCode 100), the
// JSON fields are bounded too (MaxJSONBytes), and every key of context,
// metadata and userJourney that looks like a secret (IsSecretKey) has its
// value replaced by "[REDACTED]" before it is stored.
package bugs
