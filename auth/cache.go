package auth

import (
	"sync"
	"time"
)

// DefaultIdentityCacheTTL is how long Authenticate reuses the identity it
// found for an API key or a session token. It bounds how long a key that
// another process revoked (rotated, its user demoted or deleted), or a
// session that another process ended, keeps working here: at most this
// long. In the process that revokes or ends it, it stops at once.
const DefaultIdentityCacheTTL = time.Second

// identityCacheCapacity bounds the cached tokens; when full the cache is
// emptied, which costs one lookup per active token.
const identityCacheCapacity = 10000

// identityCache remembers recent API-key and session identities by token
// digest, so that a client sending many requests costs one lookup per TTL
// instead of two queries per request.
type identityCache struct {
	ttl time.Duration // <= 0: off
	mu  sync.Mutex
	m   map[string]cachedIdentity
	// gen counts clears: an identity read before a clear is not cached
	// after it, so that a revocation racing a lookup cannot be undone.
	gen uint64
}

type cachedIdentity struct {
	id      Identity
	expires time.Time
}

func newIdentityCache(ttl time.Duration) *identityCache {
	return &identityCache{ttl: ttl, m: map[string]cachedIdentity{}}
}

// get returns a copy of the identity cached for digest d if it is still
// fresh at now.
func (c *identityCache) get(d string, now time.Time) (*Identity, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[d]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(c.m, d)
		return nil, false
	}
	id := e.id
	id.User.Roles = append([]string(nil), e.id.User.Roles...)
	return &id, true
}

// generation returns the count of clears, read before a lookup whose
// result put will cache.
func (c *identityCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches id for d until now+TTL, or until the session expires if that
// is sooner, unless the cache was cleared since generation gen.
func (c *identityCache) put(d string, id *Identity, now time.Time, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	expires := now.Add(c.ttl)
	if !id.SessionExpiresAt.IsZero() && id.SessionExpiresAt.Before(expires) {
		expires = id.SessionExpiresAt
	}
	stored := *id
	stored.User.Roles = append([]string(nil), id.User.Roles...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= identityCacheCapacity {
		clear(c.m)
	}
	c.m[d] = cachedIdentity{id: stored, expires: expires}
}

// clear forgets every cached identity: called by every change in this
// process that may revoke a key, end a session or change a user's roles.
func (c *identityCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}
