package analysis

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/internal/store"
)

type resultRow struct {
	bun.BaseModel `bun:"table:analysis_results,alias:ar"`

	JobID         string                     `bun:"job_id,pk"`
	JobName       string                     `bun:"job_name,notnull"`
	BuildNumber   int                        `bun:"build_number,notnull"`
	JenkinsURL    string                     `bun:"jenkins_url,notnull"`
	Status        string                     `bun:"status,notnull"`
	RequestParams store.JSON[map[string]any] `bun:"request_params,type:text,notnull"`
	// Result is the result JSON, gzip-compressed: results carry the
	// enriched report and can reach hundreds of MB, which compress ~10x.
	Result        []byte                      `bun:"result,notnull"`
	Error         string                      `bun:"error,type:text,notnull"`
	ProgressPhase string                      `bun:"progress_phase,notnull"`
	ProgressLog   store.JSON[[]ProgressEntry] `bun:"progress_log,type:text,notnull"`
	CreatedAt     time.Time                   `bun:"created_at,notnull"`
	StartedAt     *time.Time                  `bun:"started_at"`
	CompletedAt   *time.Time                  `bun:"completed_at"`
}

type historyRow struct {
	bun.BaseModel `bun:"table:analysis_failure_history,alias:fh"`

	ID               int64     `bun:"id,pk,autoincrement"`
	JobID            string    `bun:"job_id,notnull"`
	JobName          string    `bun:"job_name,notnull"`
	BuildNumber      int       `bun:"build_number,notnull"`
	ChildJobName     string    `bun:"child_job_name,notnull"`
	ChildBuildNumber int       `bun:"child_build_number,notnull"`
	TestName         string    `bun:"test_name,type:text,notnull"`
	Outcome          string    `bun:"outcome,notnull"`
	ErrorMessage     string    `bun:"error_message,type:text,notnull"`
	ErrorSignature   string    `bun:"error_signature,notnull"`
	Classification   string    `bun:"classification,notnull"`
	AnalyzedAt       time.Time `bun:"analyzed_at,notnull"`
}

type classificationRow struct {
	bun.BaseModel `bun:"table:analysis_test_classifications,alias:tc"`

	ID               int64     `bun:"id,pk,autoincrement"`
	TestName         string    `bun:"test_name,type:text,notnull"`
	JobName          string    `bun:"job_name,notnull"`
	ParentJobName    string    `bun:"parent_job_name,notnull"`
	Classification   string    `bun:"classification,notnull"`
	Reason           string    `bun:"reason,type:text,notnull"`
	References       string    `bun:"references_info,type:text,notnull"`
	CreatedBy        string    `bun:"created_by,notnull"`
	JobID            string    `bun:"job_id,notnull"`
	ChildBuildNumber int       `bun:"child_build_number,notnull"`
	IsPrimary        bool      `bun:"is_primary,notnull"`
	Visible          bool      `bun:"visible,notnull"`
	ErrorSignature   string    `bun:"error_signature,notnull"`
	ErrorMessage     string    `bun:"error_message,type:text,notnull"`
	StackTrace       string    `bun:"stack_trace,type:text,notnull"`
	CreatedAt        time.Time `bun:"created_at,notnull"`
}

type commentRow struct {
	bun.BaseModel `bun:"table:analysis_comments,alias:cm"`

	ID               int64     `bun:"id,pk,autoincrement"`
	JobID            string    `bun:"job_id,notnull"`
	TestName         string    `bun:"test_name,type:text,notnull"`
	ChildJobName     string    `bun:"child_job_name,notnull"`
	ChildBuildNumber int       `bun:"child_build_number,notnull"`
	Comment          string    `bun:"comment,type:text,notnull"`
	ErrorSignature   string    `bun:"error_signature,notnull"`
	Username         string    `bun:"username,notnull"`
	CreatedAt        time.Time `bun:"created_at,notnull"`
}

// reviewRow is keyed by a digest of the review key, which holds a test
// name of any length: a key that long cannot be indexed on PostgreSQL.
type reviewRow struct {
	bun.BaseModel `bun:"table:analysis_failure_reviews,alias:rv"`

	JobID     string    `bun:"job_id,pk"`
	KeyDigest string    `bun:"review_key_digest,pk"`
	ReviewKey string    `bun:"review_key,type:text,notnull"`
	Reviewed  bool      `bun:"reviewed,notnull"`
	Username  string    `bun:"username,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// reviewKeyDigest is the hex SHA-256 of a review key.
func reviewKeyDigest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Migrations returns the schema of the analysis package. Each migration
// creates or alters tables from its own frozen models, never from the row
// types above, so that a column added later is added by a later migration on
// every database, old or new.
func Migrations() []store.Migration {
	return []store.Migration{{
		ID:      "20261123120000",
		Comment: "analysis: results, failure history, classifications, comments, reviews",
		Up:      createAnalysisTables,
	}, {
		ID:      "20261205004512",
		Comment: "analysis: indexes that test names of any length cannot overflow",
		Up:      migrateLongTestNames,
	}, {
		ID:      "20261215190000",
		Comment: "analysis: the failures fetched for a Jenkins build analysis, for re-analysis",
		Up:      createBuildInputs,
	}}
}

// createAnalysisTables is the first migration, with its models frozen here.
func createAnalysisTables(ctx context.Context, tx bun.Tx) error {
	type resultRowV1 struct {
		bun.BaseModel `bun:"table:analysis_results,alias:ar"`

		JobID         string     `bun:"job_id,pk"`
		JobName       string     `bun:"job_name,notnull"`
		BuildNumber   int        `bun:"build_number,notnull"`
		JenkinsURL    string     `bun:"jenkins_url,notnull"`
		Status        string     `bun:"status,notnull"`
		RequestParams string     `bun:"request_params,type:text,notnull"`
		Result        []byte     `bun:"result,notnull"`
		Error         string     `bun:"error,type:text,notnull"`
		ProgressPhase string     `bun:"progress_phase,notnull"`
		ProgressLog   string     `bun:"progress_log,type:text,notnull"`
		CreatedAt     time.Time  `bun:"created_at,notnull"`
		StartedAt     *time.Time `bun:"started_at"`
		CompletedAt   *time.Time `bun:"completed_at"`
	}
	type historyRowV1 struct {
		bun.BaseModel `bun:"table:analysis_failure_history,alias:fh"`

		ID               int64     `bun:"id,pk,autoincrement"`
		JobID            string    `bun:"job_id,notnull"`
		JobName          string    `bun:"job_name,notnull"`
		BuildNumber      int       `bun:"build_number,notnull"`
		ChildJobName     string    `bun:"child_job_name,notnull"`
		ChildBuildNumber int       `bun:"child_build_number,notnull"`
		TestName         string    `bun:"test_name,type:text,notnull"`
		Outcome          string    `bun:"outcome,notnull"`
		ErrorMessage     string    `bun:"error_message,type:text,notnull"`
		ErrorSignature   string    `bun:"error_signature,notnull"`
		Classification   string    `bun:"classification,notnull"`
		AnalyzedAt       time.Time `bun:"analyzed_at,notnull"`
	}
	type classificationRowV1 struct {
		bun.BaseModel `bun:"table:analysis_test_classifications,alias:tc"`

		ID               int64     `bun:"id,pk,autoincrement"`
		TestName         string    `bun:"test_name,type:text,notnull"`
		JobName          string    `bun:"job_name,notnull"`
		ParentJobName    string    `bun:"parent_job_name,notnull"`
		Classification   string    `bun:"classification,notnull"`
		Reason           string    `bun:"reason,type:text,notnull"`
		References       string    `bun:"references_info,type:text,notnull"`
		CreatedBy        string    `bun:"created_by,notnull"`
		JobID            string    `bun:"job_id,notnull"`
		ChildBuildNumber int       `bun:"child_build_number,notnull"`
		IsPrimary        bool      `bun:"is_primary,notnull"`
		Visible          bool      `bun:"visible,notnull"`
		ErrorSignature   string    `bun:"error_signature,notnull"`
		ErrorMessage     string    `bun:"error_message,type:text,notnull"`
		StackTrace       string    `bun:"stack_trace,type:text,notnull"`
		CreatedAt        time.Time `bun:"created_at,notnull"`
	}
	type commentRowV1 struct {
		bun.BaseModel `bun:"table:analysis_comments,alias:cm"`

		ID               int64     `bun:"id,pk,autoincrement"`
		JobID            string    `bun:"job_id,notnull"`
		TestName         string    `bun:"test_name,type:text,notnull"`
		ChildJobName     string    `bun:"child_job_name,notnull"`
		ChildBuildNumber int       `bun:"child_build_number,notnull"`
		Comment          string    `bun:"comment,type:text,notnull"`
		ErrorSignature   string    `bun:"error_signature,notnull"`
		Username         string    `bun:"username,notnull"`
		CreatedAt        time.Time `bun:"created_at,notnull"`
	}
	type reviewRowV1 struct {
		bun.BaseModel `bun:"table:analysis_failure_reviews,alias:rv"`

		JobID     string    `bun:"job_id,pk"`
		ReviewKey string    `bun:"review_key,pk,type:text"`
		Reviewed  bool      `bun:"reviewed,notnull"`
		Username  string    `bun:"username,notnull"`
		UpdatedAt time.Time `bun:"updated_at,notnull"`
	}
	for _, m := range []any{(*resultRowV1)(nil), (*historyRowV1)(nil), (*classificationRowV1)(nil), (*commentRowV1)(nil), (*reviewRowV1)(nil)} {
		if _, err := tx.NewCreateTable().Model(m).Exec(ctx); err != nil {
			return fmt.Errorf("create table %T: %w", m, err)
		}
	}
	const history, classifications, comments = "analysis_failure_history", "analysis_test_classifications", "analysis_comments"
	return store.CreateIndexes(ctx, tx,
		store.Index{Table: "analysis_results", Name: "analysis_results_created_idx", Columns: []string{"created_at"}},
		store.Index{Table: history, Name: "analysis_history_test_idx", Columns: []string{"test_name", "analyzed_at"}},
		store.Index{Table: history, Name: "analysis_history_job_idx", Columns: []string{"job_name", "analyzed_at"}},
		// Only failures have signatures; passes are most rows.
		store.Index{Table: history, Name: "analysis_history_sig_idx", Columns: []string{"error_signature"}, Where: "outcome IN ('failed', 'error')"},
		store.Index{Table: history, Name: "analysis_history_job_id_idx", Columns: []string{"job_id"}},
		store.Index{Table: classifications, Name: "analysis_classifications_test_idx", Columns: []string{"test_name"}},
		store.Index{Table: classifications, Name: "analysis_classifications_job_id_idx", Columns: []string{"job_id"}},
		store.Index{Table: comments, Name: "analysis_comments_job_idx", Columns: []string{"job_id"}},
		store.Index{Table: comments, Name: "analysis_comments_test_idx", Columns: []string{"test_name"}},
		store.Index{Table: comments, Name: "analysis_comments_sig_idx", Columns: []string{"error_signature"}},
	)
}

// migrateLongTestNames replaces the indexes on test names, whose entries
// PostgreSQL limits to about 2,700 bytes, by indexes on their first 500
// characters (2,000 bytes at most), and rebuilds the reviews table keyed by
// a digest of its key. Its SQL and model are frozen here.
func migrateLongTestNames(ctx context.Context, tx bun.Tx) error {
	for _, stmt := range []string{
		`DROP INDEX analysis_history_test_idx`,
		`CREATE INDEX analysis_history_test_prefix_idx ON analysis_failure_history (substr(test_name, 1, 500), analyzed_at)`,
		`DROP INDEX analysis_classifications_test_idx`,
		`CREATE INDEX analysis_classifications_test_prefix_idx ON analysis_test_classifications (substr(test_name, 1, 500))`,
		`DROP INDEX analysis_comments_test_idx`,
		`CREATE INDEX analysis_comments_test_prefix_idx ON analysis_comments (substr(test_name, 1, 500))`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	type reviewRowV2 struct {
		bun.BaseModel `bun:"table:analysis_failure_reviews_v2"`

		JobID     string    `bun:"job_id,pk"`
		KeyDigest string    `bun:"review_key_digest,pk"`
		ReviewKey string    `bun:"review_key,type:text,notnull"`
		Reviewed  bool      `bun:"reviewed,notnull"`
		Username  string    `bun:"username,notnull"`
		UpdatedAt time.Time `bun:"updated_at,notnull"`
	}
	if _, err := tx.NewCreateTable().Model((*reviewRowV2)(nil)).Exec(ctx); err != nil {
		return fmt.Errorf("create reviews v2: %w", err)
	}
	var old []reviewRowV2
	if err := tx.NewSelect().Table("analysis_failure_reviews").Column("job_id", "review_key", "reviewed", "username", "updated_at").Scan(ctx, &old); err != nil {
		return fmt.Errorf("read reviews: %w", err)
	}
	for i := range old {
		sum := sha256.Sum256([]byte(old[i].ReviewKey))
		old[i].KeyDigest = hex.EncodeToString(sum[:])
	}
	if len(old) > 0 {
		if _, err := tx.NewInsert().Model(&old).Exec(ctx); err != nil {
			return fmt.Errorf("copy reviews: %w", err)
		}
	}
	for _, stmt := range []string{
		`DROP TABLE analysis_failure_reviews`,
		`ALTER TABLE analysis_failure_reviews_v2 RENAME TO analysis_failure_reviews`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// whereTestName restricts q to rows whose test name is name. It compares
// first the prefix that the test-name indexes hold, written exactly as in
// their definition so that both engines use them, then the whole name.
func whereTestName(q *bun.SelectQuery, name string) *bun.SelectQuery {
	return q.Where("substr(test_name, 1, 500) = substr(?, 1, 500)", name).Where("test_name = ?", name)
}

// BunStore is the bun implementation of Store.
type BunStore struct {
	db bun.IDB
	// lockRows makes GetResult lock the row it reads (inside Atomically on
	// PostgreSQL; SQLite transactions here take the write lock as they
	// begin, which serialises them already).
	lockRows bool
}

// NewBunStore returns a Store on db (a *bun.DB or a transaction).
func NewBunStore(db bun.IDB) *BunStore { return &BunStore{db: db} }

var failureOutcomes = []string{string(Failed), string(Errored)}

func toResultRow(r StoredResult) (*resultRow, error) {
	raw := r.Result
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	result, err := compress(raw)
	if err != nil {
		return nil, err
	}
	return &resultRow{
		JobID: r.JobID, JobName: r.JobName, BuildNumber: r.BuildNumber, JenkinsURL: r.JenkinsURL,
		Status: r.Status, RequestParams: store.JSON[map[string]any]{V: StripSecrets(r.RequestParams)}, Result: result, Error: r.Error,
		ProgressPhase: r.ProgressPhase, ProgressLog: store.JSON[[]ProgressEntry]{V: r.ProgressLog},
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, CompletedAt: r.CompletedAt,
	}, nil
}

func fromResultRow(row *resultRow) (StoredResult, error) {
	r := StoredResult{
		JobID: row.JobID, JobName: row.JobName, BuildNumber: row.BuildNumber, JenkinsURL: row.JenkinsURL,
		Status: row.Status, Error: row.Error, RequestParams: row.RequestParams.V,
		ProgressPhase: row.ProgressPhase, ProgressLog: row.ProgressLog.V,
		CreatedAt: row.CreatedAt, StartedAt: row.StartedAt, CompletedAt: row.CompletedAt,
	}
	result, err := decompress(row.Result)
	if err != nil {
		return StoredResult{}, fmt.Errorf("decode result of %s: %w", row.JobID, err)
	}
	r.Result = result
	return r, nil
}

func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("compress result: %w", err)
	}
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("compress result: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress result: %w", err)
	}
	return buf.Bytes(), nil
}

func decompress(b []byte) (json.RawMessage, error) {
	var d decompressor
	return d.decompress(b)
}

// decompressor decompresses results one after another with one gzip
// reader: its window and tables are most of the cost of a small result.
type decompressor struct{ zr *gzip.Reader }

func (d *decompressor) decompress(b []byte) (json.RawMessage, error) {
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(bytes.NewReader(b))
	} else {
		err = d.zr.Reset(bytes.NewReader(b))
	}
	if err != nil {
		return nil, err
	}
	defer d.zr.Close()
	return io.ReadAll(d.zr)
}

// SaveResult implements Store.
func (s *BunStore) SaveResult(ctx context.Context, r StoredResult) error {
	row, err := toResultRow(r)
	if err != nil {
		return err
	}
	_, err = s.db.NewInsert().Model(row).
		On("CONFLICT (job_id) DO UPDATE").
		Set("job_name = EXCLUDED.job_name, build_number = EXCLUDED.build_number, jenkins_url = EXCLUDED.jenkins_url").
		Set("status = EXCLUDED.status, request_params = EXCLUDED.request_params, result = EXCLUDED.result").
		Set("error = EXCLUDED.error, progress_phase = EXCLUDED.progress_phase, progress_log = EXCLUDED.progress_log").
		Set("started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("save result %s: %w", r.JobID, store.Translate(err))
	}
	return nil
}

// Atomically implements Store.
func (s *BunStore) Atomically(ctx context.Context, fn func(ctx context.Context, st Store) error) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(ctx, &BunStore{db: tx, lockRows: store.LocksRows(tx)})
	})
}

// GetResult implements Store.
func (s *BunStore) GetResult(ctx context.Context, jobID string) (StoredResult, error) {
	row := new(resultRow)
	q := s.db.NewSelect().Model(row).Where("job_id = ?", jobID)
	if s.lockRows {
		q = q.For("UPDATE")
	}
	if err := store.ScanOne(ctx, q, "analysis job %s not found", jobID); err != nil {
		return StoredResult{}, fmt.Errorf("get result %s: %w", jobID, err)
	}
	return fromResultRow(row)
}

// ListResults implements Store.
func (s *BunStore) ListResults(ctx context.Context, limit int) ([]StoredResult, error) {
	var rows []resultRow
	if err := (store.Page{Limit: limit}).Apply(s.db.NewSelect().Model(&rows).Order("created_at DESC", "job_id")).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list results: %w", store.Translate(err))
	}
	out := make([]StoredResult, 0, len(rows))
	for i := range rows {
		r, err := fromResultRow(&rows[i])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// SummarizeResults implements Store: one query, the counters by correlated
// subqueries on the job_id indexes, and no result body is read for a job
// that is not completed.
func (s *BunStore) SummarizeResults(ctx context.Context, limit int) ([]ResultSummary, error) {
	var rows []struct {
		JobID         string     `bun:"job_id"`
		JobName       string     `bun:"job_name"`
		BuildNumber   int        `bun:"build_number"`
		JenkinsURL    string     `bun:"jenkins_url"`
		Status        string     `bun:"status"`
		Error         string     `bun:"error"`
		Result        []byte     `bun:"result"`
		CreatedAt     time.Time  `bun:"created_at"`
		StartedAt     *time.Time `bun:"started_at"`
		CompletedAt   *time.Time `bun:"completed_at"`
		CommentCount  int        `bun:"comment_count"`
		ReviewedCount int        `bun:"reviewed_count"`
	}
	err := store.Page{Limit: limit}.Apply(s.db.NewSelect().Model((*resultRow)(nil)).
		Column("job_id", "job_name", "build_number", "jenkins_url", "status", "error", "created_at", "started_at", "completed_at").
		ColumnExpr("CASE WHEN ar.status = ? THEN ar.result END AS result", JobCompleted).
		ColumnExpr("(SELECT COUNT(*) FROM analysis_comments AS cm WHERE cm.job_id = ar.job_id) AS comment_count").
		ColumnExpr("(SELECT COUNT(*) FROM analysis_failure_reviews AS rv WHERE rv.job_id = ar.job_id AND rv.reviewed = ?) AS reviewed_count", true).
		Order("created_at DESC", "job_id")).
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("summarize results: %w", store.Translate(err))
	}
	out := make([]ResultSummary, len(rows))
	var d decompressor
	for i, r := range rows {
		out[i] = ResultSummary{
			JobID: r.JobID, JobName: r.JobName, BuildNumber: r.BuildNumber, JenkinsURL: r.JenkinsURL,
			Status: r.Status, Error: r.Error, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, CompletedAt: r.CompletedAt,
			CommentCount: r.CommentCount, ReviewedCount: r.ReviewedCount,
		}
		if r.Result != nil {
			body, err := d.decompress(r.Result)
			if err != nil {
				return nil, fmt.Errorf("decode result of %s: %w", r.JobID, err)
			}
			out[i].Result = body
		}
	}
	return out, nil
}

// AppendProgress implements Store.
func (s *BunStore) AppendProgress(ctx context.Context, jobID string, e ProgressEntry) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(resultRow)
		q := tx.NewSelect().Model(row).Column("progress_log").Where("job_id = ?", jobID)
		if err := store.ScanOne(ctx, q, "analysis job %s not found", jobID); err != nil {
			return fmt.Errorf("read progress of %s: %w", jobID, err)
		}
		plog := store.JSON[[]ProgressEntry]{V: append(row.ProgressLog.V, e)}
		_, err := store.Exec(ctx, tx.NewUpdate().Model((*resultRow)(nil)).
			Set("progress_phase = ?", e.Phase).Set("progress_log = ?", plog).
			Where("job_id = ?", jobID))
		if err != nil {
			return fmt.Errorf("update progress of %s: %w", jobID, err)
		}
		return nil
	})
}

// DeleteResult implements Store.
func (s *BunStore) DeleteResult(ctx context.Context, jobID string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, m := range []any{(*historyRow)(nil), (*classificationRow)(nil), (*commentRow)(nil), (*reviewRow)(nil)} {
			if _, err := tx.NewDelete().Model(m).Where("job_id = ?", jobID).Exec(ctx); err != nil {
				return fmt.Errorf("delete %T of %s: %w", m, jobID, store.Translate(err))
			}
		}
		q := tx.NewDelete().Model((*resultRow)(nil)).Where("job_id = ?", jobID)
		if err := store.ExecOne(ctx, q, "analysis job %s not found", jobID); err != nil {
			return fmt.Errorf("delete result %s: %w", jobID, err)
		}
		return nil
	})
}

// recordBatch is how many rows one INSERT carries (bun inlines the values,
// so SQLite's bound-parameter limit does not apply).
const recordBatch = 5000

// RecordOutcomes implements Store.
func (s *BunStore) RecordOutcomes(ctx context.Context, rows []HistoryRow) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		batch := make([]historyRow, 0, min(len(rows), recordBatch))
		for start := 0; start < len(rows); start += recordBatch {
			batch = batch[:0]
			for _, r := range rows[start:min(start+recordBatch, len(rows))] {
				batch = append(batch, historyRow{
					JobID: r.JobID, JobName: r.JobName, BuildNumber: r.BuildNumber,
					ChildJobName: r.ChildJobName, ChildBuildNumber: r.ChildBuildNumber,
					TestName: r.TestName, Outcome: string(r.Outcome), ErrorMessage: r.ErrorMessage,
					ErrorSignature: r.ErrorSignature, Classification: string(r.Classification), AnalyzedAt: r.AnalyzedAt,
				})
			}
			if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
				return fmt.Errorf("record outcomes: %w", store.Translate(err))
			}
		}
		return nil
	})
}

// SetClassification implements Store.
func (s *BunStore) SetClassification(ctx context.Context, jobID, signature string, c Classification) (int, error) {
	n, err := store.Exec(ctx, s.db.NewUpdate().Model((*historyRow)(nil)).Set("classification = ?", string(c)).
		Where("job_id = ?", jobID).Where("error_signature = ?", signature).Where("outcome IN (?)", bun.In(failureOutcomes)))
	if err != nil {
		return 0, fmt.Errorf("set classification in %s: %w", jobID, err)
	}
	return int(n), nil
}

func fromHistoryRows(rows []historyRow) []HistoryRow {
	out := make([]HistoryRow, len(rows))
	for i, r := range rows {
		out[i] = HistoryRow{
			ID: r.ID, JobID: r.JobID, JobName: r.JobName, BuildNumber: r.BuildNumber,
			ChildJobName: r.ChildJobName, ChildBuildNumber: r.ChildBuildNumber, TestName: r.TestName,
			Outcome: Outcome(r.Outcome), ErrorMessage: r.ErrorMessage, ErrorSignature: r.ErrorSignature,
			Classification: Classification(r.Classification), AnalyzedAt: r.AnalyzedAt,
		}
	}
	return out
}

// likePattern escapes LIKE wildcards so the search text matches literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// ListFailures implements Store.
func (s *BunStore) ListFailures(ctx context.Context, f HistoryFilter) ([]HistoryRow, int, error) {
	var rows []historyRow
	q := s.db.NewSelect().Model(&rows).Where("outcome IN (?)", bun.In(failureOutcomes))
	if f.Search != "" {
		p := likePattern(f.Search)
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where(`LOWER(test_name) LIKE ? ESCAPE '\'`, p).
				WhereOr(`LOWER(error_message) LIKE ? ESCAPE '\'`, p).
				WhereOr(`LOWER(job_name) LIKE ? ESCAPE '\'`, p)
		})
	}
	if f.JobName != "" {
		q = q.Where("job_name = ?", f.JobName)
	}
	if f.Classification != "" {
		q = q.Where("classification = ?", string(f.Classification))
	}
	total, err := store.Page{Limit: f.Limit, Offset: f.Offset}.Apply(q.Order("analyzed_at DESC", "id DESC")).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list failure history: %w", store.Translate(err))
	}
	return fromHistoryRows(rows), int(total), nil
}

// TestHistory implements Store.
func (s *BunStore) TestHistory(ctx context.Context, testName, jobName, excludeJobID string) ([]HistoryRow, error) {
	var rows []historyRow
	q := whereTestName(s.db.NewSelect().Model(&rows), testName)
	if jobName != "" {
		q = q.Where("job_name = ?", jobName)
	}
	if excludeJobID != "" {
		q = q.Where("job_id <> ?", excludeJobID)
	}
	if err := q.Order("analyzed_at DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("test history: %w", store.Translate(err))
	}
	return fromHistoryRows(rows), nil
}

// SignatureFailures implements Store.
func (s *BunStore) SignatureFailures(ctx context.Context, signature, excludeJobID string) ([]HistoryRow, error) {
	var rows []historyRow
	q := s.db.NewSelect().Model(&rows).Where("error_signature = ?", signature).Where("outcome IN (?)", bun.In(failureOutcomes))
	if excludeJobID != "" {
		q = q.Where("job_id <> ?", excludeJobID)
	}
	if err := q.Order("analyzed_at DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("signature history: %w", store.Translate(err))
	}
	return fromHistoryRows(rows), nil
}

// JobRuns implements Store. A run's rows share one analyzed_at (they are
// recorded together), so grouping by it keeps the column's native type.
func (s *BunStore) JobRuns(ctx context.Context, jobName, excludeJobID string) ([]RunSummary, error) {
	var rows []struct {
		JobID      string    `bun:"job_id"`
		AnalyzedAt time.Time `bun:"analyzed_at"`
		Failures   int       `bun:"failures"`
	}
	q := s.db.NewSelect().Model((*historyRow)(nil)).
		Column("job_id", "analyzed_at").
		ColumnExpr("SUM(CASE WHEN outcome IN (?) THEN 1 ELSE 0 END) AS failures", bun.In(failureOutcomes)).
		Where("job_name = ?", jobName)
	if excludeJobID != "" {
		q = q.Where("job_id <> ?", excludeJobID)
	}
	if err := q.Group("job_id", "analyzed_at").Order("analyzed_at DESC").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("job runs of %s: %w", jobName, store.Translate(err))
	}
	out := make([]RunSummary, len(rows))
	for i, r := range rows {
		out[i] = RunSummary{JobID: r.JobID, AnalyzedAt: r.AnalyzedAt, Failures: r.Failures}
	}
	return out, nil
}

// TopFailures implements Store.
func (s *BunStore) TopFailures(ctx context.Context, jobName, excludeJobID string, limit int) ([]FailureCount, error) {
	var out []FailureCount
	q := s.db.NewSelect().Model((*historyRow)(nil)).
		Column("test_name", "classification").ColumnExpr("COUNT(*) AS count").
		Where("job_name = ?", jobName).Where("outcome IN (?)", bun.In(failureOutcomes))
	if excludeJobID != "" {
		q = q.Where("job_id <> ?", excludeJobID)
	}
	if err := (store.Page{Limit: limit}).Apply(q.Group("test_name", "classification").OrderExpr("count DESC, test_name")).Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("top failures of %s: %w", jobName, store.Translate(err))
	}
	return out, nil
}

// AddClassification implements Store.
func (s *BunStore) AddClassification(ctx context.Context, c *TestClassification) error {
	row := &classificationRow{
		TestName: c.TestName, JobName: c.JobName, ParentJobName: c.ParentJobName, Classification: c.Classification,
		Reason: c.Reason, References: c.References, CreatedBy: c.CreatedBy, JobID: c.JobID,
		ChildBuildNumber: c.ChildBuildNumber, IsPrimary: c.Primary, Visible: c.Visible,
		ErrorSignature: c.ErrorSignature, ErrorMessage: c.ErrorMessage, StackTrace: c.StackTrace, CreatedAt: c.CreatedAt,
	}
	if _, err := s.db.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("add classification: %w", store.Translate(err))
	}
	c.ID = row.ID
	return nil
}

// ListClassifications implements Store.
func (s *BunStore) ListClassifications(ctx context.Context, f ClassificationFilter) ([]TestClassification, error) {
	var rows []classificationRow
	q := s.db.NewSelect().Model(&rows)
	if f.TestName != "" {
		q = whereTestName(q, f.TestName)
	}
	for _, w := range []struct{ col, v string }{
		{"classification", f.Classification}, {"job_name", f.JobName},
		{"parent_job_name", f.ParentJobName}, {"job_id", f.JobID},
	} {
		if w.v != "" {
			q = q.Where("? = ?", bun.Ident(w.col), w.v)
		}
	}
	if f.PrimaryOnly {
		q = q.Where("is_primary = ?", true)
	}
	if f.VisibleOnly {
		q = q.Where("visible = ?", true)
	}
	if err := q.Order("created_at DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list classifications: %w", store.Translate(err))
	}
	out := make([]TestClassification, len(rows))
	for i, r := range rows {
		out[i] = TestClassification{
			ID: r.ID, TestName: r.TestName, JobName: r.JobName, ParentJobName: r.ParentJobName,
			Classification: r.Classification, Reason: r.Reason, References: r.References, CreatedBy: r.CreatedBy,
			JobID: r.JobID, ChildBuildNumber: r.ChildBuildNumber, CreatedAt: r.CreatedAt, Primary: r.IsPrimary,
			Visible: r.Visible, ErrorSignature: r.ErrorSignature, ErrorMessage: r.ErrorMessage, StackTrace: r.StackTrace,
		}
	}
	return out, nil
}

// Examples implements ExampleSource: the visible primary classifications,
// oldest first, so that a later decision on a signature replaces an earlier
// one when they are added to a SimilarityIndex.
func (s *BunStore) Examples(ctx context.Context) ([]LabeledFailure, error) {
	labels, err := s.ListClassifications(ctx, ClassificationFilter{PrimaryOnly: true, VisibleOnly: true})
	if err != nil {
		return nil, err
	}
	out := make([]LabeledFailure, 0, len(labels))
	for i := len(labels) - 1; i >= 0; i-- {
		c := labels[i]
		if c.ErrorMessage == "" && c.StackTrace == "" {
			continue
		}
		out = append(out, LabeledFailure{
			Signature: c.ErrorSignature, TestName: c.TestName, Message: c.ErrorMessage, StackTrace: c.StackTrace,
			Classification: Classification(c.Classification), Note: c.Reason, LabeledBy: c.CreatedBy, JobID: c.JobID,
		})
	}
	return out, nil
}

// AddComment implements Store.
func (s *BunStore) AddComment(ctx context.Context, c *Comment) error {
	row := &commentRow{
		JobID: c.JobID, TestName: c.TestName, ChildJobName: c.ChildJobName, ChildBuildNumber: c.ChildBuildNumber,
		Comment: c.Comment, ErrorSignature: c.ErrorSignature, Username: c.Username, CreatedAt: c.CreatedAt,
	}
	if _, err := s.db.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("add comment: %w", store.Translate(err))
	}
	c.ID = row.ID
	return nil
}

func fromCommentRows(rows []commentRow) []Comment {
	out := make([]Comment, len(rows))
	for i, r := range rows {
		out[i] = Comment{
			ID: r.ID, JobID: r.JobID, TestName: r.TestName, ChildJobName: r.ChildJobName, ChildBuildNumber: r.ChildBuildNumber,
			Comment: r.Comment, ErrorSignature: r.ErrorSignature, Username: r.Username, CreatedAt: r.CreatedAt,
		}
	}
	return out
}

// ListComments implements Store.
func (s *BunStore) ListComments(ctx context.Context, jobID string) ([]Comment, error) {
	var rows []commentRow
	if err := s.db.NewSelect().Model(&rows).Where("job_id = ?", jobID).Order("created_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list comments of %s: %w", jobID, store.Translate(err))
	}
	return fromCommentRows(rows), nil
}

// CommentsFor implements Store.
func (s *BunStore) CommentsFor(ctx context.Context, testName, signature string) ([]Comment, error) {
	var rows []commentRow
	q := s.db.NewSelect().Model(&rows)
	switch {
	case testName != "":
		q = whereTestName(q, testName)
	case signature != "":
		q = q.Where("error_signature = ?", signature)
	default:
		return nil, nil
	}
	if err := q.Order("created_at DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("comments: %w", store.Translate(err))
	}
	return fromCommentRows(rows), nil
}

// GetComment implements Store.
func (s *BunStore) GetComment(ctx context.Context, jobID string, id int64) (Comment, error) {
	rows := make([]commentRow, 1)
	q := s.db.NewSelect().Model(&rows[0]).Where("job_id = ?", jobID).Where("id = ?", id)
	if err := store.ScanOne(ctx, q, "comment %d not found", id); err != nil {
		return Comment{}, fmt.Errorf("get comment %d: %w", id, err)
	}
	return fromCommentRows(rows)[0], nil
}

// DeleteComment implements Store.
func (s *BunStore) DeleteComment(ctx context.Context, jobID string, id int64) error {
	q := s.db.NewDelete().Model((*commentRow)(nil)).Where("job_id = ?", jobID).Where("id = ?", id)
	if err := store.ExecOne(ctx, q, "comment %d not found", id); err != nil {
		return fmt.Errorf("delete comment %d: %w", id, err)
	}
	return nil
}

// SetReview implements Store.
func (s *BunStore) SetReview(ctx context.Context, r Review) error {
	row := &reviewRow{JobID: r.JobID, KeyDigest: reviewKeyDigest(r.Key), ReviewKey: r.Key, Reviewed: r.Reviewed, Username: r.Username, UpdatedAt: r.UpdatedAt}
	_, err := s.db.NewInsert().Model(row).
		On("CONFLICT (job_id, review_key_digest) DO UPDATE").
		Set("reviewed = EXCLUDED.reviewed, username = EXCLUDED.username, updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("set review: %w", store.Translate(err))
	}
	return nil
}

// ListReviews implements Store.
func (s *BunStore) ListReviews(ctx context.Context, jobID string) ([]Review, error) {
	var rows []reviewRow
	if err := s.db.NewSelect().Model(&rows).Where("job_id = ?", jobID).Order("review_key").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list reviews of %s: %w", jobID, store.Translate(err))
	}
	out := make([]Review, len(rows))
	for i, r := range rows {
		out[i] = Review{JobID: r.JobID, Key: r.ReviewKey, Reviewed: r.Reviewed, Username: r.Username, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}
