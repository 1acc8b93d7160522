package client

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The waits themselves are not observable without a clock, so the choice of
// wait is tested here and the retrying end to end in client_test.go.
func TestBackoff(t *testing.T) {
	t.Parallel()
	answer := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	tests := []struct {
		name    string
		attempt int
		resp    *http.Response
		want    time.Duration
	}{
		{"connection error", 0, nil, retryWaitMin},
		{"exponential", 2, answer(503, ""), 4 * retryWaitMin},
		{"ceiling", 20, answer(503, ""), retryWaitMax},
		{"429 seconds", 0, answer(429, "3"), 3 * time.Second},
		{"503 seconds", 5, answer(503, "0"), 0},
		{"500 seconds too", 0, answer(500, "2"), 2 * time.Second},
		{"date in the past", 0, answer(503, "Fri, 31 Dec 1999 23:59:59 GMT"), 0},
		{"garbage", 1, answer(503, "soon"), 2 * retryWaitMin},
		{"negative", 1, answer(503, "-1"), 2 * retryWaitMin},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, backoff(retryWaitMin, retryWaitMax, tt.attempt, tt.resp), tt.name)
	}
}

func TestRetryAfterDate(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	d, ok := retryAfter(&http.Response{Header: h})
	assert.True(t, ok)
	assert.Greater(t, d, 59*time.Minute)
	assert.LessOrEqual(t, d, time.Hour)
}

func TestRetryAfterHugeDoesNotOverflow(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Retry-After", "9223372036854775807")
	d, ok := retryAfter(&http.Response{Header: h})
	assert.True(t, ok)
	assert.Greater(t, d, retryWaitMax)
}
