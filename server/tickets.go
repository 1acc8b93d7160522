package server

import (
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/tickets"
)

// seeds/004's tickets (/tickets/ and /send/). Who may read, change and
// delete which ticket is package tickets' rule, given the signed-in
// caller; a ticket the caller may not read answers 404, as if it did not
// exist.

// ticketCaller is the signed-in caller as package tickets sees it.
func ticketCaller(r *http.Request) tickets.Caller {
	id := identityFrom(r.Context())
	if id == nil {
		return tickets.Caller{}
	}
	return tickets.Caller{UserID: id.User.ID, Admin: id.IsAdmin(), Coordinator: id.HasRole(auth.TicketCoordinator)}
}

// listTickets answers one page of the caller's tickets, newest first,
// filtered by the status, priority, department and category query
// parameters.
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) error {
	p, err := drfPaging(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := tickets.Filter{Status: tickets.Status(q.Get("status")), Priority: q.Get("priority"), Department: q.Get("department"), Category: q.Get("category")}
	list, count, err := s.engine.Tickets.List(r.Context(), ticketCaller(r), f, tickets.ListOptions{Page: p.Offset/p.Limit + 1, PageSize: p.Limit})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, newDRFPage(r, p, count, list))
}

// submitTicket serves POST /tickets/ and POST /send/ (a ticket from another
// system): the same body, answered 201 with the ticket and what intake made
// of it.
func (s *Server) submitTicket(w http.ResponseWriter, r *http.Request) error {
	var in tickets.Input
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.engine.Tickets.Submit(r.Context(), ticketCaller(r), in)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, res)
}

// ticketParam reads the ticket of the route's :id: its integer id or its
// "TX…" ticket id, which is looked up (and the caller's right to it
// checked) to find the integer id.
func (s *Server) ticketParam(r *http.Request) (tickets.Ticket, int64, error) {
	raw := httprouter.ParamsFromContext(r.Context()).ByName("id")
	if err := store.CheckText("id", raw); err != nil {
		return tickets.Ticket{}, 0, err
	}
	if strings.HasPrefix(raw, "TX") {
		t, err := s.engine.Tickets.GetByTicketID(r.Context(), ticketCaller(r), raw)
		return t, t.ID, err
	}
	id, err := idParam(r, "ticket")
	return tickets.Ticket{}, id, err
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) error {
	t, id, err := s.ticketParam(r)
	if err != nil {
		return err
	}
	if t.ID == 0 {
		if t, err = s.engine.Tickets.Get(r.Context(), ticketCaller(r), id); err != nil {
			return err
		}
	}
	return reply(w, r, http.StatusOK, t)
}

// updateTicket changes the fields the body gives (see tickets.Update for
// which may change after intake).
func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request) error {
	var u tickets.Update
	if err := decodeJSON(r, &u); err != nil {
		return err
	}
	_, id, err := s.ticketParam(r)
	if err != nil {
		return err
	}
	res, err := s.engine.Tickets.Update(r.Context(), ticketCaller(r), id, u)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, res)
}

func (s *Server) deleteTicket(w http.ResponseWriter, r *http.Request) error {
	_, id, err := s.ticketParam(r)
	if err != nil {
		return err
	}
	if err := s.engine.Tickets.Delete(r.Context(), ticketCaller(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
