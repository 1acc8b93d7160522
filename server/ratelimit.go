package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimiter allows each key (a client IP, an email address) a burst of
// requests and then one more every interval: a token bucket per key. Keys
// whose bucket has refilled completely are forgotten, so memory stays
// bounded by the number of recently active keys. It is safe for concurrent
// use.
type RateLimiter struct {
	every   rate.Limit
	burst   int
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// DefaultRateLimitKeys bounds how many keys a RateLimiter tracks before it
// sweeps idle ones.
const DefaultRateLimitKeys = 100_000

// NewRateLimiter allows burst requests per key at once, refilled at one
// request per interval.
func NewRateLimiter(interval time.Duration, burst int) *RateLimiter {
	return &RateLimiter{
		every:   rate.Every(interval),
		burst:   max(1, burst),
		maxKeys: DefaultRateLimitKeys,
		now:     time.Now,
		buckets: map[string]*rate.Limiter{},
	}
}

// Allow takes one request from key's bucket. When the bucket is empty it
// returns false and how long until a request would be allowed.
func (l *RateLimiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now)
		}
		b = rate.NewLimiter(l.every, l.burst)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// sweep forgets keys whose bucket is full again: they behave exactly like a
// new key. If every key is active, the map is cleared rather than grow
// without bound; that briefly forgives a flood of distinct keys, which is
// better than running out of memory.
func (l *RateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxKeys {
		clear(l.buckets)
	}
}
