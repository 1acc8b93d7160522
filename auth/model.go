package auth

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Role is a user's authority in bugflow as a whole.
type Role string

// The two roles. Finer, domain-specific roles (a workflow's "Agent" or the
// TicketCoordinator) are DomainRoles, named in User.Roles.
const (
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// Valid reports whether r is one of the two roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleUser }

// ReservedUsername is the name of the bootstrap administrator, which signs in
// with the configured admin key and can never be a stored user.
const ReservedUsername = "admin"

// User is a person known to bugflow, however they first arrived: an email
// sign-in, a password registration, an admin-created account or a username
// seen on a request.
type User struct {
	ID    string
	Email string // "" when the user never signed in by email
	// Username is unique (case-insensitively). Users who signed up by email
	// get one derived from the email's local part; only an embedder's
	// Authenticator or a JWT without a username or email leaves it "".
	Username string
	Name     string
	Lastname string
	Role     Role
	// Guest marks a username seen in seeds/001's jji_username cookie that
	// no one has signed up for: it has no credentials, and any request
	// naming it may act as it (see Service.Guest). An account is never a
	// guest; the first sign-up with a guest's name claims the name.
	Guest bool
	// Roles are the names of the DomainRoles the user holds (e.g. "Ticket
	// Coordinator"), beyond Role, in name order. Stores fill it on reads;
	// memberships change only through the role methods.
	Roles       []string
	HasPassword bool
	HasAPIKey   bool
	CreatedAt   time.Time
	LastSeen    *time.Time
}

// Method says how a request proved who it is.
type Method string

// The authentication methods.
const (
	MethodSession   Method = "session"   // a session id from /signin, /login or /api/auth/login
	MethodAPIKey    Method = "api_key"   // an admin user's API key
	MethodBootstrap Method = "bootstrap" // the configured bootstrap admin key
	MethodJWT       Method = "jwt"       // a bearer JWT signed by the configured key
	MethodExternal  Method = "external"  // an embedder's Authenticator
)

// Identity is an authenticated caller.
type Identity struct {
	// User is the stored user. For the bootstrap admin it is a synthetic
	// user with ID "" and Username "admin".
	User   User
	Method Method
	// SessionExpiresAt is the expiry of the session used, if any.
	SessionExpiresAt time.Time
}

// IsAdmin reports whether the caller holds the admin role.
func (id *Identity) IsAdmin() bool { return id != nil && id.User.Role == RoleAdmin }

// HasRole reports whether the caller holds role, either as its Role or among
// its domain Roles. Role names compare case-insensitively.
func (id *Identity) HasRole(role string) bool {
	if id == nil {
		return false
	}
	if strings.EqualFold(string(id.User.Role), role) {
		return true
	}
	return slices.ContainsFunc(id.User.Roles, func(r string) bool { return strings.EqualFold(r, role) })
}

// Limits on user-supplied identity fields.
const (
	MaxEmailLength    = 254
	MinPasswordLength = 8
	// MaxPasswordLength bounds the work one login can cost the server.
	MaxPasswordLength = 256
	MaxNameLength     = 100
	MinAPIKeyLength   = 16
	MaxAPIKeyLength   = 256
	maxRoleNameLength = 100
)

// usernamePattern is seeds/001's rule: 2-50 characters, starting with a letter
// or digit, then letters, digits, '.', '_' or '-'.
var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,49}$`)

// ValidUsername reports whether name follows the username rules.
func ValidUsername(name string) bool { return usernamePattern.MatchString(name) }

// checkUsername returns an Invalid error for a bad or reserved username.
func checkUsername(name string) error {
	if !ValidUsername(name) {
		return errs.InvalidField("username", "must be 2-50 characters, start with a letter or digit, and use only letters, digits, '.', '_' or '-'")
	}
	if strings.EqualFold(name, ReservedUsername) {
		return errs.InvalidField("username", `"admin" is reserved`)
	}
	return nil
}

// NormalizeEmail validates an email address and returns it trimmed and
// lower-cased, so that one mailbox is one user however it is typed.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", errs.InvalidField("email", "is required")
	}
	if len(email) > MaxEmailLength {
		return "", errs.InvalidField("email", "is too long")
	}
	addr, err := mail.ParseAddress(email)
	// ParseAddress accepts "Name <a@b>"; only a bare address is an email here.
	if err != nil || addr.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return "", errs.InvalidField("email", "is not a valid email address")
	}
	return strings.ToLower(email), nil
}

func checkPassword(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLength:
		return errs.InvalidField("password", "must be at least 8 characters")
	case len(pw) > MaxPasswordLength:
		return errs.InvalidField("password", "must be at most 256 bytes")
	}
	return nil
}

func checkName(field, v string) error {
	if err := store.CheckText(field, v); err != nil {
		return err
	}
	if utf8.RuneCountInString(v) > MaxNameLength {
		return errs.InvalidField(field, "must be at most 100 characters")
	}
	return nil
}

// CheckAPIKey returns an Invalid error for a key that is too short or too
// long to be an API key.
func CheckAPIKey(key string) error {
	switch {
	case len(key) < MinAPIKeyLength:
		return errs.Invalidf("API key must be at least %d characters", MinAPIKeyLength)
	case len(key) > MaxAPIKeyLength:
		return errs.Invalidf("API key must be at most %d characters", MaxAPIKeyLength)
	}
	return nil
}
