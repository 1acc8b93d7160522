package personal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

// taskRow is the table model of a Task; its tags live in tagRow.
type taskRow struct {
	bun.BaseModel `bun:"table:personal_tasks,alias:pt"`

	ID          string     `bun:"id,pk"`
	OwnerID     string     `bun:"owner_id,notnull"`
	Name        string     `bun:"name,notnull"`
	Description string     `bun:"description,type:text,notnull"`
	Status      string     `bun:"status,notnull"`
	Priority    string     `bun:"priority,notnull"`
	DueDate     *time.Time `bun:"due_date"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	UpdatedAt   time.Time  `bun:"updated_at,notnull"`
}

// tagRow is one tag of one task; position keeps the order given.
type tagRow struct {
	bun.BaseModel `bun:"table:personal_task_tags,alias:ptt"`

	TaskID   string `bun:"task_id,pk"`
	Tag      string `bun:"tag,pk"`
	Position int    `bun:"position,notnull"`
}

// Migrations returns the schema of personal tasks and processes. Each
// migration creates tables from its own frozen models.
func Migrations() []store.Migration {
	return slices.Concat(taskMigrations(), processMigrations(), chatMigrations())
}

func taskMigrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261207400000",
		Comment: "personal: tasks and their tags",
		Up: func(ctx context.Context, tx bun.Tx) error {
			type taskRowV1 struct {
				bun.BaseModel `bun:"table:personal_tasks"`

				ID          string     `bun:"id,pk"`
				OwnerID     string     `bun:"owner_id,notnull"`
				Name        string     `bun:"name,notnull"`
				Description string     `bun:"description,type:text,notnull"`
				Status      string     `bun:"status,notnull"`
				Priority    string     `bun:"priority,notnull"`
				DueDate     *time.Time `bun:"due_date"`
				CreatedAt   time.Time  `bun:"created_at,notnull"`
				UpdatedAt   time.Time  `bun:"updated_at,notnull"`
			}
			type tagRowV1 struct {
				bun.BaseModel `bun:"table:personal_task_tags"`

				TaskID   string `bun:"task_id,pk"`
				Tag      string `bun:"tag,pk"`
				Position int    `bun:"position,notnull"`
			}
			if _, err := tx.NewCreateTable().Model((*taskRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create personal_tasks: %w", err)
			}
			if _, err := tx.NewCreateTable().Model((*tagRowV1)(nil)).Exec(ctx); err != nil {
				return fmt.Errorf("create personal_task_tags: %w", err)
			}
			// Every list is one owner's; the overdue sweep reads by due
			// date; a tag filter finds tasks by tag.
			return store.CreateIndexes(ctx, tx,
				store.Index{Table: "personal_tasks", Name: "personal_tasks_owner_idx", Columns: []string{"owner_id", "due_date"}},
				store.Index{Table: "personal_tasks", Name: "personal_tasks_due_idx", Columns: []string{"due_date"}},
				store.Index{Table: "personal_task_tags", Name: "personal_task_tags_tag_idx", Columns: []string{"tag"}},
			)
		},
	}}
}

// BunStore is the bun implementation of Store.
type BunStore struct {
	db bun.IDB
}

// NewBunStore returns a Store on db (a *bun.DB or a transaction).
func NewBunStore(db bun.IDB) *BunStore { return &BunStore{db: db} }

// Atomically implements Store.
func (s *BunStore) Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		return fn(ctx, &BunStore{db: tx})
	})
}

// Insert implements Store.
func (s *BunStore) Insert(ctx context.Context, t Task) error {
	if _, err := s.db.NewInsert().Model(toRow(t)).Exec(ctx); err != nil {
		return fmt.Errorf("insert personal task: %w", store.Translate(err))
	}
	return s.insertTags(ctx, t.ID, t.Tags)
}

func (s *BunStore) insertTags(ctx context.Context, id string, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rows := make([]tagRow, len(tags))
	for i, tag := range tags {
		rows[i] = tagRow{TaskID: id, Tag: tag, Position: i}
	}
	if _, err := s.db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("insert personal task tags: %w", store.Translate(err))
	}
	return nil
}

// Get implements Store.
func (s *BunStore) Get(ctx context.Context, owner, id string) (Task, error) {
	var row taskRow
	q := s.db.NewSelect().Model(&row).Where("id = ?", id).Where("owner_id = ?", owner)
	if err := store.ScanOne(ctx, q, "task %q not found", id); err != nil {
		return Task{}, err
	}
	tasks, err := s.withTags(ctx, []taskRow{row})
	if err != nil {
		return Task{}, err
	}
	return tasks[0], nil
}

// Update implements Store.
func (s *BunStore) Update(ctx context.Context, t Task) error {
	q := s.db.NewUpdate().Model(toRow(t)).WherePK().Where("owner_id = ?", t.OwnerID).
		Column("name", "description", "status", "priority", "due_date", "updated_at")
	if err := store.ExecOne(ctx, q, "task %q not found", t.ID); err != nil {
		return fmt.Errorf("update personal task: %w", err)
	}
	if _, err := s.db.NewDelete().Model((*tagRow)(nil)).Where("task_id = ?", t.ID).Exec(ctx); err != nil {
		return fmt.Errorf("replace personal task tags: %w", store.Translate(err))
	}
	return s.insertTags(ctx, t.ID, t.Tags)
}

// Delete implements Store.
func (s *BunStore) Delete(ctx context.Context, owner, id string) error {
	q := s.db.NewDelete().Model((*taskRow)(nil)).Where("id = ?", id).Where("owner_id = ?", owner)
	if err := store.ExecOne(ctx, q, "task %q not found", id); err != nil {
		return fmt.Errorf("delete personal task: %w", err)
	}
	if _, err := s.db.NewDelete().Model((*tagRow)(nil)).Where("task_id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete personal task tags: %w", store.Translate(err))
	}
	return nil
}

// likeEscape escapes s for a LIKE pattern with ESCAPE '!'.
var likeEscape = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// List implements Store.
func (s *BunStore) List(ctx context.Context, owner string, f Filter, limit int) ([]Task, error) {
	var rows []taskRow
	q := s.db.NewSelect().Model(&rows).Where("owner_id = ?", owner).
		OrderExpr("due_date IS NULL, due_date, created_at, id").Limit(int64(limit))
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.Priority != "" {
		q = q.Where("priority = ?", string(f.Priority))
	}
	if f.Tag != "" {
		q = q.Where("id IN (SELECT task_id FROM personal_task_tags WHERE tag = ?)", f.Tag)
	}
	if f.DueBefore != nil {
		q = q.Where("due_date < ?", *f.DueBefore)
	}
	if f.DueAfter != nil {
		q = q.Where("due_date > ?", *f.DueAfter)
	}
	if f.Q != "" {
		// Lower-casing in Go and in SQL makes the match case-insensitive on
		// both engines (SQLite's LOWER folds ASCII only).
		pattern := "%" + likeEscape.Replace(strings.ToLower(f.Q)) + "%"
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("LOWER(name) LIKE ? ESCAPE '!'", pattern).WhereOr("LOWER(description) LIKE ? ESCAPE '!'", pattern)
		})
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list personal tasks: %w", store.Translate(err))
	}
	return s.withTags(ctx, rows)
}

// Count implements Store.
func (s *BunStore) Count(ctx context.Context, owner string) (int, error) {
	n, err := s.db.NewSelect().Model((*taskRow)(nil)).Where("owner_id = ?", owner).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count personal tasks: %w", store.Translate(err))
	}
	return int(n), nil
}

// Overdue implements Store.
func (s *BunStore) Overdue(ctx context.Context, owner string, statuses []Status, before time.Time, limit int) ([]Task, error) {
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = string(st)
	}
	var rows []taskRow
	q := s.db.NewSelect().Model(&rows).Where("status IN (?)", bun.In(names)).
		Where("due_date < ?", before).OrderExpr("due_date, id").Limit(int64(limit))
	if owner != "" {
		q = q.Where("owner_id = ?", owner)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list overdue personal tasks: %w", store.Translate(err))
	}
	return s.withTags(ctx, rows)
}

// withTags turns rows into tasks with their tags, read in one query.
func (s *BunStore) withTags(ctx context.Context, rows []taskRow) ([]Task, error) {
	tasks := make([]Task, len(rows))
	if len(rows) == 0 {
		return tasks, nil
	}
	ids := make([]string, len(rows))
	index := make(map[string]int, len(rows))
	for i, r := range rows {
		tasks[i] = r.toTask()
		ids[i] = r.ID
		index[r.ID] = i
	}
	var tags []tagRow
	err := s.db.NewSelect().Model(&tags).Where("task_id IN (?)", bun.In(ids)).OrderExpr("task_id, position").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read personal task tags: %w", store.Translate(err))
	}
	for _, tg := range tags {
		i := index[tg.TaskID]
		tasks[i].Tags = append(tasks[i].Tags, tg.Tag)
	}
	return tasks, nil
}

func toRow(t Task) *taskRow {
	return &taskRow{
		ID: t.ID, OwnerID: t.OwnerID, Name: t.Name, Description: t.Description,
		Status: string(t.Status), Priority: string(t.Priority), DueDate: t.DueDate,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}

func (r taskRow) toTask() Task {
	return Task{
		ID: r.ID, OwnerID: r.OwnerID, Name: r.Name, Description: r.Description,
		Status: Status(r.Status), Priority: Priority(r.Priority), DueDate: store.UTC(r.DueDate),
		Tags: []string{}, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}
