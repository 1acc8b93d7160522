package mlpipeline

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits of the CSV reader. They bound the memory one malformed record can
// take: an unterminated quote would otherwise swallow the rest of the file
// into one field.
const (
	// DefaultMaxRecordBytes is the largest record (all fields together) the
	// reader accepts; longer records are skipped and counted as bad rows.
	DefaultMaxRecordBytes = 1 << 20
	// maxFields bounds the number of fields in one record for the same reason.
	maxFields = 4096
	// sniffBytes is how much of the input the separator detection looks at.
	sniffBytes = 64 << 10
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// errRecordTooLarge marks a record that exceeded the byte or field limit. The
// reader has already resynchronised at the next line break.
var errRecordTooLarge = errors.New("record too large")

// errUnterminatedQuote marks a quoted field that runs to the end of input.
var errUnterminatedQuote = errors.New("unterminated quoted field")

// csvReader reads RFC 4180 records one at a time from a stream. It accepts
// LF, CRLF and bare CR line endings (outside quotes), keeps any line break
// inside quotes as part of the field, strips a UTF-8 BOM and repairs invalid
// UTF-8. It is deliberately lenient about stray quotes inside unquoted fields
// and text after a closing quote, as spreadsheet exports produce both.
type csvReader struct {
	r        *bufio.Reader
	sep      byte
	maxBytes int
	buf      []byte
	ends     []int
	eof      bool
}

// newCSVReader wraps r, detecting the separator from the first record.
func newCSVReader(r io.Reader, maxRecordBytes int) (*csvReader, error) {
	if maxRecordBytes <= 0 {
		maxRecordBytes = DefaultMaxRecordBytes
	}
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read csv head: %w", err)
	}
	if bytes.HasPrefix(head, utf8BOM) {
		if _, err := br.Discard(len(utf8BOM)); err != nil {
			return nil, fmt.Errorf("skip BOM: %w", err)
		}
		head = head[len(utf8BOM):]
	}
	return &csvReader{r: br, sep: detectSeparator(head), maxBytes: maxRecordBytes}, nil
}

// detectSeparator counts comma, semicolon and tab outside quotes in the first
// record (the header) and picks the most frequent; comma wins ties and empty
// input.
func detectSeparator(head []byte) byte {
	counts := map[byte]int{}
	inQuote := false
	for _, b := range head {
		if b == '"' {
			inQuote = !inQuote
			continue
		}
		if inQuote {
			continue
		}
		if b == '\n' || b == '\r' {
			break
		}
		if b == ',' || b == ';' || b == '\t' {
			counts[b]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// read returns the next non-empty record. At the end of input it returns
// io.EOF. errRecordTooLarge and errUnterminatedQuote are per-record errors:
// the caller counts the row as bad and may call read again.
func (c *csvReader) read() ([]string, error) {
	for {
		rec, err := c.readRecord()
		if err != nil {
			return nil, err
		}
		if len(rec) == 1 && rec[0] == "" {
			continue // blank line
		}
		return rec, nil
	}
}

func (c *csvReader) readRecord() ([]string, error) {
	if c.eof {
		return nil, io.EOF
	}
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
	tooLarge := false
	sawAny := false
	const (
		fieldStart = iota
		unquoted
		quoted
		quoteInQuoted // saw a quote inside a quoted field: end or escaped quote
	)
	state := fieldStart
	endField := func() {
		if len(c.ends) < maxFields {
			c.ends = append(c.ends, len(c.buf))
		} else {
			tooLarge = true
		}
	}
	add := func(b byte) {
		if len(c.buf) < c.maxBytes {
			c.buf = append(c.buf, b)
		} else {
			tooLarge = true
		}
	}
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("read csv: %w", err)
			}
			c.eof = true
			if !sawAny {
				return nil, io.EOF
			}
			if state == quoted {
				return nil, errUnterminatedQuote
			}
			endField()
			break
		}
		sawAny = true
		if state == quoted {
			if b == '"' {
				state = quoteInQuoted
			} else {
				add(b)
			}
			if tooLarge {
				// Resynchronise at the next line break; the quote may
				// never close.
				c.skipLine()
				return nil, errRecordTooLarge
			}
			continue
		}
		if state == quoteInQuoted {
			if b == '"' {
				add('"')
				state = quoted
				continue
			}
			state = unquoted // closing quote; anything else is kept leniently
		}
		if b == c.sep {
			endField()
			state = fieldStart
			continue
		}
		if b == '\n' || b == '\r' {
			if b == '\r' {
				if next, err := c.r.Peek(1); err == nil && next[0] == '\n' {
					_, _ = c.r.ReadByte()
				}
			}
			endField()
			break
		}
		if state == fieldStart && b == '"' {
			state = quoted
			continue
		}
		state = unquoted
		add(b)
		if tooLarge {
			c.skipLine()
			return nil, errRecordTooLarge
		}
	}
	if tooLarge {
		return nil, errRecordTooLarge
	}
	// One string for the whole record; fields are substrings of it, so a
	// record costs one allocation plus the slice header array.
	all := string(c.buf)
	if !utf8.ValidString(all) {
		return splitRepaired(c.buf, c.ends), nil
	}
	rec := make([]string, len(c.ends))
	start := 0
	for i, end := range c.ends {
		rec[i] = all[start:end]
		start = end
	}
	return rec, nil
}

// splitRepaired builds the fields one by one when the record holds invalid
// UTF-8, so that the replacement does not shift field boundaries.
func splitRepaired(buf []byte, ends []int) []string {
	rec := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		rec[i] = strings.ToValidUTF8(string(buf[start:end]), "\uFFFD")
		start = end
	}
	return rec
}

// skipLine discards input up to and including the next line break.
func (c *csvReader) skipLine() {
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			c.eof = true
			return
		}
		if b == '\n' || b == '\r' {
			return
		}
	}
}

// normalizeHeader maps a header name to a comparison key: lower case, letters
// and digits only, so "Issue Type", "issue_type" and "IssueType" match.
func normalizeHeader(name string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && isLetterOrDigit(r) {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
