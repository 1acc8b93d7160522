package tickets

import "context"

// Store persists tickets. BunStore implements it on SQLite and PostgreSQL.
type Store interface {
	// Atomically runs fn with a Store whose every call is part of one
	// transaction (joining one that ctx carries, internal/store.RunInTx),
	// committed when fn returns nil and rolled back otherwise. In it, Get
	// and GetByTicketID lock the ticket's row until the end.
	Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error

	// Insert stores t and sets its ID. It reports false, storing nothing
	// and leaving the transaction usable, when another ticket has
	// t.TicketID.
	Insert(ctx context.Context, t *Ticket) (bool, error)
	Get(ctx context.Context, id int64) (Ticket, error)
	GetByTicketID(ctx context.Context, ticketID string) (Ticket, error)
	// List returns at most limit tickets (0: all) after the first offset
	// that match f and, when visibleTo is not "", that visibleTo
	// submitted or owns; newest first, and how many match.
	List(ctx context.Context, f Filter, visibleTo string, limit, offset int) ([]Ticket, int, error)
	// Update stores every field of t but its ID, TicketID and CreatedAt.
	Update(ctx context.Context, t Ticket) error
	Delete(ctx context.Context, id int64) error
}
