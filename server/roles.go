package server

import (
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/auth"
)

// roleBody is a role as seeds/004's /roles/ shows it; role_id is the id that
// steps name.
type roleBody struct {
	RoleID      int64     `json:"role_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

func toRoleBody(r auth.DomainRole) roleBody {
	return roleBody{RoleID: r.ID, Name: r.Name, Description: r.Description, CreatedAt: r.CreatedAt}
}

// roleMemberBody is a user holding a role.
type roleMemberBody struct {
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	Lastname  string    `json:"lastname"`
	Source    string    `json:"source"`
	GrantedAt time.Time `json:"granted_at"`
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	roles, count, err := s.engine.Auth.ListRoles(r.Context(), p.Limit, p.Offset)
	if err != nil {
		return err
	}
	bodies := make([]roleBody, 0, len(roles))
	for _, role := range roles {
		bodies = append(bodies, toRoleBody(role))
	}
	return reply(w, r, http.StatusOK, newDRFPage(r, p, count, bodies))
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	role, err := s.engine.Auth.CreateRole(r.Context(), identityFrom(r.Context()), auth.RoleInput{Name: body.Name, Description: body.Description})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, toRoleBody(role))
}

func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "role")
	if err != nil {
		return err
	}
	role, err := s.engine.Auth.GetRole(r.Context(), id)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, toRoleBody(role))
}

func (s *Server) listRoleMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "role")
	if err != nil {
		return err
	}
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	members, count, err := s.engine.Auth.RoleMembers(r.Context(), id, p.Limit, p.Offset)
	if err != nil {
		return err
	}
	bodies := make([]roleMemberBody, 0, len(members))
	for _, m := range members {
		bodies = append(bodies, roleMemberBody{
			UserID: m.User.ID, Username: m.User.Username, Name: m.User.Name, Lastname: m.User.Lastname,
			Source: string(m.Source), GrantedAt: m.GrantedAt,
		})
	}
	return reply(w, r, http.StatusOK, newDRFPage(r, p, count, bodies))
}

// addRoleMember answers 201 for a new membership and 200 for one the user
// held already, so that the call can be repeated safely.
func (s *Server) addRoleMember(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "role")
	if err != nil {
		return err
	}
	userID, err := decodeIDField(r, "user_id")
	if err != nil {
		return err
	}
	added, err := s.engine.Auth.AddUserRole(r.Context(), identityFrom(r.Context()), id, userID)
	if err != nil {
		return err
	}
	role, err := s.engine.Auth.GetRole(r.Context(), id)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	return reply(w, r, status, map[string]any{"role_id": role.ID, "role_name": role.Name, "user_id": userID})
}

// removeRoleMember answers 204 whether or not the user held the role.
func (s *Server) removeRoleMember(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "role")
	if err != nil {
		return err
	}
	userID := httprouter.ParamsFromContext(r.Context()).ByName("user_id")
	if _, err := s.engine.Auth.RemoveUserRole(r.Context(), identityFrom(r.Context()), id, userID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
