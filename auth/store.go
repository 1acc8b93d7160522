package auth

import (
	"context"
	"errors"
	"time"
)

// Store is what the Service needs of storage. NewBunStore implements it on
// SQLite and PostgreSQL.
type Store interface {
	UserStore
	RoleStore
	SessionStore
	OTPStore
}

// Credentials are the secrets of a user as stored: digests and hashes only.
type Credentials struct {
	PasswordHash string // argon2id, PHC format; "" for none
	APIKeyDigest string // SHA-256 of the API key; "" for none
}

// UserKey selects one user by exactly one of its unique fields.
type UserKey struct {
	ID           string
	Email        string // normalised (lower case)
	Username     string // compared case-insensitively
	APIKeyDigest string
}

// TrackerTokens are a user's personal GitHub and Jira credentials, the
// tokens sealed (encrypted) by the Service.
type TrackerTokens struct {
	GitHubTokenSealed string
	JiraEmail         string
	JiraTokenSealed   string
}

// ErrLastAdmin is the UserStore's refusal to demote or delete the only
// admin.
var ErrLastAdmin = errors.New("auth: no other admin would remain")

// UserStore keeps users. Lookups of a missing user return an errs.NotFound
// error; creating a duplicate email or username returns errs.Conflict.
type UserStore interface {
	CreateUser(ctx context.Context, u User, c Credentials) error
	User(ctx context.Context, key UserKey) (User, Credentials, error)
	// ClaimGuest turns the guest with u.ID into the account u (profile,
	// role) with credentials c, and drops the tracker tokens
	// that anyone could have saved for the guest. It returns errs.NotFound
	// when u.ID is not a guest (any more).
	ClaimGuest(ctx context.Context, u User, c Credentials) error
	// TouchUser records that the user was seen at t, and nothing else.
	TouchUser(ctx context.Context, userID string, t time.Time) error
	SetCredentials(ctx context.Context, userID string, c Credentials) error
	// SetRole gives the user role and the API key digest apiKeyDigest (""
	// for none), and ends its sessions when it loses the admin role. Taking
	// the role from the last admin fails with ErrLastAdmin; the check and
	// the change are atomic, so concurrent demotions cannot remove every
	// admin.
	SetRole(ctx context.Context, userID string, role Role, apiKeyDigest string) error
	// DeleteUser removes the user with its sessions and tokens. Deleting
	// the last admin fails with ErrLastAdmin, atomically as in SetRole.
	DeleteUser(ctx context.Context, userID string) error
	ListUsers(ctx context.Context) ([]User, error)
	TrackerTokens(ctx context.Context, userID string) (TrackerTokens, error)
	// SetTrackerTokens replaces the user's tokens, stamped with time at.
	SetTrackerTokens(ctx context.Context, userID string, t TrackerTokens, at time.Time) error
}

// RoleStore keeps roles and who holds them. A missing role or user is an
// errs.NotFound error; a role name taken in any case is errs.Conflict.
type RoleStore interface {
	// Atomically runs fn with a Store whose every call is part of one
	// transaction (internal/store.RunInTx, so it joins one that ctx
	// carries and an audit event written with fn's ctx joins it),
	// committed when fn returns nil and rolled back otherwise.
	Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error
	// CreateRole stores r and returns it with its new ID.
	CreateRole(ctx context.Context, r DomainRole) (DomainRole, error)
	Role(ctx context.Context, id int64) (DomainRole, error)
	// RolesByName returns the roles named any of names, in any case, by id;
	// names that are no role's are left out.
	RolesByName(ctx context.Context, names []string) ([]DomainRole, error)
	// ListRoles returns at most limit roles (0: all) after the first
	// offset, by id, and the number of roles.
	ListRoles(ctx context.Context, limit, offset int) ([]DomainRole, int, error)
	// AddRoleMember makes userID hold roleID by source at time at, and
	// reports whether the membership is new. An existing membership is kept,
	// with its source becoming SourceAdmin when source is.
	AddRoleMember(ctx context.Context, roleID int64, userID string, source MembershipSource, at time.Time) (bool, error)
	// RemoveRoleMember ends a membership and reports whether there was one.
	RemoveRoleMember(ctx context.Context, roleID int64, userID string) (bool, error)
	// RoleMembers returns at most limit (0: all) members of roleID after
	// the first offset, ordered by user id, and the number of members.
	RoleMembers(ctx context.Context, roleID int64, limit, offset int) ([]RoleMember, int, error)
	// UserRoles returns the roles userID holds, by name.
	UserRoles(ctx context.Context, userID string) ([]DomainRole, error)
	// SyncClaimedRoles makes roleIDs exactly the roles userID holds by
	// SourceJWT, keeping its SourceAdmin memberships, and returns the names
	// of every role it holds after that. It writes only when something
	// changes.
	SyncClaimedRoles(ctx context.Context, userID string, roleIDs []int64, at time.Time) ([]string, error)
}

// Session is a stored sign-in session; only the digest of its id is kept.
type Session struct {
	Digest string
	// UserID is "" for a bootstrap admin session.
	UserID string
	// Sliding sessions are extended on use (the analysis admin cookie).
	Sliding   bool
	ExpiresAt time.Time
	CreatedAt time.Time
}

// SessionStore keeps sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session with digest, expired or not.
	Session(ctx context.Context, digest string) (Session, error)
	ExtendSession(ctx context.Context, digest string, expiresAt time.Time) error
	DeleteSession(ctx context.Context, digest string) error
	// DeleteUserSessions ends every session of a user; bootstrap admin
	// sessions are ended with userID "".
	DeleteUserSessions(ctx context.Context, userID string) error
	// DeleteExpiredSessions removes sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int, error)
}

// OTPCode is a stored email sign-in code; only its digest is kept.
type OTPCode struct {
	Email     string
	Salt      string
	Digest    string
	Attempts  int
	ExpiresAt time.Time
	CreatedAt time.Time
}

// OTPStore keeps one pending code per email.
type OTPStore interface {
	// PutOTP stores c, replacing an earlier code for the same email only if
	// that one was created at or before notAfter. When a newer code exists
	// (the caller asked too soon) it stores nothing and returns false with
	// that code's creation time.
	PutOTP(ctx context.Context, c OTPCode, notAfter time.Time) (stored bool, existingCreatedAt time.Time, err error)
	// CountOTPAttempt adds one to the attempts of email's code and returns
	// the code as it is after that, or errs.NotFound when there is none.
	CountOTPAttempt(ctx context.Context, email string) (OTPCode, error)
	// DeleteOTP removes email's code if its digest is digest ("" matches any)
	// and reports whether it did; of two concurrent sign-ins with the right
	// code only one sees true.
	DeleteOTP(ctx context.Context, email, digest string) (bool, error)
	// DeleteExpiredOTP removes the codes that expired before t and
	// returns how many went.
	DeleteExpiredOTP(ctx context.Context, t time.Time) (int, error)
}
