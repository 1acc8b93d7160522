package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Guessing a sign-in code is cut off twice over: five wrong codes kill the
// code, and one address gets ten sign-in attempts at once and then one every
// six seconds. Run with -v for the figures.
func TestSignInBruteForceIsCutOff(t *testing.T) {
	srv, mailDir := identityServer(t, "")
	c := srv.Raw // most of these requests are 429s, which is the point

	resp, body := rawPost(t, c, srv.URL+"/verify_email_and_generate_otp", `{"email": "victim@example.com"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	code := codeFor(t, mailDir, "victim@example.com")
	wrong := fmt.Sprintf("%06d", (atoiCode(code)+1)%1_000_000)
	for i := 1; i <= 5; i++ {
		resp, _ = rawPost(t, c, srv.URL+"/signin", `{"email": "victim@example.com", "otp": "`+wrong+`"}`)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "guess %d", i)
	}
	resp, _ = rawPost(t, c, srv.URL+"/signin", `{"email": "victim@example.com", "otp": "`+code+`"}`)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "after 5 wrong guesses even the right code fails")
	t.Logf("OTP guessing: 5 wrong guesses accepted as tries, the 6th attempt (the right code) refused: the code is dead")

	// 1,000 attempts from one address (the 6 above count too).
	const attempts = 1000
	statuses := map[int]int{}
	start := time.Now()
	for range attempts {
		resp, _ := rawPost(t, c, srv.URL+"/signin", `{"email": "victim@example.com", "otp": "123456"}`)
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			require.NotEmpty(t, resp.Header.Get("Retry-After"))
		}
	}
	elapsed := time.Since(start)
	t.Logf("1000 sign-in attempts from one address in %v: %d reached the code check (401), %d rate limited (429)",
		elapsed.Round(time.Millisecond), statuses[http.StatusUnauthorized], statuses[http.StatusTooManyRequests])
	// The bucket held 10, minus the 6 spent above, plus one per 6 s elapsed.
	allowed := 10 - 6 + int(elapsed/(6*time.Second)) + 1
	assert.LessOrEqual(t, statuses[http.StatusUnauthorized], allowed)
	assert.Equal(t, attempts, statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests])
}

func atoiCode(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
