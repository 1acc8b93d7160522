package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Defaults for Config's zero values.
const (
	DefaultOTPTTL          = 10 * time.Minute
	DefaultOTPResendWait   = 60 * time.Second
	DefaultOTPMaxAttempts  = 5
	DefaultSessionTTL      = 7 * 24 * time.Hour
	DefaultAdminSessionTTL = 8 * time.Hour
)

// lastSeenEvery throttles last-seen writes: a busy client would otherwise
// write to the users table on every request.
const lastSeenEvery = 5 * time.Minute

// maxTokenLength bounds what Authenticate looks at.
const maxTokenLength = 8192

// Config configures a Service. The zero value works: codes go to the log,
// there is no bootstrap admin, no JWT, and personal tracker tokens cannot be
// stored (they need SecretKey).
type Config struct {
	// Audit records changes of role memberships, inside their
	// transaction. Nil records nothing.
	Audit Auditor
	// Mailer sends sign-in codes. Default a LogMailer on Logger.
	Mailer Mailer
	// AdminKey is the bootstrap administrator key (user "admin"); "" for none.
	AdminKey string
	// SecretKey encrypts personal tracker tokens at rest (AES-256-GCM under
	// a key derived from it). "" disables storing them.
	SecretKey string
	// JWT, when set, accepts bearer JWTs signed by its key.
	JWT *JWTConfig
	// DisableGuestUsernames turns guest usernames off: Guest then refuses
	// every name, so that only signed-in users have a username context.
	DisableGuestUsernames bool
	// OTPTTL is how long a sign-in code is valid. Default 10 min.
	OTPTTL time.Duration
	// OTPResendWait is the wait between two codes for one email. Default 60 s.
	OTPResendWait time.Duration
	// OTPMaxAttempts is how many wrong codes end a code. Default 5.
	OTPMaxAttempts int
	// SessionTTL is the lifetime of sessions from /signin and /login.
	// Default 7 days.
	SessionTTL time.Duration
	// AdminSessionTTL is the sliding lifetime of the analysis API's admin
	// cookie session: each use extends it. Default 8 h.
	AdminSessionTTL time.Duration
	// IdentityCacheTTL is how long Authenticate reuses an API key's or a
	// session's identity instead of reading it again. Default
	// DefaultIdentityCacheTTL (1 s); negative turns the cache off. A key
	// revoked or a session ended through another process (replica) keeps
	// working here for at most this long; through this one, it stops at once.
	IdentityCacheTTL time.Duration
	// Logger receives the service's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the service's clock, read for every time it records. Default
	// time.Now; readings are used in UTC, truncated to microseconds.
	Now func() time.Time
}

// Service is bugflow's identity model: users, sign-in by email code,
// password or API key, sessions, JWTs and administration. It is safe for
// concurrent use.
type Service struct {
	store  Store
	cfg    Config
	sealer *sealer
	jwt    *jwtVerifier
	// adminKeyDigest is the digest of the bootstrap key, compared in
	// constant time; "" when there is none.
	adminKeyDigest string
	// ids caches API-key and session identities (see IdentityCacheTTL).
	ids *identityCache
}

// New returns a Service on st with cfg's settings.
func New(st Store, cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Mailer == nil {
		cfg.Mailer = &LogMailer{Logger: cfg.Logger}
	}
	cfg.Now = store.Clock(cfg.Now)
	setDefault(&cfg.OTPTTL, DefaultOTPTTL)
	setDefault(&cfg.OTPResendWait, DefaultOTPResendWait)
	setDefault(&cfg.SessionTTL, DefaultSessionTTL)
	setDefault(&cfg.AdminSessionTTL, DefaultAdminSessionTTL)
	if cfg.IdentityCacheTTL == 0 {
		cfg.IdentityCacheTTL = DefaultIdentityCacheTTL
	}
	if cfg.OTPMaxAttempts <= 0 {
		cfg.OTPMaxAttempts = DefaultOTPMaxAttempts
	}
	s := &Service{store: st, cfg: cfg, ids: newIdentityCache(cfg.IdentityCacheTTL)}
	if cfg.AdminKey != "" {
		if err := CheckAPIKey(cfg.AdminKey); err != nil {
			return nil, fmt.Errorf("auth: admin key: %w", err)
		}
		s.adminKeyDigest = digest(cfg.AdminKey)
	}
	if cfg.SecretKey != "" {
		sl, err := newSealer(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("auth: secret key: %w", err)
		}
		s.sealer = sl
	}
	if cfg.JWT != nil {
		v, err := newJWTVerifier(*cfg.JWT)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		s.jwt = v
	}
	return s, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// SignIn is a new session.
type SignIn struct {
	// Token is the session id: the bearer secret. Only its digest is stored.
	Token     string
	ExpiresAt time.Time
	User      User
}

// RequestOTP sends a fresh six-digit sign-in code to email and returns how
// long the caller must wait before asking again. Asking sooner is a
// RateLimited error whose RetryAfter says how long is left. Unknown emails
// get a code too: the first successful sign-in creates the user, and the
// answer never reveals whether an account exists.
func (s *Service) RequestOTP(ctx context.Context, email string) (time.Duration, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	now := s.now()
	code := newOTP()
	salt := newToken("")
	c := OTPCode{Email: email, Salt: salt, Digest: otpDigest(salt, email, code), CreatedAt: now, ExpiresAt: now.Add(s.cfg.OTPTTL)}
	stored, existing, err := s.store.PutOTP(ctx, c, now.Add(-s.cfg.OTPResendWait))
	if err != nil {
		return 0, err
	}
	if !stored {
		wait := existing.Add(s.cfg.OTPResendWait).Sub(now)
		return 0, errs.RateLimitedf(wait, "a code was sent to this address less than %d seconds ago; wait before asking again", int(s.cfg.OTPResendWait.Seconds()))
	}
	msg := Message{
		To:      email,
		Subject: "Your bugflow sign-in code: " + code,
		Text: fmt.Sprintf("Your bugflow sign-in code is %s.\n\n"+
			"It expires in %d minutes (at %s UTC) and can be used once.\n"+
			"If you did not ask for it, ignore this message.\n",
			code, int(s.cfg.OTPTTL.Minutes()), c.ExpiresAt.Format("15:04")),
	}
	if err := s.cfg.Mailer.Send(ctx, msg); err != nil {
		// Withdraw the code so that the caller can retry at once.
		if _, derr := s.store.DeleteOTP(context.WithoutCancel(ctx), email, c.Digest); derr != nil {
			s.cfg.Logger.WarnContext(ctx, "auth: withdraw unsent sign-in code", "error", derr)
		}
		return 0, errs.Wrap(errs.Unavailable, err, "the sign-in code could not be sent; try again later")
	}
	return s.cfg.OTPResendWait, nil
}

// SignInWithOTP exchanges a sign-in code for a session. A wrong code is
// Unauthorized, and after OTPMaxAttempts wrong codes the code is dead; an
// expired code is Gone. The first successful sign-in of an email creates
// its user.
func (s *Service) SignInWithOTP(ctx context.Context, email, code string) (SignIn, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return SignIn{}, err
	}
	c, err := s.store.CountOTPAttempt(ctx, email)
	if errors.Is(err, errs.ErrNotFound) {
		return SignIn{}, errs.Unauthorizedf("invalid code: request a new one")
	}
	if err != nil {
		return SignIn{}, err
	}
	now := s.now()
	if !now.Before(c.ExpiresAt) {
		_, _ = s.store.DeleteOTP(ctx, email, c.Digest)
		return SignIn{}, errs.Gonef("the code has expired: request a new one")
	}
	if c.Attempts > s.cfg.OTPMaxAttempts {
		_, _ = s.store.DeleteOTP(ctx, email, c.Digest)
		return SignIn{}, errs.Unauthorizedf("too many wrong codes: request a new one")
	}
	if !sameDigest(otpDigest(c.Salt, email, strings.TrimSpace(code)), c.Digest) {
		if c.Attempts >= s.cfg.OTPMaxAttempts {
			_, _ = s.store.DeleteOTP(ctx, email, c.Digest)
			return SignIn{}, errs.Unauthorizedf("wrong code; that was the last try: request a new one")
		}
		return SignIn{}, errs.Unauthorizedf("wrong code; %d tries left", s.cfg.OTPMaxAttempts-c.Attempts)
	}
	// Deleting the row is what spends the code: of two concurrent sign-ins
	// with the right code, only one deletes it.
	if ok, err := s.store.DeleteOTP(ctx, email, c.Digest); err != nil {
		return SignIn{}, err
	} else if !ok {
		return SignIn{}, errs.Unauthorizedf("invalid code: request a new one")
	}
	u, err := s.userByEmailOrCreate(ctx, email)
	if err != nil {
		return SignIn{}, err
	}
	return s.startSession(ctx, u, false)
}

func (s *Service) userByEmailOrCreate(ctx context.Context, email string) (User, error) {
	u, _, err := s.store.User(ctx, UserKey{Email: email})
	if !errors.Is(err, errs.ErrNotFound) {
		return u, err
	}
	u, err = s.createWithDerivedUsername(ctx, User{ID: uuid.NewString(), Email: email, Role: RoleUser, CreatedAt: s.now()})
	if errors.Is(err, errs.ErrConflict) {
		// Created by a concurrent sign-in of the same email.
		u, _, err = s.store.User(ctx, UserKey{Email: email})
	}
	return u, err
}

// startSession creates a session for u (the bootstrap admin when u.ID is
// ""). Sliding sessions use AdminSessionTTL and are extended on use.
func (s *Service) startSession(ctx context.Context, u User, sliding bool) (SignIn, error) {
	now := s.now()
	ttl := s.cfg.SessionTTL
	if sliding {
		ttl = s.cfg.AdminSessionTTL
	}
	token := newToken("")
	sess := Session{Digest: digest(token), UserID: u.ID, Sliding: sliding, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return SignIn{}, err
	}
	s.touch(ctx, &u, now)
	return SignIn{Token: token, ExpiresAt: sess.ExpiresAt, User: u}, nil
}

// touch records that u was seen, at most every lastSeenEvery.
func (s *Service) touch(ctx context.Context, u *User, now time.Time) {
	if u.ID == "" || (u.LastSeen != nil && now.Sub(*u.LastSeen) < lastSeenEvery) {
		return
	}
	u.LastSeen = &now
	if err := s.store.TouchUser(ctx, u.ID, now); err != nil {
		s.cfg.Logger.WarnContext(ctx, "auth: record last seen", "error", err)
	}
}

// VerifySession reports whether token is a live session, and when it expires.
func (s *Service) VerifySession(ctx context.Context, token string) (bool, time.Time, error) {
	if token == "" || len(token) > maxTokenLength {
		return false, time.Time{}, nil
	}
	sess, err := s.store.Session(ctx, digest(token))
	if errors.Is(err, errs.ErrNotFound) {
		return false, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, err
	}
	if !s.now().Before(sess.ExpiresAt) {
		return false, sess.ExpiresAt, nil
	}
	return true, sess.ExpiresAt, nil
}

// Registration is a password sign-up.
type Registration struct {
	Username string
	Password string
	Name     string
	Lastname string
}

// Register creates a user with a password. A username taken by an account
// is Invalid (seeds/003 answers 400); a guest's username is claimed.
func (s *Service) Register(ctx context.Context, r Registration) (User, error) {
	var problems []error
	problems = append(problems, checkUsername(r.Username), checkPassword(r.Password),
		checkName("name", r.Name), checkName("lastname", r.Lastname))
	if err := joinInvalid(problems...); err != nil {
		return User{}, err
	}
	u := User{ID: uuid.NewString(), Username: r.Username, Name: r.Name, Lastname: r.Lastname, Role: RoleUser, CreatedAt: s.now()}
	err := s.createAccount(ctx, &u, Credentials{PasswordHash: hashPassword(r.Password)})
	if errors.Is(err, errs.ErrConflict) {
		return User{}, errs.Invalidf("username already exists")
	}
	if err != nil {
		return User{}, err
	}
	u.HasPassword = true
	return u, nil
}

// joinInvalid merges field problems into one Invalid error, or nil.
func joinInvalid(problems ...error) error {
	var out *errs.Error
	for _, p := range problems {
		e := errs.As(p)
		if e == nil {
			continue
		}
		if out == nil {
			out = errs.Invalidf("invalid input")
		}
		for _, f := range e.FieldNames() {
			for _, m := range e.Fields[f] {
				out = out.WithField(f, m)
			}
		}
	}
	if out == nil {
		return nil
	}
	var msgs []string
	for _, f := range out.FieldNames() {
		msgs = append(msgs, f+": "+strings.Join(out.Fields[f], "; "))
	}
	out.Message = strings.Join(msgs, ", ")
	return out
}

// Login exchanges a username and password for a session. Whether the
// username exists or not, a failure costs one argon2id hash and says only
// "invalid credentials".
func (s *Service) Login(ctx context.Context, username, password string) (SignIn, error) {
	fail := errs.Unauthorizedf("invalid credentials")
	if len(password) > MaxPasswordLength || len(username) > 100 || !store.ValidText(username) {
		return SignIn{}, fail
	}
	u, cred, err := s.store.User(ctx, UserKey{Username: username})
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return SignIn{}, err
	}
	hash := cred.PasswordHash
	if hash == "" {
		hash = dummyPasswordHash
	}
	ok, verr := verifyPassword(hash, password)
	if verr != nil {
		s.cfg.Logger.ErrorContext(ctx, "auth: stored password hash unreadable", "user_id", u.ID, "error", verr)
	}
	if !ok || cred.PasswordHash == "" {
		return SignIn{}, fail
	}
	return s.startSession(ctx, u, false)
}

// AdminLogin exchanges an API key for a sliding admin session: username
// "admin" with the bootstrap key, or an admin user with its own key.
func (s *Service) AdminLogin(ctx context.Context, username, apiKey string) (SignIn, error) {
	fail := errs.Unauthorizedf("invalid credentials")
	if apiKey == "" || len(apiKey) > MaxAPIKeyLength || !store.ValidText(username) {
		return SignIn{}, fail
	}
	if username == ReservedUsername {
		if s.adminKeyDigest == "" || !sameDigest(digest(apiKey), s.adminKeyDigest) {
			return SignIn{}, fail
		}
		return s.startSession(ctx, bootstrapAdmin(), true)
	}
	u, cred, err := s.store.User(ctx, UserKey{Username: username})
	if errors.Is(err, errs.ErrNotFound) {
		return SignIn{}, fail
	}
	if err != nil {
		return SignIn{}, err
	}
	if u.Role != RoleAdmin || cred.APIKeyDigest == "" || !sameDigest(digest(apiKey), cred.APIKeyDigest) {
		return SignIn{}, fail
	}
	return s.startSession(ctx, u, true)
}

func bootstrapAdmin() User { return User{Username: ReservedUsername, Role: RoleAdmin} }

// Logout ends the session token names; an unknown token is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" || len(token) > maxTokenLength {
		return nil
	}
	defer s.ids.clear()
	return s.store.DeleteSession(ctx, digest(token))
}

// Authenticate identifies the bearer of token: a session id, an admin
// user's API key, the bootstrap admin key or (when configured) a JWT. Any
// other token is Unauthorized.
func (s *Service) Authenticate(ctx context.Context, token string) (*Identity, error) {
	if token == "" || len(token) > maxTokenLength {
		return nil, errs.Unauthorizedf("invalid credentials")
	}
	d := digest(token)
	if s.adminKeyDigest != "" && sameDigest(d, s.adminKeyDigest) {
		return &Identity{User: bootstrapAdmin(), Method: MethodBootstrap}, nil
	}
	if s.jwt != nil && looksLikeJWT(token) {
		return s.authenticateJWT(ctx, token)
	}
	now := s.now()
	if id, ok := s.ids.get(d, now); ok {
		return id, nil
	}
	gen := s.ids.generation()
	id, err := s.lookup(ctx, d)
	if err != nil {
		return nil, err
	}
	s.ids.put(d, id, now, gen)
	return id, nil
}

// lookup identifies the bearer of a session or API key by its digest.
func (s *Service) lookup(ctx context.Context, d string) (*Identity, error) {
	sess, err := s.store.Session(ctx, d)
	if err == nil {
		return s.sessionIdentity(ctx, sess)
	}
	if !errors.Is(err, errs.ErrNotFound) {
		return nil, err
	}
	u, _, err := s.store.User(ctx, UserKey{APIKeyDigest: d})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.Unauthorizedf("invalid credentials")
	}
	if err != nil {
		return nil, err
	}
	s.touch(ctx, &u, s.now())
	return &Identity{User: u, Method: MethodAPIKey}, nil
}

func (s *Service) sessionIdentity(ctx context.Context, sess Session) (*Identity, error) {
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		return nil, errs.Unauthorizedf("session expired: sign in again")
	}
	if sess.Sliding && sess.ExpiresAt.Sub(now) < s.cfg.AdminSessionTTL-time.Minute {
		// Extending at most once a minute keeps reads from becoming writes.
		sess.ExpiresAt = now.Add(s.cfg.AdminSessionTTL)
		if err := s.store.ExtendSession(ctx, sess.Digest, sess.ExpiresAt); err != nil {
			return nil, err
		}
	}
	if sess.UserID == "" {
		return &Identity{User: bootstrapAdmin(), Method: MethodSession, SessionExpiresAt: sess.ExpiresAt}, nil
	}
	u, _, err := s.store.User(ctx, UserKey{ID: sess.UserID})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.Unauthorizedf("invalid credentials")
	}
	if err != nil {
		return nil, err
	}
	s.touch(ctx, &u, now)
	return &Identity{User: u, Method: MethodSession, SessionExpiresAt: sess.ExpiresAt}, nil
}

// authenticateJWT maps a verified token's claims to a stored user (found by
// username, else by email, else created), with the role the token grants
// and the domain roles it claims that are bugflow's (see syncClaimedRoles),
// besides those an admin granted: the issuer is the authority on the roles
// it claims.
func (s *Service) authenticateJWT(ctx context.Context, token string) (*Identity, error) {
	claims, err := s.jwt.verify(token)
	if err != nil {
		return nil, errs.Wrap(errs.Unauthorized, err, "invalid token")
	}
	email := ""
	if claims.Email != "" {
		if email, err = NormalizeEmail(claims.Email); err != nil {
			return nil, errs.Unauthorizedf("invalid token: bad email claim")
		}
	}
	username := claims.username()
	if username != "" && !ValidUsername(username) {
		return nil, errs.Unauthorizedf("invalid token: username claim does not follow the username rules")
	}
	var u User
	switch {
	case username != "":
		u, _, err = s.store.User(ctx, UserKey{Username: username})
	default:
		u, _, err = s.store.User(ctx, UserKey{Email: email})
	}
	name := claims.GivenName
	if name == "" {
		name = claims.Name
	}
	switch {
	case errors.Is(err, errs.ErrNotFound) && username == "":
		u, err = s.createWithDerivedUsername(ctx, User{ID: uuid.NewString(), Email: email, Name: name, Lastname: claims.FamilyName, Role: RoleUser, CreatedAt: s.now()})
	case errors.Is(err, errs.ErrNotFound):
		u = User{ID: uuid.NewString(), Username: username, Email: email, Name: name, Lastname: claims.FamilyName, Role: RoleUser, CreatedAt: s.now()}
		err = s.store.CreateUser(ctx, u, Credentials{})
	case err == nil && u.Guest:
		// The issuer vouches for the name: its user claims the guest.
		u.Email, u.Name, u.Lastname, u.Guest = email, name, claims.FamilyName, false
		err = s.claim(ctx, u, Credentials{})
	}
	if errors.Is(err, errs.ErrConflict) {
		// A concurrent first request of the same user, or an email
		// already used by another local account.
		return nil, errs.Unauthorizedf("invalid token: its user clashes with an existing account")
	}
	if err != nil {
		return nil, err
	}
	if claims.isAdmin() {
		u.Role = RoleAdmin
	} else {
		u.Role = RoleUser
	}
	if u.Roles, err = s.syncClaimedRoles(ctx, u.ID, claims.roles()); err != nil {
		return nil, err
	}
	var exp time.Time
	if claims.ExpiresAt != nil {
		exp = claims.ExpiresAt.UTC()
	}
	return &Identity{User: u, Method: MethodJWT, SessionExpiresAt: exp}, nil
}

// User returns the user with id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	u, _, err := s.store.User(ctx, UserKey{ID: id})
	return u, err
}

// UserByUsername returns the user with username (case-insensitive).
func (s *Service) UserByUsername(ctx context.Context, username string) (User, error) {
	u, _, err := s.store.User(ctx, UserKey{Username: username})
	return u, err
}
