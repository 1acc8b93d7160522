package auth

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// Atomically implements RoleStore.
func (s *BunStore) Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		return fn(ctx, &BunStore{db: tx})
	})
}

// CreateRole implements RoleStore.
func (s *BunStore) CreateRole(ctx context.Context, r DomainRole) (DomainRole, error) {
	row := roleRow{Name: r.Name, NameKey: roleNameKey(r.Name), Description: r.Description, CreatedAt: r.CreatedAt}
	if _, err := s.db.NewInsert().Model(&row).Exec(ctx); err != nil {
		return DomainRole{}, wrap("create role", err)
	}
	return row.role(), nil
}

// Role implements RoleStore.
func (s *BunStore) Role(ctx context.Context, id int64) (DomainRole, error) {
	var row roleRow
	if err := store.ScanOne(ctx, s.db.NewSelect().Model(&row).Where("id = ?", id), "role %d not found", id); err != nil {
		return DomainRole{}, wrap("get role", err)
	}
	return row.role(), nil
}

// RolesByName implements RoleStore.
func (s *BunStore) RolesByName(ctx context.Context, names []string) ([]DomainRole, error) {
	if len(names) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(names))
	for _, n := range names {
		keys = append(keys, roleNameKey(n))
	}
	var rows []roleRow
	if err := s.db.NewSelect().Model(&rows).Where("name_key IN (?)", bun.In(keys)).Order("id").Scan(ctx); err != nil {
		return nil, wrap("get roles by name", err)
	}
	return roles(rows), nil
}

// ListRoles implements RoleStore.
func (s *BunStore) ListRoles(ctx context.Context, limit, offset int) ([]DomainRole, int, error) {
	var rows []roleRow
	n, err := store.Page{Limit: limit, Offset: offset}.Apply(s.db.NewSelect().Model(&rows).Order("id")).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, wrap("list roles", err)
	}
	return roles(rows), int(n), nil
}

// AddRoleMember implements RoleStore with an insert that does nothing on a
// membership that exists, so that concurrent adds of one membership both
// succeed and only one reports it new.
func (s *BunStore) AddRoleMember(ctx context.Context, roleID int64, userID string, source MembershipSource, at time.Time) (bool, error) {
	row := roleMemberRow{RoleID: roleID, UserID: userID, Source: string(source), CreatedAt: at}
	var added []int64
	err := s.db.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Returning("role_id").Scan(ctx, &added)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, wrap("add role member", err)
	}
	if len(added) == 1 || source != SourceAdmin {
		return len(added) == 1, nil
	}
	_, err = s.db.NewUpdate().Model((*roleMemberRow)(nil)).Set("source = ?", string(SourceAdmin)).
		Where("role_id = ?", roleID).Where("user_id = ?", userID).Exec(ctx)
	return false, wrap("add role member", err)
}

// RemoveRoleMember implements RoleStore.
func (s *BunStore) RemoveRoleMember(ctx context.Context, roleID int64, userID string) (bool, error) {
	n, err := store.Exec(ctx, s.db.NewDelete().Model((*roleMemberRow)(nil)).Where("role_id = ?", roleID).Where("user_id = ?", userID))
	return n == 1, wrap("remove role member", err)
}

// RoleMembers implements RoleStore.
func (s *BunStore) RoleMembers(ctx context.Context, roleID int64, limit, offset int) ([]RoleMember, int, error) {
	var rows []struct {
		userRow   `bun:",extend"`
		Source    string    `bun:"source"`
		GrantedAt time.Time `bun:"granted_at"`
	}
	q := s.db.NewSelect().Model(&rows).ColumnExpr("u.*, m.source, m.created_at AS granted_at").
		ModelTableExpr("auth_users AS u").
		Join("JOIN auth_role_members AS m ON m.user_id = u.id").
		Where("m.role_id = ?", roleID).Order("u.id")
	n, err := store.Page{Limit: limit, Offset: offset}.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, wrap("list role members", err)
	}
	members := make([]RoleMember, 0, len(rows))
	for _, r := range rows {
		members = append(members, RoleMember{User: r.user(), Source: MembershipSource(r.Source), GrantedAt: r.GrantedAt.UTC()})
	}
	return members, int(n), nil
}

// UserRoles implements RoleStore.
func (s *BunStore) UserRoles(ctx context.Context, userID string) ([]DomainRole, error) {
	var rows []roleRow
	err := s.db.NewSelect().Model(&rows).
		Join("JOIN auth_role_members AS m ON m.role_id = r.id").
		Where("m.user_id = ?", userID).Order("r.name_key").Scan(ctx)
	if err != nil {
		return nil, wrap("get user roles", err)
	}
	return roles(rows), nil
}

// SyncClaimedRoles implements RoleStore. It reads first and writes only on
// a change, in a transaction, because it runs on every request a JWT
// authenticates; the writes are idempotent, so two requests that race
// leave the same memberships.
func (s *BunStore) SyncClaimedRoles(ctx context.Context, userID string, roleIDs []int64, at time.Time) ([]string, error) {
	var held []roleMemberRow
	if err := s.db.NewSelect().Model(&held).Where("user_id = ?", userID).Scan(ctx); err != nil {
		return nil, wrap("get role members", err)
	}
	var stale []int64
	missing := slices.Clone(roleIDs)
	for _, m := range held {
		claimed := slices.Contains(roleIDs, m.RoleID)
		if m.Source == string(SourceJWT) && !claimed {
			stale = append(stale, m.RoleID)
		}
		missing = slices.DeleteFunc(missing, func(id int64) bool { return id == m.RoleID })
	}
	if len(stale) > 0 || len(missing) > 0 {
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if len(stale) > 0 {
				_, err := tx.NewDelete().Model((*roleMemberRow)(nil)).Where("user_id = ?", userID).
					Where("source = ?", string(SourceJWT)).Where("role_id IN (?)", bun.In(stale)).Exec(ctx)
				if err != nil {
					return err
				}
			}
			for _, id := range missing {
				row := roleMemberRow{RoleID: id, UserID: userID, Source: string(SourceJWT), CreatedAt: at}
				if _, err := tx.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, wrap("sync claimed roles", err)
		}
	}
	return s.roles(ctx, userID)
}

func (r roleRow) role() DomainRole {
	return DomainRole{ID: r.ID, Name: r.Name, Description: r.Description, CreatedAt: r.CreatedAt.UTC()}
}

func roles(rows []roleRow) []DomainRole {
	out := make([]DomainRole, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.role())
	}
	return out
}
