package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/audit"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// TicketCoordinator is the role whose holders own incoming tickets
// (seeds/004's 🎫). The migration that creates the roles table creates it,
// so it exists on every database.
const TicketCoordinator = "Ticket Coordinator"

// maxRoleDescriptionLength bounds a role's description, in characters.
const maxRoleDescriptionLength = 1000

// DomainRole is one of bugflow's own roles (an "Agent", the
// TicketCoordinator), which users hold besides their Role and which
// workflow steps are assigned to. Its ID never changes; its name is unique
// case-insensitively.
type DomainRole struct {
	ID          int64
	Name        string
	Description string
	CreatedAt   time.Time
}

// RoleInput is a role to create.
type RoleInput struct {
	Name        string
	Description string
}

// MembershipSource says how a user came to hold a role.
type MembershipSource string

// The membership sources.
const (
	// SourceAdmin is a membership an admin granted; it lasts until an admin
	// removes it.
	SourceAdmin MembershipSource = "admin"
	// SourceJWT is a membership a JWT's role claim granted; it lasts while
	// the user's tokens claim the role.
	SourceJWT MembershipSource = "jwt"
)

// RoleMember is a user holding a role.
type RoleMember struct {
	User      User
	Source    MembershipSource
	GrantedAt time.Time
}

// roleNameKey is what makes two role names the same name: case is ignored
// the same way on every database (SQLite's lower() knows only ASCII).
func roleNameKey(name string) string { return strings.ToLower(name) }

// checkRoleInput returns in trimmed, or an Invalid error naming each bad
// field. The names of the two global roles are reserved: "admin" is the 👑
// of seeds/004 and HasRole already answers for both.
func checkRoleInput(in RoleInput) (RoleInput, error) {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	nameErr := store.CheckText("name", in.Name)
	switch {
	case nameErr != nil:
	case in.Name == "":
		nameErr = errs.InvalidField("name", "is required")
	case utf8.RuneCountInString(in.Name) > maxRoleNameLength:
		nameErr = errs.InvalidField("name", fmt.Sprintf("must be at most %d characters", maxRoleNameLength))
	case Role(roleNameKey(in.Name)).Valid():
		nameErr = errs.InvalidField("name", fmt.Sprintf("%q is reserved for the global role", in.Name))
	}
	descErr := store.CheckText("description", in.Description)
	if descErr == nil && utf8.RuneCountInString(in.Description) > maxRoleDescriptionLength {
		descErr = errs.InvalidField("description", fmt.Sprintf("must be at most %d characters", maxRoleDescriptionLength))
	}
	return in, joinInvalid(nameErr, descErr)
}

// CreateRole creates a role; only admins may. A name another role has, in
// any case, is Invalid on the name field, as seeds/004's validation errors
// are.
func (s *Service) CreateRole(ctx context.Context, actor *Identity, in RoleInput) (DomainRole, error) {
	if err := requireAdmin(actor); err != nil {
		return DomainRole{}, err
	}
	in, err := checkRoleInput(in)
	if err != nil {
		return DomainRole{}, err
	}
	r, err := s.store.CreateRole(ctx, DomainRole{Name: in.Name, Description: in.Description, CreatedAt: s.now()})
	if errors.Is(err, errs.ErrConflict) {
		return DomainRole{}, errs.InvalidField("name", "a role with this name already exists")
	}
	return r, err
}

// GetRole returns the role with id, or a NotFound error.
func (s *Service) GetRole(ctx context.Context, id int64) (DomainRole, error) {
	return s.store.Role(ctx, id)
}

// RoleName returns the name of the role with id, or an errs.NotFound error
// when there is none: what a workflow step shows as its role_name.
func (s *Service) RoleName(ctx context.Context, id int64) (string, error) {
	r, err := s.store.Role(ctx, id)
	return r.Name, err
}

// RoleByName returns the role named name (in any case), or a NotFound error.
func (s *Service) RoleByName(ctx context.Context, name string) (DomainRole, error) {
	roles, err := s.store.RolesByName(ctx, []string{name})
	if err != nil {
		return DomainRole{}, err
	}
	if len(roles) == 0 {
		return DomainRole{}, errs.NotFoundf("role %q not found", name)
	}
	return roles[0], nil
}

// ListRoles returns at most limit roles (0: all) after the first offset, by
// id, and how many there are in all.
func (s *Service) ListRoles(ctx context.Context, limit, offset int) ([]DomainRole, int, error) {
	return s.store.ListRoles(ctx, limit, offset)
}

// AddUserRole makes the user with userID hold the role with roleID; only
// admins may. It reports whether the membership is new: adding one the user
// holds already changes nothing, except that a membership a JWT granted
// becomes the admin's, which outlasts the claim. Guests cannot hold roles:
// anyone may act as a guest, and no one can sign in as one to do the work.
func (s *Service) AddUserRole(ctx context.Context, actor *Identity, roleID int64, userID string) (bool, error) {
	// Whatever this changes must not be served from the identity cache.
	defer s.ids.clear()
	if err := requireAdmin(actor); err != nil {
		return false, err
	}
	role, user, err := s.memberTarget(ctx, roleID, userID)
	if err != nil {
		return false, err
	}
	var added bool
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		var err error
		if added, err = st.AddRoleMember(ctx, roleID, userID, SourceAdmin, s.now()); err != nil || !added {
			return err
		}
		return s.recordMembership(ctx, "add_role_member", role.ID, nil, membership{role, user})
	})
	return added, err
}

// Auditor records the changes the service makes (package audit's Service).
// Record is called inside the change's transaction, with its ctx.
type Auditor interface {
	Record(ctx context.Context, c audit.Change) error
}

// membership is a role membership as the audit trail shows it.
type membership struct {
	Role DomainRole
	User User
}

// MarshalJSON names the role and the user without the user's private
// fields.
func (m membership) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"role_id": m.Role.ID, "role_name": m.Role.Name, "user_id": m.User.ID, "username": m.User.Username})
}

// recordMembership records a change of who holds role, as an event on the
// role.
func (s *Service) recordMembership(ctx context.Context, action string, roleID int64, before, after any) error {
	if s.cfg.Audit == nil {
		return nil
	}
	return s.cfg.Audit.Record(ctx, audit.Change{Action: action, TargetType: "Role", TargetID: strconv.FormatInt(roleID, 10), Before: before, After: after})
}

// RemoveUserRole ends the user's membership of the role, whatever granted
// it; only admins may. It reports whether there was one to end. A role the
// user's JWTs still claim is granted again by their next request.
func (s *Service) RemoveUserRole(ctx context.Context, actor *Identity, roleID int64, userID string) (bool, error) {
	// Whatever this changes must not be served from the identity cache.
	defer s.ids.clear()
	if err := requireAdmin(actor); err != nil {
		return false, err
	}
	role, err := s.store.Role(ctx, roleID)
	if err != nil {
		return false, err
	}
	user, _, err := s.store.User(ctx, UserKey{ID: userID})
	if err != nil {
		return false, err
	}
	var removed bool
	err = s.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		var err error
		if removed, err = st.RemoveRoleMember(ctx, roleID, userID); err != nil || !removed {
			return err
		}
		return s.recordMembership(ctx, "remove_role_member", role.ID, membership{role, user}, nil)
	})
	return removed, err
}

// memberTarget checks that the role and the user exist and that the user
// can hold a role.
func (s *Service) memberTarget(ctx context.Context, roleID int64, userID string) (DomainRole, User, error) {
	role, err := s.store.Role(ctx, roleID)
	if err != nil {
		return DomainRole{}, User{}, err
	}
	u, _, err := s.store.User(ctx, UserKey{ID: userID})
	if err != nil {
		return DomainRole{}, User{}, err
	}
	if u.Guest {
		return DomainRole{}, User{}, errs.InvalidField("user_id", fmt.Sprintf("%q is a guest username, not an account: guests cannot hold roles", u.Username))
	}
	return role, u, nil
}

// UserRoles returns the roles the user holds, by name.
func (s *Service) UserRoles(ctx context.Context, userID string) ([]DomainRole, error) {
	if _, _, err := s.store.User(ctx, UserKey{ID: userID}); err != nil {
		return nil, err
	}
	return s.store.UserRoles(ctx, userID)
}

// RoleMembers returns at most limit (0: all) of the role's members after the
// first offset, ordered by user id, and how many there are in all.
func (s *Service) RoleMembers(ctx context.Context, roleID int64, limit, offset int) ([]RoleMember, int, error) {
	if _, err := s.store.Role(ctx, roleID); err != nil {
		return nil, 0, err
	}
	return s.store.RoleMembers(ctx, roleID, limit, offset)
}

// UsersWithRole returns every user holding the role, ordered by user id: the
// stable order round-robin assignment walks.
func (s *Service) UsersWithRole(ctx context.Context, roleID int64) ([]User, error) {
	members, _, err := s.RoleMembers(ctx, roleID, 0, 0)
	if err != nil {
		return nil, err
	}
	users := make([]User, 0, len(members))
	for _, m := range members {
		users = append(users, m.User)
	}
	return users, nil
}

// syncClaimedRoles makes the JWT user userID hold exactly the roles its token
// claims among its JWT-granted memberships (memberships an admin granted
// stay), and returns the user's role names after that. Claimed names that are no
// role of bugflow's are ignored: roles are bugflow's own, and an identity
// provider's many unrelated roles (offline_access, ...) must not become
// ones.
func (s *Service) syncClaimedRoles(ctx context.Context, userID string, claimed []string) ([]string, error) {
	// Whatever this changes must not be served from the identity cache.
	defer s.ids.clear()
	claimed = slices.DeleteFunc(claimed, func(n string) bool { return utf8.RuneCountInString(n) > maxRoleNameLength })
	roles, err := s.store.RolesByName(ctx, claimed)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(roles))
	for _, r := range roles {
		ids = append(ids, r.ID)
	}
	return s.store.SyncClaimedRoles(ctx, userID, ids, s.now())
}
