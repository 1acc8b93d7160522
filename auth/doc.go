// Package auth is bugflow's one identity model, behind the sign-in flows of
// all five API documents: users with a role (admin or user) and optional
// domain roles; sign-in by emailed one-time code, by password (argon2id) or
// by API key; sessions (opaque 256-bit tokens, sliding for the admin
// cookie); admin user management with key rotation; optional bearer JWTs
// (HS256, RS256, ES256) from an identity service the embedder already runs;
// personal tracker tokens encrypted at rest; guest usernames, the names a
// request states without signing in (seeds/001's username cookie), which
// never stand for an account; and the mail transports (log, .eml files,
// SMTP) that deliver the codes.
//
// Secrets bugflow issues are stored only as SHA-256 digests and compared in
// constant time. Service is usable without HTTP (see the example); the
// reference server maps its errors to each API family's dialect.
package auth
