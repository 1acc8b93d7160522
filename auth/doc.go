// Package auth will hold users, roles, passwords (argon2id), email one-time
// codes, sessions, API keys, JWT verification and the mail transports: the one
// identity model behind the sign-in flows of all five API documents.
//
// It will follow the domain package pattern of DESIGN.md: model, Service, a
// small Store interface and its bun implementation with migrations. It holds
// no code yet.
package auth
