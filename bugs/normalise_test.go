package bugs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bugflow/bugflow/bugs"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Connection timeout after 30000ms", "Connection timeout after <duration>"},
		{"retry in 1.5 s", "retry in <duration>"},
		{"user 42 not found", "user <n> not found"},
		{"order_123 failed", "order_<n> failed"},
		{"GET https://api.example.com/v1/users/17?x=1 failed", "GET <url> failed"},
		{"mail to jane.doe+x@example.co.uk bounced", "mail to <email> bounced"},
		{"row 3f2b8c1e-9a4d-4e5f-8a6b-1c2d3e4f5a6b missing", "row <uuid> missing"},
		{"at 2025-02-14T10:00:00Z and 2025-02-14 10:00:00.123+01:00", "at <date> and <date>"},
		{"since 2025-02-14", "since <date>"},
		{"took until 10:42:07", "took until <date>"},
		{"dial tcp 10.0.0.12:5432: connect: connection refused", "dial tcp <ip>: connect: connection refused"},
		{"peer 2001:db8::8a2e:370:7334 reset", "peer <ip> reset"},
		{"object 0xc000123abc freed", "object <hex> freed"},
		{"commit 9f1c2e4a77d0 not found", "commit <hex> not found"},
		{"deadbeef and facade stay words", "deadbeef and facade stay words"},
		{`Cannot read property "length" of undefined`, "Cannot read property <quoted> of undefined"},
		{"key 'abc' missing in `cfg`", "key <quoted> missing in <quoted>"},
		{"can't open user's file", "can't open user's file"},
		{"  many \n\t spaces  ", "many spaces"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := bugs.Normalise(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, bugs.Normalise(got), "idempotent")
		})
	}
}

func TestNormaliseGroups(t *testing.T) {
	same := [][2]string{
		{"User 123 not found", "User 98765 not found"},
		{"Order 3f2b8c1e-9a4d-4e5f-8a6b-1c2d3e4f5a6b failed", "Order 0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f9 failed"},
		{`duplicate key value "alice@example.com"`, `duplicate key value "bob@example.org"`},
		{"Connection timeout after 30000ms", "Connection timeout after 5000ms"},
		{"GET /api/pages/page_17 returned 502", "GET /api/pages/page_923 returned 504"},
	}
	for _, p := range same {
		assert.Equal(t, bugs.Normalise(p[0]), bugs.Normalise(p[1]), "%q vs %q", p[0], p[1])
		assert.Equal(t, bugs.Fingerprint(bugs.SourceAutoServer, "", p[0]), bugs.Fingerprint(bugs.SourceAutoServer, "", p[1]))
	}
	different := [][2]string{
		{"User 123 not found", "Page 123 not found"},
		{"Connection refused", "Connection reset by peer"},
		{"Cannot read property of undefined", "Cannot read property of null"},
		{"permission denied", "permission granted"},
	}
	for _, p := range different {
		assert.NotEqual(t, bugs.Normalise(p[0]), bugs.Normalise(p[1]), "%q vs %q", p[0], p[1])
		assert.NotEqual(t, bugs.Fingerprint(bugs.SourceAutoServer, "", p[0]), bugs.Fingerprint(bugs.SourceAutoServer, "", p[1]))
	}
}

func TestFingerprint(t *testing.T) {
	fp := bugs.Fingerprint(bugs.SourceAutoServer, "ws_1", "boom 1")
	assert.Len(t, fp, 64)
	assert.Equal(t, strings.ToLower(fp), fp)
	assert.Equal(t, fp, bugs.Fingerprint(bugs.SourceAutoServer, "ws_1", "boom 2"))
	assert.NotEqual(t, fp, bugs.Fingerprint(bugs.SourceAutoClient, "ws_1", "boom 1"), "the source is part of the key")
	assert.NotEqual(t, fp, bugs.Fingerprint(bugs.SourceAutoServer, "ws_2", "boom 1"), "the workspace is part of the key")
	assert.NotEqual(t, fp, bugs.Fingerprint(bugs.SourceAutoServer, "", "boom 1"), "no workspace is a key of its own")
	assert.NotEqual(t, bugs.Fingerprint(bugs.SourceAutoServer, "ws", "1:x"), bugs.Fingerprint(bugs.SourceAutoServer, "ws1:", "x"),
		"parts cannot run into each other")
	// The key's format is fixed for a version: changing it needs a new
	// NormaliserVersion, or stored reports would stop matching.
	assert.Equal(t, 2, bugs.NormaliserVersion)
	assert.Equal(t, hashParts("auto:server", "2", "ws_1", "boom <n>"), fp)
}

// hashParts is the fingerprint format written out: each part as its
// length, ':' and itself, hashed with SHA-256.
func hashParts(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func FuzzNormalise(f *testing.F) {
	for _, seed := range []string{
		"Connection timeout after 30000ms",
		`Cannot read property "length" of undefined`,
		"'a''b' 5'a' \"x\"'y' `q`",
		"dial tcp 10.0.0.12:5432 at 2025-02-14T10:00:00Z for jane@example.com",
		"https://x.example/a?b=1 0xdeadBEEF 3f2b8c1e-9a4d-4e5f-8a6b-1c2d3e4f5a6b",
		"fe80::1%eth0 ::1 a:b:c 1:2:3",
		"\"a\nb\" \xff\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		once := bugs.Normalise(msg)
		twice := bugs.Normalise(once)
		if once != twice {
			t.Fatalf("not idempotent:\n in:    %q\n once:  %q\n twice: %q", msg, once, twice)
		}
	})
}
