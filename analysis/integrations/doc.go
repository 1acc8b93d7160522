// Package integrations holds the small HTTP clients bugflow's failure
// analysis uses to talk to other systems: GitHub and Jira (Cloud REST v3
// and Server/Data Center v2).
//
// Every client sends through one transport built on go-retryablehttp:
// answers 429 and 5xx are retried with backoff, honouring Retry-After (a
// wait longer than the client's ceiling is not waited out: the call fails
// instead); each attempt has a timeout; every response body is read through
// a size cap; the caller's context cancels the call at any point. Requests
// that create something are retried only on 429, which says the request was
// not processed, so that an issue is never filed twice.
//
// Secrets (tokens, passwords, Jira e-mail and token pairs) travel only in
// request headers. No error message, log line or returned value carries
// them: the transport logs nothing, errors name the system, the method and
// the path, never the URL's query or credentials, and any text that comes
// back from the other system is scrubbed of the client's secrets before it
// is put into an error.
package integrations
