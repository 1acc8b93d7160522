package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
)

// NormaliserVersion identifies the normalisation rules. It is hashed into
// every signature, so changing the rules (and bumping it) never silently
// regroups stored failures: old rows keep their version's signatures and can
// be re-hashed deliberately.
const NormaliserVersion = 1

// SignatureFrames is how many stack frames, after the message, enter a
// signature (the reference system used 5 lines).
const SignatureFrames = 5

// rule is one normalisation step: matches of re become repl, or the result
// of fn when set.
type rule struct {
	re   *regexp.Regexp
	repl string
	fn   func(string) string
	// need is a cheap test that must hold for re to match at all; it
	// spares most regexp runs, which dominate the cost of a signature.
	need func(string) bool
}

// Placeholders use angle brackets and letters only, so that no rule matches
// its own (or another rule's) output: that is what keeps Normalise
// idempotent.
var normRules = []rule{
	// Temp paths first: they contain ids and numbers that other rules would
	// only half-replace.
	{re: regexp.MustCompile(`(?:/private)?/(?:tmp|var/tmp|var/folders|dev/shm)(?:/[^\s:'"()\[\],;<>]+)*`), repl: "<tmp>",
		need: func(s string) bool {
			return strings.Contains(s, "/tmp") || strings.Contains(s, "/var/") || strings.Contains(s, "/dev/shm")
		}},
	{re: regexp.MustCompile(`(?i)[a-z]:\\(?:[^\s\\:'"]+\\)*(?:temp|tmp)(?:\\[^\s\\:'"()\[\],;<>]+)+`), repl: "<tmp>",
		need: func(s string) bool { return strings.Contains(s, ":\\") }},
	{re: regexp.MustCompile(`\bpytest-of-[^\s/]+(?:/[^\s:'"()\[\],;<>]+)*`), repl: "<tmp>",
		need: func(s string) bool { return strings.Contains(s, "pytest-of-") }},
	{re: regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), repl: "<uuid>",
		need: func(s string) bool { return strings.Count(s, "-") >= 4 && hasRun(s, 8, isHex) }},
	{re: regexp.MustCompile(`\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b`), repl: "<email>",
		need: func(s string) bool { return strings.Contains(s, "@") }},
	// ISO-8601 / RFC 3339 timestamps and dates, with optional time, zone.
	{re: regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}(?:[T _]\d{2}[:-]\d{2}(?:[:-]\d{2}(?:[.,_]\d+)?)?(?:Z|[+-]\d{2}:?\d{2}| ?UTC)?)?`), repl: "<ts>",
		need: func(s string) bool { return digitFollowedBy(s, "-") && hasRun(s, 4, isDigit) }},
	// RFC 1123 / syslog style dates: "Sat, 03 Dec 2022 23:10:07 GMT".
	{re: regexp.MustCompile(`\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}(?: \d{2}:\d{2}:\d{2})?(?: [A-Z]{2,4})?`), repl: "<ts>",
		need: func(s string) bool { return hasRun(s, 4, isDigit) && containsDay(s) }},
	{re: regexp.MustCompile(`\b\d{1,2}/\d{1,2}/\d{2,4}\b`), repl: "<ts>",
		need: func(s string) bool { return digitFollowedBy(s, "/") }},
	{re: regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b`), repl: "<ts>",
		need: func(s string) bool { return digitFollowedBy(s, ":") }},
	{re: regexp.MustCompile(`\b0x[0-9a-fA-F]+\b`), repl: "<addr>",
		need: func(s string) bool { return strings.Contains(s, "0x") }},
	{re: regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`), repl: "<ip>",
		need: func(s string) bool { return strings.Count(s, ".") >= 3 && digitFollowedBy(s, ".") }},
	// Kubernetes pod names: deployment-<replicaset hash>-<pod suffix>.
	{re: regexp.MustCompile(`\b([a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*)-[a-z0-9]{8,10}-[a-z0-9]{5}\b`), fn: podName,
		need: func(s string) bool { return strings.Count(s, "-") >= 2 && hasRun(s, 1, isDigit) }},
	// Build numbers: "build 123", "build #123", "#123", "/job/x/123/".
	{re: regexp.MustCompile(`(?i)\b(build|run|job)([ _#-]*)\d+\b`), repl: "${1}${2}<n>",
		need: func(s string) bool { return hasRun(s, 1, isDigit) && containsFold(s, "build", "run", "job") }},
	{re: regexp.MustCompile(`#\d+\b`), repl: "#<n>",
		need: func(s string) bool { return strings.Contains(s, "#") }},
	// Hex ids (commits, container ids, hashes): 8+ hex digits with at least
	// one digit and one letter, so ordinary words stay.
	{re: regexp.MustCompile(`\b[0-9a-fA-F]{8,}\b`), fn: hexID,
		need: func(s string) bool { return hasRun(s, 8, isHex) }},
	// Durations.
	{re: regexp.MustCompile(`\b\d+(?:\.\d+)? ?(?:ns|us|µs|ms|s|sec|secs|seconds|m|min|minutes|h)\b`), repl: "<dur>",
		need: func(s string) bool { return digitFollowedBy(s, "nusmh \xc2.") }},
	// Long numbers (ids, pids, ports, counters); short ones (status codes,
	// small asserted values, line numbers of user code) carry meaning.
	{re: regexp.MustCompile(`\b\d+\.\d+\b`), repl: "<n>",
		need: func(s string) bool { return digitFollowedBy(s, ".") }},
	{re: regexp.MustCompile(`\b\d{5,}\b`), repl: "<n>",
		need: func(s string) bool { return hasRun(s, 5, isDigit) }},
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isHex(b byte) bool { return isDigit(b) || (b|0x20 >= 'a' && b|0x20 <= 'f') }

// hasRun reports whether s has n consecutive bytes satisfying ok.
func hasRun(s string, n int, ok func(byte) bool) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if ok(s[i]) {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// digitFollowedBy reports whether some digit in s is directly followed by
// one of the bytes in next.
func digitFollowedBy(s, next string) bool {
	for i := 0; i+1 < len(s); i++ {
		if isDigit(s[i]) && strings.IndexByte(next, s[i+1]) >= 0 {
			return true
		}
	}
	return false
}

var days = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func containsDay(s string) bool {
	for _, d := range days {
		if strings.Contains(s, d) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains any of the lower-case words in
// any case.
func containsFold(s string, words ...string) bool {
	lower := strings.ToLower(s)
	for _, w := range words {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

func podName(m string) string {
	// Only rewrite when the suffixes look random (contain a digit), so that
	// hyphenated words are left alone.
	parts := strings.Split(m, "-")
	if len(parts) < 3 {
		return m
	}
	suffix := parts[len(parts)-2] + parts[len(parts)-1]
	if !strings.ContainsAny(suffix, "0123456789") {
		return m
	}
	return strings.Join(parts[:len(parts)-2], "-") + "-<pod>"
}

func hexID(m string) string {
	if strings.ContainsAny(m, "0123456789") && strings.ContainsAny(m, "abcdefABCDEF") {
		return "<hex>"
	}
	return m
}

var spaceRun = regexp.MustCompile(`[ \t]+`)

// Normalise replaces the volatile parts of a message (temp paths, UUIDs,
// emails, timestamps and dates, addresses, IPs, pod suffixes, build
// numbers, hex ids, durations, long numbers) with placeholders and collapses
// blanks, so that the same failure in two runs normalises to the same text.
// It is idempotent.
func Normalise(s string) string {
	// Blanks first: rules must see the same text on a second pass.
	s = strings.ToValidUTF8(s, "\uFFFD")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimSpace(spaceRun.ReplaceAllString(l, " "))
		if l != "" {
			out = append(out, l)
		}
	}
	s = strings.Join(out, "\n")
	for _, r := range normRules {
		if !r.need(s) {
			continue
		}
		if r.fn != nil {
			s = r.re.ReplaceAllStringFunc(s, r.fn)
		} else {
			s = r.re.ReplaceAllString(s, r.repl)
		}
	}
	return s
}

// frameLine recognises stack frame lines of the common runtimes: Java/JS
// "at ...", Python 'File "...", line N', Go "/path/file.go:N +0x..", pytest
// "file.py:N: in func", Rust/C++ "file.rs:N:M".
var frameLine = regexp.MustCompile(`^\s*(?:at\s+\S|File\s+"|[\w./\\:-]+\.(?:go|py|js|ts|java|kt|scala|rb|rs|cpp|cc|c|h|hpp|php|cs)[:(]\d+|[\w.$<>]+\(\S*\)\s*$)`)

// frameworkMarkers recognise frames inside test frameworks, runtimes and
// vendored code (matched in lower case): their line numbers change with
// every framework upgrade and must not split groups.
var frameworkMarkers = []string{
	"junit", "testng", "surefire", "org.apache.maven", "java.base/", "jdk.internal", "sun.reflect",
	"java.lang.reflect", "java.util.concurrent", "java.lang.thread", "node_modules", "jest-", "jasmine",
	"mocha", "internal/process", "site-packages", "dist-packages", "/lib/python", "_pytest/", "pluggy/",
	"unittest/", "nose2/plugins/", "go-src", "/usr/local/go/", "/usr/lib/go", "testing.go", "testing.trunner",
	"testing.(*", "runtime/", "_testmain.go", "catch2", "gtest", "googletest", "/rustc/", "library/std",
	"library/core",
}

func isFrameworkFrame(line string) bool {
	lower := strings.ToLower(line)
	for _, m := range frameworkMarkers {
		if strings.Contains(lower, m) {
			return true
		}
	}
	return false
}

var digits = regexp.MustCompile(`\d+`)

// Frames returns up to n normalised stack frames from a stack trace. When
// the text has recognisable frame lines only those are used; otherwise its
// first non-blank lines stand in (pytest and go test bodies are mostly
// prose). Every number in a framework frame (line numbers, but also the
// runtime version in its path) becomes "<n>".
func Frames(stack string, n int) []string {
	var frames, lines []string
	var framework []bool
	for line := range strings.Lines(stack) {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if frameLine.MatchString(t) {
			frames = append(frames, t)
			framework = append(framework, isFrameworkFrame(t))
			if len(frames) == n {
				break
			}
		} else if len(lines) < n {
			lines = append(lines, t)
		}
	}
	if len(frames) == 0 {
		frames = lines
		framework = make([]bool, len(lines))
	}
	if len(frames) == 0 {
		return nil
	}
	// Framework frames are scrubbed of every number; the others get one
	// Normalise call for all of them (no rule matches across a newline).
	var own []string
	for i, t := range frames {
		if framework[i] {
			frames[i] = scrubNumbers(spaceRun.ReplaceAllString(t, " "))
		} else {
			own = append(own, t)
		}
	}
	if len(own) > 0 {
		normalised := strings.Split(Normalise(strings.Join(own, "\n")), "\n")
		j := 0
		for i := range frames {
			if !framework[i] && j < len(normalised) {
				frames[i] = normalised[j]
				j++
			}
		}
	}
	return frames
}

// scrubNumbers replaces every word holding a digit that is an address
// (0x...) or all hex by "<n>", and every other digit run by "<n>", so that
// line numbers, offsets and runtime versions in framework frames vanish.
func scrubNumbers(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	isWord := func(c byte) bool { return isHex(c) || c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
	for i := 0; i < len(s); {
		if !isWord(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isWord(s[j]) {
			j++
		}
		w := s[i:j]
		switch {
		case !hasRun(w, 1, isDigit):
			b.WriteString(w)
		case len(w) > 2 && w[0] == '0' && w[1]|0x20 == 'x', allHex(w):
			b.WriteString("<n>")
		default:
			b.WriteString(digits.ReplaceAllString(w, "<n>"))
		}
		i = j
	}
	return b.String()
}

func allHex(w string) bool {
	for i := 0; i < len(w); i++ {
		if !isHex(w[i]) {
			return false
		}
	}
	return true
}

// Signature is the hex SHA-256 of the normaliser version, the normalised
// message and the top SignatureFrames normalised frames. Failures that
// differ only in volatile parts share it.
func Signature(message, stack string) string {
	h := sha256.New()
	h.Write([]byte("v" + strconv.Itoa(NormaliserVersion) + "\x00"))
	h.Write([]byte(Normalise(message)))
	for _, f := range Frames(stack, SignatureFrames) {
		h.Write([]byte{0})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}
