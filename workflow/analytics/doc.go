// Package analytics computes the workflow and ticket analytics of seeds/004
// (the /analytics/ endpoints): volume trends, ticket and task KPIs, workflow,
// step, user and transfer performance, operational insights, forecasts and
// drill-downs.
//
// Every count, sum, average and time bucket is computed by the database in
// one aggregate query per figure (GROUP BY, per-dialect day and week
// truncation, window functions), so an answer costs the same memory on a
// thousand tickets as on a million: the Go side only walks the few rows an
// aggregate returns. What is then derived from those aggregates (rates,
// shares, averages, risk scores, forecasts) is a plain Go function in
// formulas.go whose doc comment states its formula.
//
// The package reads the tables of packages workflow and tickets; it writes
// nothing. SLA compliance follows workflow.Service.SLACompliance: a task that
// is not resolved is open until its target passes and breached after, never
// "met".
//
// Every method takes a Filter: the time range [From, To) and optionally a
// workflow, a department (the workflow's, for tasks; the ticket's, for
// tickets) and a priority. ParseFilter reads one from a query string.
package analytics
