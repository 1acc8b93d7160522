package bugs

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormaliserVersion identifies how fingerprints are made: the rules of
// Normalise and what is hashed with the message. It is part of every
// fingerprint and stored beside it, so changing either (and bumping this)
// never regroups existing reports.
//
// Version 1 hashed the source and the normalised message. Version 2 adds the
// workspace; the rules of Normalise did not change.
const NormaliserVersion = 2

// Placeholders that Normalise puts in place of variable parts. Each ends in
// '>' and contains no digit, quote or whitespace, which is what makes
// normalising idempotent (see Normalise).
const (
	phURL      = "<url>"
	phEmail    = "<email>"
	phUUID     = "<uuid>"
	phDate     = "<date>"
	phIP       = "<ip>"
	phHex      = "<hex>"
	phDuration = "<duration>"
	phQuoted   = "<quoted>"
	phNumber   = "<n>"
)

var (
	reURL   = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)
	reEmail = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	reUUID  = regexp.MustCompile(`[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`)
	// Dates with an optional time and zone (ISO 8601 / RFC 3339 and the
	// space-separated SQL form), then bare times of day.
	reDate = regexp.MustCompile(`\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?`)
	// IPv4 with an optional port, then IPv6-looking runs of hex groups;
	// ipv6Like decides for the latter.
	reIPv4 = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b`)
	reIPv6 = regexp.MustCompile(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}`)
	// 0x-prefixed hex, then long hex-looking words; hexLike decides.
	reHex0x  = regexp.MustCompile(`\b0[xX][0-9A-Fa-f]+\b`)
	reHexRun = regexp.MustCompile(`\b[0-9A-Fa-f]{6,}\b`)
	// Numbers followed by a unit of time: "30000ms", "1.5 s", "2 days".
	reDuration = regexp.MustCompile(`\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\b`)
	reNumber   = regexp.MustCompile(`\d+(?:\.\d+)*`)
)

// isSpace reports whether c is whitespace as \s of package regexp means it:
// ASCII space, \t, \n, \f or \r (not \v, not Unicode spaces). Such a byte
// is never part of a longer UTF-8 sequence.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// collapseSpace replaces every run of isSpace bytes with one space, as
// regexp.MustCompile(`\s+`).ReplaceAllString(s, " ") does, without a
// regular expression: it ran on every message and was the most of
// Normalise's cost on one without digits (pprof of bench/intake). A
// message that has nothing to collapse comes back as it is.
func collapseSpace(s string) string {
	i := 0
	for ; i < len(s); i++ {
		if isSpace(s[i]) && (s[i] != ' ' || i+1 < len(s) && isSpace(s[i+1])) {
			break
		}
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		if !isSpace(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteByte(' ')
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	return b.String()
}

// Normalise rewrites an error message so that occurrences of the same error
// that differ only in variable parts (ids, numbers, addresses, times, quoted
// values) become one string, in the manner of Sentry's grouping:
//
//	Connection timeout after 30000ms        -> Connection timeout after <duration>
//	user 42 not found (req 9f1c2e4a77)      -> user <n> not found (req <hex>)
//	cannot read "length" of undefined       -> cannot read <quoted> of undefined
//
// Whitespace runs become one space and invalid UTF-8 becomes U+FFFD.
// Normalise is idempotent: Normalise(Normalise(s)) == Normalise(s). That
// holds because the steps run from the most specific to the least, every
// placeholder ends in '>' and holds no digit, quote or space, and the last
// step removes every remaining digit, while the earlier steps' patterns then
// need digits, '://', '@' or quotes that a placeholder cannot supply.
func Normalise(msg string) string {
	s := strings.ToValidUTF8(msg, "\uFFFD")
	s = strings.TrimSpace(collapseSpace(s))
	// The guards skip patterns that cannot match (each needs "://", '@' or
	// a digit); they save most of the cost on typical messages.
	if strings.Contains(s, "://") {
		s = reURL.ReplaceAllString(s, phURL)
	}
	if strings.Contains(s, "@") {
		s = reEmail.ReplaceAllString(s, phEmail)
	}
	s = reUUID.ReplaceAllString(s, phUUID)
	if strings.ContainsAny(s, "0123456789") {
		s = reDate.ReplaceAllString(s, phDate)
		s = reIPv4.ReplaceAllString(s, phIP)
		s = reIPv6.ReplaceAllStringFunc(s, func(m string) string {
			if ipv6Like(m) {
				return phIP
			}
			return m
		})
		s = reHex0x.ReplaceAllString(s, phHex)
		s = reHexRun.ReplaceAllStringFunc(s, func(m string) string {
			if hexLike(m) {
				return phHex
			}
			return m
		})
		s = reDuration.ReplaceAllString(s, phDuration)
	}
	s = replaceQuoted(s)
	s = reNumber.ReplaceAllString(s, phNumber)
	return s
}

// ipv6Like accepts a colon-separated run as an IPv6 address when it has a
// digit (so "a:b:c" in prose is left alone) and at least three hex groups or
// a "::".
func ipv6Like(m string) bool {
	if !strings.ContainsAny(m, "0123456789") {
		return false
	}
	groups := 0
	for g := range strings.SplitSeq(m, ":") {
		if g != "" {
			groups++
		}
	}
	return groups >= 3 || (groups >= 2 && strings.Contains(m, "::"))
}

// hexLike accepts a hex word as an id when it mixes digits and letters:
// pure digits are numbers (the last step) and pure letters are words like
// "deadbeef" or "facade", which are more often meaning than id.
func hexLike(m string) bool {
	return strings.ContainsAny(m, "0123456789") && strings.ContainsAny(m, "abcdefABCDEF")
}

// replaceQuoted replaces "...", `...` and '...' spans with a placeholder. An
// apostrophe right after a letter, digit, '_' or '>' (the end of a
// placeholder) is not an opening quote, so "can't" and "user's" survive; that
// the check looks at the text already written (placeholders included) keeps
// the result stable when normalised again.
func replaceQuoted(s string) string {
	if !strings.ContainsAny(s, "\"'`") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c == '"' || c == '`' || (c == '\'' && !afterWordish(b.String())) {
			if end := strings.IndexByte(s[i+1:], c); end >= 0 {
				b.WriteString(phQuoted)
				i += end + 2
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func afterWordish(written string) bool {
	r, _ := utf8.DecodeLastRuneInString(written)
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '>')
}

// Fingerprint returns the hex SHA-256 grouping key of an error message from
// source in workspaceID ("" for none) under NormaliserVersion: the same
// error in two workspaces is two reports.
func Fingerprint(source Source, workspaceID, message string) string {
	return fingerprint(source, workspaceID, Normalise(message))
}

// fingerprint is Fingerprint of an already normalised message.
func fingerprint(source Source, workspaceID, normalised string) string {
	return hashParts(string(source), strconv.Itoa(NormaliserVersion), workspaceID, normalised)
}

// fingerprintV1 is the key NormaliserVersion 1 gave a normalised message
// (no workspace). Auto looks reports stored under it up during the
// transition to version 2 (see the package doc).
func fingerprintV1(source Source, normalised string) string {
	return hashParts(string(source), "1", normalised)
}

// hashParts hashes its parts length-prefixed, so that no choice of parts can
// collide with another by concatenation.
func hashParts(parts ...string) string {
	h := sha256.New()
	for _, part := range parts {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}
