package errs_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
)

func TestKindsMatchTheirSentinelsThroughWrapping(t *testing.T) {
	tests := []struct {
		err      error
		sentinel error
		kind     errs.Kind
	}{
		{errs.NotFoundf("bug %d", 7), errs.ErrNotFound, errs.NotFound},
		{errs.Conflictf("taken"), errs.ErrConflict, errs.Conflict},
		{errs.InvalidField("email", "bad"), errs.ErrInvalid, errs.Invalid},
		{errs.Unauthorizedf("who"), errs.ErrUnauthorized, errs.Unauthorized},
		{errs.Forbiddenf("no"), errs.ErrForbidden, errs.Forbidden},
		{errs.Gonef("expired"), errs.ErrGone, errs.Gone},
		{errs.RateLimitedf(time.Minute, "slow"), errs.ErrRateLimited, errs.RateLimited},
		{errs.Unavailablef("down"), errs.ErrUnavailable, errs.Unavailable},
		{errs.TooLargef("big"), errs.ErrTooLarge, errs.TooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			wrapped := fmt.Errorf("service: %w", tt.err)
			assert.ErrorIs(t, wrapped, tt.sentinel)
			assert.Equal(t, tt.kind, errs.KindOf(wrapped))
			for _, other := range []error{errs.ErrNotFound, errs.ErrConflict, errs.ErrInternal} {
				if other != tt.sentinel {
					assert.NotErrorIs(t, wrapped, other)
				}
			}
		})
	}
}

func TestUnclassifiedErrorsAreInternal(t *testing.T) {
	assert.Equal(t, errs.Internal, errs.KindOf(errors.New("boom")))
	assert.Nil(t, errs.As(errors.New("boom")))
	assert.Equal(t, errs.Internal, errs.KindOf(nil))
}

func TestWrapKeepsTheCause(t *testing.T) {
	cause := errors.New("driver: duplicate key")
	err := errs.Wrap(errs.Conflict, cause, "username %q is taken", "ann")
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, `username "ann" is taken`, err.Message, "the caller-facing message has no driver text")
	assert.Contains(t, err.Error(), "driver: duplicate key", "the log text has it")
}

func TestWithFieldDoesNotMutateTheOriginal(t *testing.T) {
	base := errs.Invalidf("invalid input").WithField("a", "one")
	more := base.WithField("a", "two").WithField("b", "three")
	assert.Equal(t, map[string][]string{"a": {"one"}}, base.Fields)
	assert.Equal(t, map[string][]string{"a": {"one", "two"}, "b": {"three"}}, more.Fields)
	assert.Equal(t, []string{"a", "b"}, more.FieldNames())
}

func TestRateLimitedCarriesRetryAfter(t *testing.T) {
	err := fmt.Errorf("signin: %w", errs.RateLimitedf(42*time.Second, "wait"))
	e := errs.As(err)
	require.NotNil(t, e)
	assert.Equal(t, 42*time.Second, e.RetryAfter)
}

func TestKindNames(t *testing.T) {
	assert.Equal(t, "not_found", errs.NotFound.String())
	assert.Equal(t, "rate_limited", errs.RateLimited.String())
	assert.Equal(t, "kind(99)", errs.Kind(99).String())
}
