package probe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxRcptLine bounds how much of one input line a RcptReader keeps. An
// address is at most 254 octets (RFC 5321 §4.5.3.1.3), but Postfix
// lookup-table lines may carry long values after it (virtual alias lists),
// so the reader keeps the first MaxRcptLine bytes of a line — enough for
// any key — and skips the rest without buffering it. A line whose first
// column does not end within that prefix is reported as too long.
const MaxRcptLine = 4096

// ErrRcptLineTooLong is wrapped by the error of a line whose address
// column runs past MaxRcptLine bytes.
var ErrRcptLineTooLong = errors.New("input line too long")

// ErrRcptRead is wrapped by RcptReader.Next when the input itself cannot
// be read (an I/O error, not a bad line).
var ErrRcptRead = errors.New("reading recipients")

// RcptLine is one address-bearing line of a recipient file. Blank lines,
// comments and Postfix continuation lines produce no RcptLine.
type RcptLine struct {
	Line int    // 1-based line number in the input
	Raw  string // the address column as read, neutralised, at most 300 bytes
	// Address is valid when Err is nil and Skip is "".
	Address Address
	// Skip says why a well-formed line holds nothing to probe (a Postfix
	// catch-all key "@domain", a domain declaration).
	Skip string
	// Err is why the line is not an address: an *InputError (wraps
	// ErrBadInput) or ErrRcptLineTooLong.
	Err error
}

// RcptSource yields recipient lines in input order; io.EOF ends it.
type RcptSource interface {
	Next() (RcptLine, error)
}

// RcptReader parses a recipient file: one address per line, or a Postfix
// lookup table (postmap(1) input: "key whitespace value", the key being
// the address). It follows postmap's rules for what is not an entry: a
// line whose first non-blank character is '#' is a comment, blank lines
// are ignored, and a line that starts with whitespace continues the
// previous logical line — but only after a table line, so an indented
// plain list still works. CRLF line ends are accepted. Memory is bounded
// by MaxRcptLine whatever the input holds.
type RcptReader struct {
	br       *bufio.Reader
	line     int
	head     []byte
	keyValue bool // the previous logical line had a value column
	limit    int
	err      error
}

// NewRcptReader reads recipient lines from r.
func NewRcptReader(r io.Reader) *RcptReader {
	return &RcptReader{br: bufio.NewReaderSize(r, 64<<10), limit: MaxRcptLine}
}

// readLine returns the first limit bytes of the next line (without its
// terminator), whether the line was longer, and io.EOF at the end.
func (r *RcptReader) readLine() (head []byte, overlong bool, err error) {
	r.head = r.head[:0]
	read := false
	for {
		frag, err := r.br.ReadSlice('\n')
		if len(frag) > 0 {
			read = true
		}
		if room := r.limit + 1 - len(r.head); room > 0 {
			// One byte more than the limit tells an exactly-full line
			// (followed by "\r") from a longer one.
			r.head = append(r.head, frag[:min(room, len(frag))]...)
		} else if len(frag) > 0 {
			overlong = true
		}
		switch {
		case err == nil:
			h := r.head
			if n := len(h); n > 0 && h[n-1] == '\n' {
				h = h[:n-1]
			}
			if n := len(h); n > 0 && h[n-1] == '\r' {
				h = h[:n-1]
			}
			if len(h) > r.limit {
				h, overlong = h[:r.limit], true
			}
			return h, overlong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if !read {
				return nil, false, io.EOF
			}
			h := r.head
			if n := len(h); n > 0 && h[n-1] == '\r' {
				h = h[:n-1]
			}
			if len(h) > r.limit {
				h, overlong = h[:r.limit], true
			}
			return h, overlong, nil
		default:
			return nil, false, err
		}
	}
}

// Next returns the next address-bearing line. It returns io.EOF at the
// end of the input and an error wrapping ErrRcptRead when the input
// cannot be read; a bad line is not an error of Next but a RcptLine with
// Err set.
func (r *RcptReader) Next() (RcptLine, error) {
	if r.err != nil {
		return RcptLine{}, r.err
	}
	for {
		head, overlong, err := r.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: line %d: %w", ErrRcptRead, r.line+1, err)
			}
			r.err = err
			return RcptLine{}, err
		}
		r.line++
		s := string(head)
		trimmed := strings.TrimSpace(s)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if s[0] == ' ' || s[0] == '\t' {
			if r.keyValue {
				continue // postmap: a continuation of the previous value
			}
		}
		key, hasValue := cutField(trimmed)
		r.keyValue = hasValue || overlong
		if overlong && !hasValue {
			// The first column never ended inside the bytes kept.
			return RcptLine{Line: r.line, Raw: clip(key), Err: fmt.Errorf("%w: the address column runs past %d bytes", ErrRcptLineTooLong, r.limit)}, nil
		}
		return parseRcptKey(r.line, key, hasValue), nil
	}
}

// cutField returns a line's first column and whether more follows.
func cutField(s string) (key string, more bool) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, false
	}
	return s[:i], true
}

// parseRcptKey decides what one key is: an address to probe, a Postfix
// key that names no single mailbox, or invalid.
func parseRcptKey(line int, key string, tableLine bool) RcptLine {
	rl := RcptLine{Line: line, Raw: clip(key)}
	switch {
	case strings.HasPrefix(key, "@"):
		// virtual(5): "@domain" matches every user of the domain; it is
		// the catch-all, not a mailbox, and asking RCPT for it is
		// meaningless.
		rl.Skip = "catch-all table key (@domain): it names no mailbox"
		return rl
	case !strings.Contains(key, "@") && tableLine:
		// virtual(5): a bare "domain  anything" line declares a virtual
		// alias domain; "user  value" (no domain) matches a local part
		// in every domain. Neither is an address.
		rl.Skip = "table key without @domain (a domain declaration or a local-part-only key)"
		return rl
	case strings.HasPrefix(key, "/") || strings.HasPrefix(key, "!/"):
		rl.Err = &InputError{Field: "recipient", Value: key, Problem: "a regexp/pcre table pattern, not an address"}
		return rl
	}
	a, err := ParseTarget(key)
	if err != nil {
		rl.Err = err
		return rl
	}
	if a.Local == "" {
		// A bare domain on its own line: probe it like `mailprobe probe
		// DOMAIN` does, as postmaster@DOMAIN (RFC 5321 §4.5.1).
		a = DomainRecipient(a)
	}
	rl.Address = a
	return rl
}

// clip keeps what is shown of a bad line short and printable.
func clip(s string) string {
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return Neutralise(s)
}

// SliceSource is a RcptSource over lines already in memory (tests,
// callers that build their own list).
type SliceSource struct {
	Lines []RcptLine
	i     int
}

// Next returns the next line, io.EOF after the last.
func (s *SliceSource) Next() (RcptLine, error) {
	if s.i >= len(s.Lines) {
		return RcptLine{}, io.EOF
	}
	s.i++
	return s.Lines[s.i-1], nil
}
