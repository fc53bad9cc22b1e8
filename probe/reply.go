package probe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mailprobe/mailprobe/peertext"
)

// Limits on what a server may send in one reply. RFC 5321 §4.5.3.1.5 caps
// a reply line at 512 octets including CRLF; real servers exceed it, so we
// allow four times that and call anything longer a protocol error rather
// than buffering without bound. The line cap also bounds "250-" forever.
const (
	MaxReplyLineLength = 2048
	MaxReplyLines      = 128
)

// Reply is one complete server reply (RFC 5321 §4.2), single- or
// multi-line. Lines are neutralised at read time: control characters and
// invalid UTF-8 are escaped, so no consumer can pass a server's terminal
// escape sequences to a user's terminal.
type Reply struct {
	Code int `json:"code"`
	// Enhanced is the RFC 3463 status code from the first line ("5.1.1"),
	// or "" when the server sent none; Status is the same code as
	// numbers, for branching on its class, subject and detail.
	Enhanced string       `json:"enhanced,omitempty"`
	Status   EnhancedCode `json:"-"`
	// Lines are the full reply lines as received, code included
	// ("550-5.1.1 The email account…"), without CRLF.
	Lines []string `json:"lines"`
}

// Class is the first digit of the reply code: 2 success, 3 intermediate,
// 4 temporary failure, 5 permanent failure.
func (r *Reply) Class() int { return r.Code / 100 }

// Text is the reply as Postfix logs it: all lines, codes included, joined
// by a single space ("554-a 554-b 554 c").
func (r *Reply) Text() string { return strings.Join(r.Lines, " ") }

// Message is the reply text without codes: each line's text after the
// reply code and, when present, the enhanced code, joined by spaces.
func (r *Reply) Message() string {
	parts := make([]string, 0, len(r.Lines))
	for _, l := range r.Lines {
		t := ""
		if len(l) > 4 {
			t = l[4:]
		}
		if r.Enhanced != "" && strings.HasPrefix(t, r.Enhanced) {
			t = strings.TrimLeft(t[len(r.Enhanced):], " ")
		}
		if t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// ErrReplyTooLong and friends are the protocol errors the reader reports.
var (
	ErrLineTooLong     = fmt.Errorf("%w: reply line longer than %d bytes", ErrProtocol, MaxReplyLineLength)
	ErrTooManyLines    = fmt.Errorf("%w: reply longer than %d lines", ErrProtocol, MaxReplyLines)
	ErrMalformedReply  = fmt.Errorf("%w: malformed reply line", ErrProtocol)
	ErrInconsistent    = fmt.Errorf("%w: multi-line reply changes its code", ErrProtocol)
	errIncompleteReply = errors.New("incomplete reply")
)

// readLine reads one CRLF- (or bare LF-) terminated line of at most
// MaxReplyLineLength bytes. A read that ends before the terminator (EOF,
// deadline) returns an error and never a partial line.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > MaxReplyLineLength+2 {
			return "", ErrLineTooLong
		}
		buf = append(buf, frag...)
		switch {
		case err == nil:
			line := buf[:len(buf)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return string(line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return "", fmt.Errorf("%w: connection closed mid-line", io.ErrUnexpectedEOF)
		default:
			return "", err
		}
	}
}

// ReadReply reads one complete reply. It checks that every line carries
// the same three-digit code and that continuation lines use '-' (RFC 5321
// §4.2.1). On error, the lines read so far are returned in a partial Reply
// (nil if none) so a report can show what the server did send.
func ReadReply(br *bufio.Reader) (*Reply, error) {
	r := &Reply{}
	for {
		raw, err := readLine(br)
		if err != nil {
			if len(r.Lines) == 0 {
				return nil, err
			}
			return r, err
		}
		if len(r.Lines) >= MaxReplyLines {
			return r, ErrTooManyLines
		}
		code, last, ok := parseLinePrefix(raw)
		line := Neutralise(raw)
		if !ok {
			r.Lines = append(r.Lines, line)
			return r, ErrMalformedReply
		}
		if len(r.Lines) == 0 {
			r.Code = code
		} else if code != r.Code {
			r.Lines = append(r.Lines, line)
			return r, ErrInconsistent
		}
		r.Lines = append(r.Lines, line)
		if last {
			r.Enhanced = enhancedCode(r.Lines[0], r.Code)
			r.Status, _ = ParseEnhancedCode(r.Enhanced)
			return r, nil
		}
	}
}

// parseLinePrefix checks "DDD", "DDD text" or "DDD-text".
func parseLinePrefix(l string) (code int, last, ok bool) {
	if len(l) < 3 {
		return 0, false, false
	}
	for i := 0; i < 3; i++ {
		if l[i] < '0' || l[i] > '9' {
			return 0, false, false
		}
	}
	if l[0] < '2' || l[0] > '5' {
		return 0, false, false
	}
	code, _ = strconv.Atoi(l[:3])
	if len(l) == 3 {
		return code, true, true
	}
	switch l[3] {
	case ' ':
		return code, true, true
	case '-':
		return code, false, true
	}
	return 0, false, false
}

// enhancedCode extracts an RFC 3463 code ("class.subject.detail", class
// matching the reply's class, subject and detail of 1–3 digits) from the
// start of a line's text.
func enhancedCode(line string, code int) string {
	if len(line) < 5 {
		return ""
	}
	t := line[4:]
	end := strings.IndexByte(t, ' ')
	if end < 0 {
		end = len(t)
	}
	cand := t[:end]
	if ValidEnhanced(cand) && int(cand[0]-'0') == code/100 {
		return cand
	}
	return ""
}

// ParseReply parses reply text given by a user (mailprobe explain): either
// real lines separated by newlines, or one line the way Postfix logs a
// multi-line reply ("554-a 554-b 554 c"). Lines are neutralised like those
// read from the wire.
func ParseReply(text string) (*Reply, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	if text == "" {
		return nil, fmt.Errorf("%w: empty reply", ErrMalformedReply)
	}
	lines := strings.Split(text, "\n")
	if len(lines) == 1 {
		lines = splitJoined(lines[0])
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimSpace(l))
		b.WriteString("\r\n")
	}
	r, err := ReadReply(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		return r, err
	}
	return r, nil
}

// splitJoined undoes Postfix's joining of multi-line replies: it splits
// "554-a 554-b 554 c" before each " DDD-" or " DDD " that repeats the
// first line's code.
func splitJoined(s string) []string {
	if len(s) < 4 || s[3] != '-' {
		return []string{s}
	}
	code := s[:3]
	var out []string
	start := 0
	for i := 4; i+5 <= len(s); i++ {
		if s[i] == ' ' && s[i+1:i+4] == code && (s[i+4] == '-' || s[i+4] == ' ') {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if s[len(s)-4:] == " "+code {
		out = append(out, s[start:len(s)-4])
		start = len(s) - 3
	}
	return append(out, s[start:])
}

// Neutralise makes server-supplied text safe to print. It is
// peertext.Neutralise, the one neutraliser: controls, escape sequences,
// bidi controls, zero-width characters and invalid UTF-8 become visible
// escapes (\x1b, \u202e, \xff).
func Neutralise(s string) string { return peertext.Neutralise(s) }
