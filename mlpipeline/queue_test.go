package mlpipeline

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/jobs"
	"github.com/bugflow/bugflow/internal/store"
)

// openQueue returns a job queue (not started) on a fresh database of url
// holding the service's tables and the queue's.
func openQueue(t *testing.T, url string) (*store.DB, *jobs.Queue) {
	t.Helper()
	db := dbtest.Open(t, url, append(Migrations(), jobs.Migrations()...))
	require.NoError(t, jobs.Migrate(context.Background(), db))
	q, err := jobs.New(db, jobs.Config{})
	require.NoError(t, err)
	return db, q
}

// recordingQueue queues jobs for real inside the transaction and records
// their ids; when fail is set it then fails, as a queue whose insert breaks
// after writing would.
type recordingQueue struct {
	*jobs.Queue
	fail     bool
	inserted int64
}

func (r *recordingQueue) InsertTx(ctx context.Context, tx bun.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := r.Queue.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return nil, err
	}
	r.inserted = res.Job.ID
	if r.fail {
		return nil, errors.New("queue broke after the insert")
	}
	return res, nil
}

// StartTraining records the training and its job in one transaction: when
// the job cannot be queued there is neither a training row nor a job, and
// when it can, both exist.
func TestStartTrainingIsOneTransaction(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, q := openQueue(t, url)
		alice := Caller{UserID: "alice"}
		req := TrainingRequest{Files: []string{"upload.csv"}}
		countTrainings := func() int64 {
			n, err := db.NewSelect().Model((*trainingJobRow)(nil)).Count(ctx)
			require.NoError(t, err)
			return n
		}

		broken := &recordingQueue{Queue: q, fail: true}
		_, err := New(NewBunStore(db.DB), Config{Queue: broken}).StartTraining(ctx, alice, req)
		require.ErrorIs(t, err, errs.ErrUnavailable)
		require.NotZero(t, broken.inserted, "the job was inserted before the failure")
		assert.Zero(t, countTrainings(), "no training row without its job")
		_, err = q.Job(ctx, broken.inserted)
		require.ErrorIs(t, err, errs.ErrNotFound, "no job without its training row")

		working := &recordingQueue{Queue: q}
		j, err := New(NewBunStore(db.DB), Config{Queue: working}).StartTraining(ctx, alice, req)
		require.NoError(t, err)
		assert.Equal(t, int64(1), countTrainings())
		queued, err := q.Job(ctx, working.inserted)
		require.NoError(t, err)
		assert.Equal(t, trainArgs{}.Kind(), queued.Kind)
		var args trainArgs
		require.NoError(t, json.Unmarshal(queued.EncodedArgs, &args))
		assert.Equal(t, j.ID, args.TrainingJobID)
	})
}

// Without a job queue StartTraining refuses rather than record a training
// that nothing would run.
func TestStartTrainingNeedsAQueue(t *testing.T) {
	db := dbtest.Open(t, "sqlite::memory:", Migrations())
	_, err := New(NewBunStore(db.DB), Config{}).StartTraining(context.Background(), Caller{UserID: "alice"}, TrainingRequest{Files: []string{"a.csv"}})
	require.ErrorIs(t, err, errs.ErrUnavailable)
}

// When the job queue gives up on a training job, whose worker process
// stopped or whose attempts failed, the training fails with the reason
// instead of staying Processing; jobs of other kinds are not touched.
func TestJobGivenUpFailsTheTraining(t *testing.T) {
	dbtest.ForEachDB(t, Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(NewBunStore(db.DB), Config{})
		alice := Caller{UserID: "alice"}
		j, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{"upload.csv"}})
		require.NoError(t, err)
		args, err := json.Marshal(trainArgs{TrainingJobID: j.ID})
		require.NoError(t, err)

		require.NoError(t, svc.JobGivenUp(ctx, &rivertype.JobRow{Kind: "other", EncodedArgs: args, Attempt: 10}))
		got, err := svc.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusProcessing, got.Status)

		stopped := []rivertype.AttemptError{{Attempt: 10, Error: jobs.WorkerStopped + `: River client "x" renewed no lease`}}
		require.NoError(t, svc.JobGivenUp(ctx, &rivertype.JobRow{Kind: trainArgs{}.Kind(), EncodedArgs: args, Attempt: 10, Errors: stopped}))
		got, err = svc.TrainingStatus(ctx, alice, j.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusFailed, got.Status)
		require.NotNil(t, got.Error)
		assert.Equal(t, "training was interrupted 10 times (its worker process stopped); giving up", got.Error.Message)

		// A job whose last attempt failed says so, without the attempt's
		// error (that is for operators).
		k, err := svc.CreateTraining(ctx, alice, TrainingRequest{Files: []string{"upload.csv"}})
		require.NoError(t, err)
		kargs, err := json.Marshal(trainArgs{TrainingJobID: k.ID})
		require.NoError(t, err)
		failed := []rivertype.AttemptError{{Attempt: 3, Error: "update progress: database is locked"}}
		require.NoError(t, svc.JobGivenUp(ctx, &rivertype.JobRow{Kind: trainArgs{}.Kind(), EncodedArgs: kargs, Attempt: 3, Errors: failed}))
		got, err = svc.TrainingStatus(ctx, alice, k.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusFailed, got.Status)
		require.NotNil(t, got.Error)
		assert.Equal(t, "training failed on each of its 3 attempts; giving up", got.Error.Message)

		require.Error(t, svc.JobGivenUp(ctx, &rivertype.JobRow{Kind: trainArgs{}.Kind(), EncodedArgs: []byte("{")}), "unreadable arguments are reported")
	})
}
