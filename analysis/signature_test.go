package analysis

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalise(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"job 9f5d0a0c-32c0-4f3f-b5c4-3a5c3d35d4d0 failed", "job <uuid> failed"},
		{"at 2024-12-02T20:06:10.512+00:00 and 2020-09-04 16:18:04", "at <ts> and <ts>"},
		{"timestamp=Sat, 03 Dec 2022 23:10:07 GMT", "timestamp=<ts>"},
		{"Write at 0x00c000138168 by goroutine 8", "Write at <addr> by goroutine 8"},
		{"container 3f909e363d82 exited", "container <hex> exited"},
		{"pod api-server-7d9f8c6b5d-x2k4q not ready", "pod api-server-<pod> not ready"},
		{"build #1234 on worker-12", "build #<n> on worker-12"},
		{"cannot open /tmp/pytest-of-ci/pytest-42/test_x0/data.json: no such file", "cannot open <tmp>: no such file"},
		{"connect 10.0.3.17:5432 refused", "connect <ip>:5432 refused"},
		{"request id 123456789 took 1.5s", "request id <n> took <dur>"},
		{"mail bob@example.com bounced", "mail <email> bounced"},
		{"  expected   200 \t got 500  \n\n next ", "expected 200 got 500\nnext"},
		{"AssertionError: 143 != 0", "AssertionError: 143 != 0"},
		{"deadline-exceeded-handler", "deadline-exceeded-handler"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Normalise(tt.in), "Normalise(%q)", tt.in)
		assert.Equal(t, tt.want, Normalise(tt.want), "idempotent on %q", tt.want)
	}
}

func TestSignatureStableAcrossRuns(t *testing.T) {
	t.Parallel()
	javaStack := func(line int, ts string) string {
		return "java.lang.IllegalStateException: session " + ts + "\n" +
			"\tat com.acme.Orders.place(Orders.java:42)\n" +
			"\tat org.junit.runners.ParentRunner.run(ParentRunner.java:" + strings.Repeat("1", line) + ")\n"
	}
	base := Signature("order 9f5d0a0c-32c0-4f3f-b5c4-3a5c3d35d4d0 rejected at 2024-01-02T03:04:05Z", javaStack(3, "2024-01-02"))
	assert.Len(t, base, 64)
	assert.Equal(t, base, Signature("order 11111111-2222-3333-4444-555555555555 rejected at 2025-06-07T08:09:10Z", javaStack(3, "2025-06-07")),
		"only the UUID and the timestamps differ")
	assert.Equal(t, base, Signature("order 9f5d0a0c-32c0-4f3f-b5c4-3a5c3d35d4d0 rejected at 2024-01-02T03:04:05Z", javaStack(4, "2024-01-02")),
		"only a framework frame's line number differs")
	assert.NotEqual(t, base, Signature("order 9f5d0a0c-32c0-4f3f-b5c4-3a5c3d35d4d0 accepted at 2024-01-02T03:04:05Z", javaStack(3, "2024-01-02")),
		"a different message is a different failure")
	assert.NotEqual(t, base, Signature("order 9f5d0a0c-32c0-4f3f-b5c4-3a5c3d35d4d0 rejected at 2024-01-02T03:04:05Z",
		strings.Replace(javaStack(3, "2024-01-02"), "Orders.java:42", "Orders.java:57", 1)),
		"the line of product or test code identifies the failure")
}

func TestSignatureSameFailureInTwoReports(t *testing.T) {
	t.Parallel()
	// The same race report appears in a second run with other addresses.
	first := readSample(t, "22")
	second := bytes.ReplaceAll(first, []byte("0x00c000138168"), []byte("0x00c0000a4010"))
	second = bytes.ReplaceAll(second, []byte("+0x39"), []byte("+0x3f"))
	sig := func(b []byte) string {
		rep, err := ParseJUnit(context.Background(), bytes.NewReader(b), Limits{})
		require.NoError(t, err)
		return GroupFailures([]Failure{FailureFromTestCase(rep.Failures[0])})[0].Signature
	}
	assert.Equal(t, sig(first), sig(second))
}

func TestFramesPrefersFrameLines(t *testing.T) {
	t.Parallel()
	stack := "Traceback (most recent call last):\n" +
		"  File \"/usr/lib/python3.12/site-packages/_pytest/python.py\", line 194, in pytest_pyfunc_call\n" +
		"  File \"tests/test_api.py\", line 12, in test_login\n" +
		"AssertionError\n"
	assert.Equal(t, []string{
		`File "/usr/lib/python<n>.<n>/site-packages/_pytest/python.py", line <n>, in pytest_pyfunc_call`,
		`File "tests/test_api.py", line 12, in test_login`,
	}, Frames(stack, 5))
	assert.Equal(t, []string{"sometimes main can exit 2", "FAIL gotest.tools/gotestsum <dur>"}, Frames("sometimes main can exit 2\nFAIL\tgotest.tools/gotestsum\t0.001s\n", 5))
}

func FuzzNormalise(f *testing.F) {
	for _, s := range []string{
		"job 9f5d0a0c-32c0-4f3f-b5c4-3a5c3d35d4d0 failed at 2024-12-02T20:06:10.512+00:00",
		"Write at 0x00c000138168 by goroutine 8 in /tmp/go-build123/x_test.go:12 +0x39",
		"pod web-7d9f8c6b5d-x2k4q build #12 took 1.5 s, id 1234567",
		"5  ms\n\n12:00:00 Sat, 03 Dec 2022 23:10:07 GMT 1.2.3.4.5",
		"\xff\xfe invalid utf8 deadbeef12",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalise(s)
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		if again := Normalise(n); again != n {
			t.Fatalf("not idempotent:\n in:  %q\n 1st: %q\n 2nd: %q", s, n, again)
		}
		_ = Signature(s, s)
	})
}
