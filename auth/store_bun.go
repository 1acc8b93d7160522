package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

type userRow struct {
	userRowV1 `bun:",extend"`
	Guest     bool `bun:"guest,notnull"`
}

// userRowV1 is auth_users as the first migration created it. That migration
// keeps creating exactly this, so that each later column is added by its own
// migration on every database, old or new.
type userRowV1 struct {
	bun.BaseModel `bun:"table:auth_users"`

	ID           string     `bun:"id,pk"`
	Email        string     `bun:"email,nullzero"`
	Username     string     `bun:"username,nullzero"`
	Name         string     `bun:"name,notnull"`
	Lastname     string     `bun:"lastname,notnull"`
	Role         string     `bun:"role,notnull"`
	PasswordHash string     `bun:"password_hash,nullzero"`
	APIKeyDigest string     `bun:"api_key_digest,nullzero"`
	CreatedAt    time.Time  `bun:"created_at,notnull"`
	LastSeen     *time.Time `bun:"last_seen"`
}

type roleRow struct {
	bun.BaseModel `bun:"table:auth_roles,alias:r"`

	ID   int64  `bun:"id,pk,autoincrement"`
	Name string `bun:"name,notnull"`
	// NameKey is roleNameKey(Name), unique: what makes names the same.
	NameKey     string    `bun:"name_key,notnull"`
	Description string    `bun:"description,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

type roleMemberRow struct {
	bun.BaseModel `bun:"table:auth_role_members,alias:m"`

	RoleID    int64     `bun:"role_id,pk"`
	UserID    string    `bun:"user_id,pk"`
	Source    string    `bun:"source,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

type trackerTokensRow struct {
	bun.BaseModel `bun:"table:auth_tracker_tokens"`

	UserID      string    `bun:"user_id,pk"`
	GitHubToken string    `bun:"github_token,notnull"`
	JiraEmail   string    `bun:"jira_email,notnull"`
	JiraToken   string    `bun:"jira_token,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

type sessionRow struct {
	bun.BaseModel `bun:"table:auth_sessions"`

	Digest    string    `bun:"digest,pk"`
	UserID    string    `bun:"user_id,nullzero"`
	Sliding   bool      `bun:"sliding,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

type otpRow struct {
	bun.BaseModel `bun:"table:auth_otp_codes,alias:otp"`

	Email     string    `bun:"email,pk"`
	Salt      string    `bun:"salt,notnull"`
	Digest    string    `bun:"digest,notnull"`
	Attempts  int       `bun:"attempts,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// Migrations returns the auth schema. Each migration creates or alters
// tables from its own frozen models (userRowV1 and those local to it), never
// from the row types above.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261123090000",
		Comment: "auth: users, roles, tracker tokens, sessions, sign-in codes",
		Up:      createAuthTables,
	}, {
		ID:      "20261205130000",
		Comment: "auth: guest usernames; users who signed up by email get a username",
		Up: func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE auth_users ADD COLUMN guest BOOLEAN NOT NULL DEFAULT FALSE`); err != nil {
				return err
			}
			return nameEmailUsers(ctx, tx)
		},
	}, {
		ID:      "20261206090000",
		Comment: "auth: roles of their own (Ticket Coordinator among them), memberships by role id",
		Up:      createRoleTables,
	}, {
		ID:      "20261207300200",
		Comment: "auth: sign-in codes by expiry, for the upkeep job that purges them",
		Up: func(ctx context.Context, tx bun.Tx) error {
			return store.CreateIndexes(ctx, tx, store.Index{Table: "auth_otp_codes", Name: "auth_otp_codes_expiry", Columns: []string{"expires_at"}})
		},
	}}
}

// createAuthTables is the first migration, with its models frozen here.
func createAuthTables(ctx context.Context, tx bun.Tx) error {
	type userRoleRowV1 struct {
		bun.BaseModel `bun:"table:auth_user_roles"`

		UserID string `bun:"user_id,pk"`
		Role   string `bun:"role,pk"`
	}
	type trackerTokensRowV1 struct {
		bun.BaseModel `bun:"table:auth_tracker_tokens"`

		UserID      string    `bun:"user_id,pk"`
		GitHubToken string    `bun:"github_token,notnull"`
		JiraEmail   string    `bun:"jira_email,notnull"`
		JiraToken   string    `bun:"jira_token,notnull"`
		UpdatedAt   time.Time `bun:"updated_at,notnull"`
	}
	type sessionRowV1 struct {
		bun.BaseModel `bun:"table:auth_sessions"`

		Digest    string    `bun:"digest,pk"`
		UserID    string    `bun:"user_id,nullzero"`
		Sliding   bool      `bun:"sliding,notnull"`
		ExpiresAt time.Time `bun:"expires_at,notnull"`
		CreatedAt time.Time `bun:"created_at,notnull"`
	}
	type otpRowV1 struct {
		bun.BaseModel `bun:"table:auth_otp_codes,alias:otp"`

		Email     string    `bun:"email,pk"`
		Salt      string    `bun:"salt,notnull"`
		Digest    string    `bun:"digest,notnull"`
		Attempts  int       `bun:"attempts,notnull"`
		ExpiresAt time.Time `bun:"expires_at,notnull"`
		CreatedAt time.Time `bun:"created_at,notnull"`
	}
	const userFK = `("user_id") REFERENCES "auth_users" ("id") ON DELETE CASCADE`
	tables := []struct {
		model any
		fks   []string
	}{
		{(*userRowV1)(nil), nil},
		{(*userRoleRowV1)(nil), []string{userFK}},
		{(*trackerTokensRowV1)(nil), []string{userFK}},
		{(*sessionRowV1)(nil), []string{userFK}},
		{(*otpRowV1)(nil), nil},
	}
	for _, t := range tables {
		q := tx.NewCreateTable().Model(t.model)
		for _, fk := range t.fks {
			q = q.ForeignKey(fk)
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
	}
	return store.CreateIndexes(ctx, tx,
		store.Index{Table: "auth_users", Name: "auth_users_email", Columns: []string{"email"}, Unique: true},
		store.Index{Table: "auth_users", Name: "auth_users_username", Columns: []string{"lower(username)"}, Unique: true},
		store.Index{Table: "auth_users", Name: "auth_users_api_key", Columns: []string{"api_key_digest"}, Unique: true},
		store.Index{Table: "auth_sessions", Name: "auth_sessions_user", Columns: []string{"user_id"}},
		store.Index{Table: "auth_sessions", Name: "auth_sessions_expiry", Columns: []string{"expires_at"}},
	)
}

// createRoleTables replaces the role names of auth_user_roles with roles of
// their own, with their models frozen here. Each distinct name (in any
// case; the first spelling in name order wins) becomes a role its holders
// keep, granted as by an admin. The names of the global roles (admin,
// user) are dropped: HasRole answers for those from the user's Role.
func createRoleTables(ctx context.Context, tx bun.Tx) error {
	type roleRowV1 struct {
		bun.BaseModel `bun:"table:auth_roles"`

		ID          int64     `bun:"id,pk,autoincrement"`
		Name        string    `bun:"name,notnull"`
		NameKey     string    `bun:"name_key,notnull"`
		Description string    `bun:"description,notnull"`
		CreatedAt   time.Time `bun:"created_at,notnull"`
	}
	type roleMemberRowV1 struct {
		bun.BaseModel `bun:"table:auth_role_members"`

		RoleID    int64     `bun:"role_id,pk"`
		UserID    string    `bun:"user_id,pk"`
		Source    string    `bun:"source,notnull"`
		CreatedAt time.Time `bun:"created_at,notnull"`
	}
	if _, err := tx.NewCreateTable().Model((*roleRowV1)(nil)).Exec(ctx); err != nil {
		return err
	}
	_, err := tx.NewCreateTable().Model((*roleMemberRowV1)(nil)).
		ForeignKey(`("role_id") REFERENCES "auth_roles" ("id") ON DELETE CASCADE`).
		ForeignKey(`("user_id") REFERENCES "auth_users" ("id") ON DELETE CASCADE`).
		Exec(ctx)
	if err != nil {
		return err
	}
	err = store.CreateIndexes(ctx, tx,
		store.Index{Table: "auth_roles", Name: "auth_roles_name_key", Columns: []string{"name_key"}, Unique: true},
		store.Index{Table: "auth_role_members", Name: "auth_role_members_user", Columns: []string{"user_id"}},
	)
	if err != nil {
		return err
	}

	var old []struct {
		UserID string `bun:"user_id"`
		Role   string `bun:"role"`
	}
	if err := tx.NewSelect().Table("auth_user_roles").Column("user_id", "role").Order("role", "user_id").Scan(ctx, &old); err != nil {
		return err
	}
	now := store.Now()
	ids := map[string]int64{}
	names := []string{TicketCoordinator}
	for _, m := range old {
		names = append(names, m.Role)
	}
	for _, name := range names {
		key := strings.ToLower(name)
		if _, ok := ids[key]; ok || key == "admin" || key == "user" {
			continue
		}
		row := roleRowV1{Name: name, NameKey: key, CreatedAt: now}
		if name == TicketCoordinator {
			row.Description = "Owns incoming tickets, picked round-robin when a ticket arrives."
		}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return err
		}
		ids[key] = row.ID
	}
	for _, m := range old {
		id, ok := ids[strings.ToLower(m.Role)]
		if !ok {
			continue
		}
		row := roleMemberRowV1{RoleID: id, UserID: m.UserID, Source: "admin", CreatedAt: now}
		if _, err := tx.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE auth_user_roles`)
	return err
}

// nameEmailUsers gives every user with an email and no username the first
// free username derived from the email, as sign-ups by email get one from
// this migration on. Migrating once is cheaper and simpler than naming users
// lazily on every sign-in forever after.
func nameEmailUsers(ctx context.Context, tx bun.Tx) error {
	var users []struct {
		ID    string `bun:"id"`
		Email string `bun:"email"`
	}
	err := tx.NewSelect().Table("auth_users").Column("id", "email").
		Where("username IS NULL").Where("email IS NOT NULL").Order("created_at", "id").Scan(ctx, &users)
	if err != nil {
		return err
	}
	for _, u := range users {
		name, err := freeUsername(ctx, tx, u.Email)
		if err != nil {
			return fmt.Errorf("name user %s: %w", u.ID, err)
		}
		if _, err := tx.NewUpdate().Table("auth_users").Set("username = ?", name).Where("id = ?", u.ID).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// freeUsername returns the first username derived from email that no user
// has.
func freeUsername(ctx context.Context, tx bun.Tx, email string) (string, error) {
	for attempt := 1; attempt <= maxUsernameAttempts; attempt++ {
		name := derivedUsername(email, attempt)
		taken, err := tx.NewSelect().Table("auth_users").Where("lower(username) = ?", strings.ToLower(name)).Exists(ctx)
		if err != nil || !taken {
			return name, err
		}
	}
	return "", fmt.Errorf("no free username after %d attempts", maxUsernameAttempts)
}

// BunStore is the Store on bugflow's database.
type BunStore struct {
	db bun.IDB
}

// NewBunStore returns a Store on db (a *bun.DB or a transaction).
func NewBunStore(db bun.IDB) *BunStore { return &BunStore{db: db} }

var _ Store = (*BunStore)(nil)

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("auth store: %s: %w", op, store.Translate(err))
}

// CreateUser implements UserStore. u.Roles is not stored: memberships are
// the RoleStore's.
func (s *BunStore) CreateUser(ctx context.Context, u User, c Credentials) error {
	row := toUserRow(u, c)
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	return wrap("create user", err)
}

// User implements UserStore.
func (s *BunStore) User(ctx context.Context, key UserKey) (User, Credentials, error) {
	var row userRow
	q := s.db.NewSelect().Model(&row)
	switch {
	case key.ID != "":
		q = q.Where("id = ?", key.ID)
	case key.Email != "":
		q = q.Where("email = ?", key.Email)
	case key.Username != "":
		q = q.Where("lower(username) = ?", strings.ToLower(key.Username))
	case key.APIKeyDigest != "":
		q = q.Where("api_key_digest = ?", key.APIKeyDigest)
	default:
		return User{}, Credentials{}, errs.NotFoundf("user not found")
	}
	if err := store.ScanOne(ctx, q.Limit(1), "user not found"); err != nil {
		return User{}, Credentials{}, wrap("get user", err)
	}
	u := row.user()
	roles, err := s.roles(ctx, u.ID)
	if err != nil {
		return User{}, Credentials{}, err
	}
	u.Roles = roles
	return u, Credentials{PasswordHash: row.PasswordHash, APIKeyDigest: row.APIKeyDigest}, nil
}

// roles returns the names of the roles userID holds, in name order.
func (s *BunStore) roles(ctx context.Context, userID string) ([]string, error) {
	var names []string
	err := s.db.NewSelect().Model((*roleMemberRow)(nil)).ColumnExpr("r.name").
		Join("JOIN auth_roles AS r ON r.id = m.role_id").
		Where("m.user_id = ?", userID).Order("r.name_key").Scan(ctx, &names)
	if len(names) == 0 {
		names = nil
	}
	return names, wrap("get roles", err)
}

// ClaimGuest implements UserStore in one transaction; guests hold no roles,
// so there are none to carry over.
func (s *BunStore) ClaimGuest(ctx context.Context, u User, c Credentials) error {
	u.Guest = false
	row := toUserRow(u, c)
	return wrap("claim guest", s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model(&row).
			Column("email", "username", "name", "lastname", "role", "password_hash", "api_key_digest", "guest").
			WherePK().Where("guest = ?", true)
		if err := store.ExecOne(ctx, q, "no guest %q", u.Username); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*trackerTokensRow)(nil)).Where("user_id = ?", u.ID).Exec(ctx)
		return err
	}))
}

// TouchUser implements UserStore with one small UPDATE: it runs on the
// authentication path, where rewriting the whole user (and its roles) would
// be wasted work.
func (s *BunStore) TouchUser(ctx context.Context, userID string, t time.Time) error {
	_, err := s.db.NewUpdate().Model((*userRow)(nil)).Set("last_seen = ?", t).Where("id = ?", userID).Exec(ctx)
	return wrap("touch user", err)
}

// SetCredentials implements UserStore.
func (s *BunStore) SetCredentials(ctx context.Context, userID string, c Credentials) error {
	row := userRow{userRowV1: userRowV1{ID: userID, PasswordHash: c.PasswordHash, APIKeyDigest: c.APIKeyDigest}}
	q := s.db.NewUpdate().Model(&row).Column("password_hash", "api_key_digest").WherePK()
	return wrap("set credentials", store.ExecOne(ctx, q, "user not found"))
}

// SetRole implements UserStore in one transaction.
func (s *BunStore) SetRole(ctx context.Context, userID string, role Role, apiKeyDigest string) error {
	return wrap("set role", s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if role != RoleAdmin {
			if err := keepAnAdmin(ctx, tx, userID); err != nil {
				return err
			}
		}
		row := userRow{userRowV1: userRowV1{ID: userID, Role: string(role), APIKeyDigest: apiKeyDigest}}
		if err := store.ExecOne(ctx, tx.NewUpdate().Model(&row).Column("role", "api_key_digest").WherePK(), "user not found"); err != nil {
			return err
		}
		if role == RoleAdmin {
			return nil
		}
		_, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("user_id = ?", userID).Exec(ctx)
		return err
	}))
}

// DeleteUser implements UserStore. Foreign keys cascade to roles, tokens and
// sessions.
func (s *BunStore) DeleteUser(ctx context.Context, userID string) error {
	return wrap("delete user", s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := keepAnAdmin(ctx, tx, userID); err != nil {
			return err
		}
		return store.ExecOne(ctx, tx.NewDelete().Model((*userRow)(nil)).Where("id = ?", userID), "user not found")
	}))
}

// keepAnAdmin fails with ErrLastAdmin when userID is the only admin. It
// locks every admin row before counting them (FOR UPDATE on PostgreSQL;
// SQLite transactions begin IMMEDIATE, holding the write lock already), so
// that a concurrent demotion or deletion waits for this transaction and then
// counts without the admin it removed. A count alone would not do: under
// PostgreSQL's READ COMMITTED two transactions would each count the other's
// admin and both go ahead.
func keepAnAdmin(ctx context.Context, tx bun.Tx, userID string) error {
	q := tx.NewSelect().Model((*userRow)(nil)).Column("id").Where("role = ?", string(RoleAdmin)).Order("id")
	if tx.Dialect().Name() == dialect.PG {
		q = q.For("UPDATE")
	}
	var admins []string
	if err := q.Scan(ctx, &admins); err != nil {
		return err
	}
	if len(admins) == 1 && admins[0] == userID {
		return ErrLastAdmin
	}
	return nil
}

// ListUsers implements UserStore, oldest first.
func (s *BunStore) ListUsers(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := s.db.NewSelect().Model(&rows).Order("created_at", "id").Scan(ctx); err != nil {
		return nil, wrap("list users", err)
	}
	var memberships []struct {
		UserID string `bun:"user_id"`
		Name   string `bun:"name"`
	}
	err := s.db.NewSelect().Model((*roleMemberRow)(nil)).ColumnExpr("m.user_id, r.name").
		Join("JOIN auth_roles AS r ON r.id = m.role_id").Order("r.name_key").Scan(ctx, &memberships)
	if err != nil {
		return nil, wrap("list roles", err)
	}
	roles := map[string][]string{}
	for _, m := range memberships {
		roles[m.UserID] = append(roles[m.UserID], m.Name)
	}
	users := make([]User, 0, len(rows))
	for _, row := range rows {
		u := row.user()
		u.Roles = roles[u.ID]
		users = append(users, u)
	}
	return users, nil
}

// TrackerTokens implements UserStore; a user without any gets zero values.
func (s *BunStore) TrackerTokens(ctx context.Context, userID string) (TrackerTokens, error) {
	var row trackerTokensRow
	err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("user_id = ?", userID), "no tracker tokens")
	if errors.Is(err, errs.ErrNotFound) {
		return TrackerTokens{}, nil
	}
	if err != nil {
		return TrackerTokens{}, wrap("get tracker tokens", err)
	}
	return TrackerTokens{GitHubTokenSealed: row.GitHubToken, JiraEmail: row.JiraEmail, JiraTokenSealed: row.JiraToken}, nil
}

// SetTrackerTokens implements UserStore.
func (s *BunStore) SetTrackerTokens(ctx context.Context, userID string, t TrackerTokens, at time.Time) error {
	row := trackerTokensRow{UserID: userID, GitHubToken: t.GitHubTokenSealed, JiraEmail: t.JiraEmail, JiraToken: t.JiraTokenSealed, UpdatedAt: at}
	_, err := s.db.NewInsert().Model(&row).
		On("CONFLICT (user_id) DO UPDATE").
		Set("github_token = EXCLUDED.github_token").
		Set("jira_email = EXCLUDED.jira_email").
		Set("jira_token = EXCLUDED.jira_token").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	return wrap("set tracker tokens", err)
}

// CreateSession implements SessionStore.
func (s *BunStore) CreateSession(ctx context.Context, sess Session) error {
	row := sessionRow{Digest: sess.Digest, UserID: sess.UserID, Sliding: sess.Sliding, ExpiresAt: sess.ExpiresAt, CreatedAt: sess.CreatedAt}
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	return wrap("create session", err)
}

// Session implements SessionStore.
func (s *BunStore) Session(ctx context.Context, digest string) (Session, error) {
	var row sessionRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("digest = ?", digest), "session not found"); err != nil {
		return Session{}, wrap("get session", err)
	}
	return Session{Digest: row.Digest, UserID: row.UserID, Sliding: row.Sliding, ExpiresAt: row.ExpiresAt.UTC(), CreatedAt: row.CreatedAt.UTC()}, nil
}

// ExtendSession implements SessionStore.
func (s *BunStore) ExtendSession(ctx context.Context, digest string, expiresAt time.Time) error {
	_, err := s.db.NewUpdate().Model((*sessionRow)(nil)).Set("expires_at = ?", expiresAt).Where("digest = ?", digest).Exec(ctx)
	return wrap("extend session", err)
}

// DeleteSession implements SessionStore.
func (s *BunStore) DeleteSession(ctx context.Context, digest string) error {
	_, err := s.db.NewDelete().Model((*sessionRow)(nil)).Where("digest = ?", digest).Exec(ctx)
	return wrap("delete session", err)
}

// DeleteUserSessions implements SessionStore.
func (s *BunStore) DeleteUserSessions(ctx context.Context, userID string) error {
	q := s.db.NewDelete().Model((*sessionRow)(nil))
	if userID == "" {
		q = q.Where("user_id IS NULL")
	} else {
		q = q.Where("user_id = ?", userID)
	}
	_, err := q.Exec(ctx)
	return wrap("delete user sessions", err)
}

// DeleteExpiredSessions implements SessionStore.
func (s *BunStore) DeleteExpiredSessions(ctx context.Context, t time.Time) (int, error) {
	n, err := store.Exec(ctx, s.db.NewDelete().Model((*sessionRow)(nil)).Where("expires_at < ?", t))
	if err != nil {
		return 0, wrap("delete expired sessions", err)
	}
	return int(n), nil
}

// DeleteExpiredOTP implements OTPStore.
func (s *BunStore) DeleteExpiredOTP(ctx context.Context, t time.Time) (int, error) {
	n, err := store.Exec(ctx, s.db.NewDelete().Model((*otpRow)(nil)).Where("expires_at < ?", t))
	if err != nil {
		return 0, wrap("delete expired sign-in codes", err)
	}
	return int(n), nil
}

// PutOTP implements OTPStore with one conditional upsert, so that two
// concurrent requests for the same email cannot both send a code.
func (s *BunStore) PutOTP(ctx context.Context, c OTPCode, notAfter time.Time) (bool, time.Time, error) {
	row := otpRow{Email: c.Email, Salt: c.Salt, Digest: c.Digest, ExpiresAt: c.ExpiresAt, CreatedAt: c.CreatedAt}
	var stored []string
	err := s.db.NewInsert().Model(&row).
		On("CONFLICT (email) DO UPDATE").
		Set("salt = EXCLUDED.salt").
		Set("digest = EXCLUDED.digest").
		Set("attempts = 0").
		Set("expires_at = EXCLUDED.expires_at").
		Set("created_at = EXCLUDED.created_at").
		Where("otp.created_at <= ?", notAfter).
		Returning("email").
		Scan(ctx, &stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, time.Time{}, wrap("put sign-in code", err)
	}
	if len(stored) == 1 {
		return true, time.Time{}, nil
	}
	var existing otpRow
	if err := s.db.NewSelect().Model(&existing).Column("created_at").Where("email = ?", c.Email).Scan(ctx); err != nil {
		return false, time.Time{}, wrap("get sign-in code", err)
	}
	return false, existing.CreatedAt.UTC(), nil
}

// CountOTPAttempt implements OTPStore.
func (s *BunStore) CountOTPAttempt(ctx context.Context, email string) (OTPCode, error) {
	var row otpRow
	q := s.db.NewUpdate().Model(&row).
		Set("attempts = attempts + 1").
		Where("email = ?", email).
		Returning("*")
	if err := store.ScanOne(ctx, q, "no sign-in code"); err != nil {
		return OTPCode{}, wrap("count sign-in attempt", err)
	}
	return OTPCode{Email: row.Email, Salt: row.Salt, Digest: row.Digest, Attempts: row.Attempts, ExpiresAt: row.ExpiresAt.UTC(), CreatedAt: row.CreatedAt.UTC()}, nil
}

// DeleteOTP implements OTPStore.
func (s *BunStore) DeleteOTP(ctx context.Context, email, digest string) (bool, error) {
	q := s.db.NewDelete().Model((*otpRow)(nil)).Where("email = ?", email)
	if digest != "" {
		q = q.Where("digest = ?", digest)
	}
	n, err := store.Exec(ctx, q)
	if err != nil {
		return false, wrap("delete sign-in code", err)
	}
	return n == 1, nil
}

func toUserRow(u User, c Credentials) userRow {
	return userRow{userRowV1: userRowV1{
		ID: u.ID, Email: u.Email, Username: u.Username, Name: u.Name, Lastname: u.Lastname,
		Role: string(u.Role), PasswordHash: c.PasswordHash, APIKeyDigest: c.APIKeyDigest,
		CreatedAt: u.CreatedAt, LastSeen: u.LastSeen,
	}, Guest: u.Guest}
}

func (r userRow) user() User {
	return User{
		ID: r.ID, Email: r.Email, Username: r.Username, Name: r.Name, Lastname: r.Lastname,
		Role: Role(r.Role), HasPassword: r.PasswordHash != "", HasAPIKey: r.APIKeyDigest != "",
		Guest: r.Guest, CreatedAt: r.CreatedAt.UTC(), LastSeen: store.UTC(r.LastSeen),
	}
}
