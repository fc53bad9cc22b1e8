package report

import (
	"errors"
	"strings"
	"time"
)

// LineKind says what kind of Postfix log line was parsed.
type LineKind string

const (
	// LineDelivery is a delivery agent's status line: "to=<…>, relay=…,
	// delay=…, delays=…, dsn=…, status=… (…)".
	LineDelivery LineKind = "delivery"
	// LineReject is an smtpd rejection: "NOQUEUE: reject: RCPT from
	// host[addr]: 450 4.1.1 <…>: …; from=<…> to=<…> proto=… helo=<…>".
	LineReject LineKind = "reject"
	// LineNote is a delivery agent's informational line about one server
	// that was passed over: "host H[A] refused to talk to me: …",
	// "connect to …", "lost connection with …" (smtp_trouble.c msg_info).
	LineNote LineKind = "note"
)

// PostfixLine is one parsed Postfix log line.
type PostfixLine struct {
	Kind    LineKind
	Program string // "postfix/smtp", "postfix/lmtp", "postfix/smtpd"; "" when no syslog tag
	PID     string
	QueueID string // "A6B12241F2", "NOQUEUE"; "" when absent

	To     string // recipient without <>
	OrigTo string
	Relay  string // "mx.example[192.0.2.1]:25", "none"
	// Delay and Delays are parsed from delay= and delays=; HasDelays is
	// false when the line had no delays= field.
	Delay     time.Duration
	Delays    [4]time.Duration
	HasDelays bool
	DSN       string
	Status    string // sent, bounced, deferred, deliverable, undeliverable, expired…
	// Reason is the text inside the parentheses after status= (delivery),
	// the reject text (reject) or the note itself.
	Reason string

	// Reply is the server reply inside the reason ("host H said: REPLY
	// (in reply to …)", "refused to talk to me: REPLY", a reject's
	// "450 4.1.1 …", or a status=sent "(250 2.0.0 Ok)"); "" for Postfix's
	// own reasons (connect to …, DNS errors).
	Reply string
	// Host is "H[A]" from "host H[A] said:" / "refused to talk to me",
	// or the client of a reject line.
	Host string
	// Command is the SMTP command the reply answered ("RCPT TO"), from
	// "(in reply to RCPT TO command)" or a reject's "RCPT from".
	Command string
	// From, Proto and Helo are a reject line's trailing fields.
	From, Proto, Helo string
}

// ErrNotPostfixLine is returned for text that is not a Postfix delivery,
// reject or note line.
var ErrNotPostfixLine = errors.New("not a Postfix status line")

// The line formats are cut by hand at their fixed separators, as log
// readers do (no regexp compiled at program start, none run per line).
var noteStarts = []string{"host ", "connect to ", "lost connection with ", "conversation with ", "Host or domain name not found", "Name service error", "Domain ", "TLS is required", "Cannot start TLS", "Server certificate not verified", "delivery temporarily suspended: "}

func progByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '/'
}

// findSyslogTag finds the first "prog/name[pid]: " (the program has a
// slash: postfix/smtp, postfix-out/lmtp) and returns the program, the
// pid and where the text after it starts; ok false when there is none.
func findSyslogTag(s string) (prog, pid string, end int, ok bool) {
	for off := 0; ; {
		i := strings.Index(s[off:], "]:")
		if i < 0 {
			return "", "", 0, false
		}
		i += off
		off = i + 2
		lb := strings.LastIndexByte(s[:i], '[')
		if lb <= 0 || lb+1 == i {
			continue
		}
		digits := true
		for k := lb + 1; k < i; k++ {
			if !digit(s[k]) {
				digits = false
				break
			}
		}
		if !digits {
			continue
		}
		st := lb
		for st > 0 && progByte(s[st-1]) {
			st--
		}
		// The longest tail of the word that is name(/name)+.
		name := ""
		for k := st; k < lb; k++ {
			c := s[k:lb]
			if c[0] != '/' && c[len(c)-1] != '/' && strings.IndexByte(c, '/') > 0 && !strings.Contains(c, "//") {
				name = c
				break
			}
		}
		if name == "" {
			continue
		}
		e := i + 2
		if e >= len(s) || !isSpace(s[e]) {
			continue
		}
		for e < len(s) && isSpace(s[e]) {
			e++
		}
		return name, s[lb+1 : i], e, true
	}
}

// isSpace is RE2's \s: [\t\n\f\r ] (no \v).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// cutQueueID takes a leading "A6B12241F2: " or "NOQUEUE: ".
func cutQueueID(s string) (id, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 || i+1 >= len(s) || !isSpace(s[i+1]) {
		return "", s, false
	}
	id = s[:i]
	// smtpd_check.c's action words look like long queue IDs: "reject:",
	// "discard:" at the start of a line quoted without its "NOQUEUE: ".
	switch id {
	case "reject", "discard", "hold", "warn", "filter", "redirect":
		return "", s, false
	}
	if id != "NOQUEUE" && (len(id) < 5 || len(id) > 20 || !isQueueID(id)) {
		return "", s, false
	}
	e := i + 1
	for e < len(s) && isSpace(s[e]) {
		e++
	}
	return id, s[e:], true
}

// cutReject reads "reject: RCPT from host[addr]: body" (also
// milter-reject, discard, hold, warn).
func cutReject(s string) (cmd, host, body string, ok bool) {
	var rest string
	for _, w := range []string{"reject: ", "milter-reject: ", "discard: ", "hold: ", "warn: "} {
		if strings.HasPrefix(s, w) {
			rest, ok = s[len(w):], true
			break
		}
	}
	if !ok {
		return "", "", "", false
	}
	// Runs of spaces between the words, as in column-aligned quotes
	// ("reject:      CONNECT        from host[…]: …"), are one separator.
	rest = strings.TrimLeft(rest, " ")
	sp := strings.IndexByte(rest, ' ')
	if sp <= 0 {
		return "", "", "", false
	}
	cmd = rest[:sp]
	rest = strings.TrimLeft(rest[sp:], " ")
	if !strings.HasPrefix(rest, "from ") {
		return "", "", "", false
	}
	rest = strings.TrimLeft(rest[len("from "):], " ")
	// The host has no spaces; it ends at the first ": ".
	j := strings.Index(rest, ": ")
	if j <= 0 || strings.ContainsAny(rest[:j], " \t") {
		return "", "", "", false
	}
	return cmd, rest[:j], rest[j+2:], true
}

// cutHost reads "host H[A] " + marker at the start of s: the host must
// be one word ending in "[…]".
func cutHost(s, lead, marker string) (host, rest string, ok bool) {
	if !strings.HasPrefix(s, lead) {
		return "", "", false
	}
	r := s[len(lead):]
	i := strings.Index(r, marker)
	if i <= 0 {
		return "", "", false
	}
	host = r[:i]
	lb := strings.IndexByte(host, '[')
	if lb <= 0 || !strings.HasSuffix(host, "]") || strings.ContainsAny(host, " \t") || strings.Contains(host[lb+1:len(host)-1], "]") {
		return "", "", false
	}
	return host, r[i+len(marker):], true
}

// ParsePostfixLine parses one Postfix log line, with or without the
// syslog prefix: a delivery status line (smtp, lmtp, local, virtual,
// pipe, verify's probes), an smtpd NOQUEUE/queue-id reject line, or a
// delivery agent's note about a passed-over server. It never panics and
// never allocates more than a few copies of the line.
func ParsePostfixLine(line string) (*PostfixLine, error) {
	line = strings.TrimRight(line, "\r\n \t")
	pl := &PostfixLine{}
	rest := line
	if prog, pid, end, ok := findSyslogTag(rest); ok {
		pl.Program, pl.PID = prog, pid
		rest = rest[end:]
	}
	if id, r, ok := cutQueueID(rest); ok {
		pl.QueueID, rest = id, r
	}
	switch {
	case strings.HasPrefix(rest, "to=") && strings.Contains(rest, "status=") || (pl.Program == "" && strings.Contains(rest, "to=<") && strings.Contains(rest, "status=")):
		if i := strings.Index(rest, "to="); i >= 0 {
			rest = rest[i:]
		}
		if err := parseDelivery(pl, rest); err != nil {
			return nil, err
		}
	case isReject(rest):
		parseReject(pl, rest)
	default:
		i := noteStart(rest)
		if i < 0 {
			return nil, ErrNotPostfixLine
		}
		pl.Kind = LineNote
		pl.Reason = rest[i:]
	}
	splitReason(pl)
	return pl, nil
}

func noteStart(s string) int {
	for _, p := range noteStarts {
		if strings.HasPrefix(s, p) {
			return 0
		}
	}
	return -1
}

// CutDeliveryFields cuts log_adhoc.c's delivery status fields
// "to=<%s>[, orig_to=<%s>], relay=%s[, conn_use=%d], delay=…, delays=…[,
// tls=…], dsn=%s, status=%s (%s)": field gets every key and value before
// status= (values in <…> without the brackets), and status and the text in
// the parentheses after it come back. The fields end early, without an
// error, at a chunk with no "key="; an unclosed "<" is ErrNotPostfixLine.
// It is the one cutter for these lines: ParsePostfixLine and the maillog
// reader both use it.
func CutDeliveryFields(s string, field func(key, val string)) (status, reason string, err error) {
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		// Fields quoted with their columns aligned (postfix-logwatch's
		// test data, admins' pastes) have runs of spaces after the comma.
		key := strings.TrimLeft(s[:eq], " \t")
		s = s[eq+1:]
		if key == "status" {
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				return s, "", nil
			}
			r := strings.TrimLeft(s[sp:], " ")
			if strings.HasPrefix(r, "(") {
				r = r[1:]
				r = strings.TrimSuffix(r, ")")
			}
			return s[:sp], r, nil
		}
		var val string
		if strings.HasPrefix(s, "<") {
			end := strings.IndexByte(s, '>')
			if end < 0 {
				return "", "", ErrNotPostfixLine
			}
			val = s[1:end]
			s = s[end+1:]
		} else {
			end := strings.Index(s, ", ")
			if end < 0 {
				end = len(s)
			}
			val = s[:end]
			s = s[end:]
		}
		s = strings.TrimPrefix(s, ", ")
		field(key, val)
	}
	return "", "", nil
}

// parseDelivery reads a delivery status line's fields into pl.
func parseDelivery(pl *PostfixLine, s string) error {
	pl.Kind = LineDelivery
	status, reason, err := CutDeliveryFields(s, func(key, val string) {
		switch key {
		case "to":
			pl.To = val
		case "orig_to":
			pl.OrigTo = val
		case "relay":
			pl.Relay = val
		case "delay":
			pl.Delay, _ = ParseDelay(val)
		case "delays":
			parts := strings.Split(val, "/")
			if len(parts) == 4 {
				pl.HasDelays = true
				for i, p := range parts {
					pl.Delays[i], _ = ParseDelay(p)
				}
			}
		case "dsn":
			pl.DSN = val
		}
	})
	if err != nil {
		return err
	}
	pl.Status, pl.Reason = status, reason
	if pl.To == "" && pl.Status == "" {
		return ErrNotPostfixLine
	}
	return nil
}

// fieldsStart finds smtpd_check.c's "; from=<…> to=<…> proto=…" tail of
// a reject line: the index of "from=<" after the last "; " (or ";" and a
// run of spaces, in column-aligned quotes); -1 when there is none.
func fieldsStart(body string) int {
	i := strings.LastIndex(body, " from=<")
	if i < 0 {
		return -1
	}
	if head := strings.TrimRight(body[:i+1], " "); strings.HasSuffix(head, ";") {
		return i + 1
	}
	return -1
}

// parseReject reads smtpd_check.c's reject log:
// "reject: RCPT from host[addr]: 450 4.1.1 <a@b>: Recipient address
// rejected: …; from=<s> to=<r> proto=ESMTP helo=<h>".
func isReject(s string) bool {
	_, _, _, ok := cutReject(s)
	return ok
}

func parseReject(pl *PostfixLine, s string) {
	cmd, host, body, _ := cutReject(s)
	pl.Kind = LineReject
	pl.Command = cmd
	pl.Host = host
	if i := fieldsStart(body); i >= 0 {
		tail := body[i:]
		body = strings.TrimRight(body[:i], " ")
		body = body[:len(body)-1]
		pl.From = between(tail, "from=<", ">")
		pl.To = between(tail, " to=<", ">")
		pl.Proto = between(tail, " proto=", " ")
		pl.Helo = between(tail, " helo=<", ">")
	}
	pl.Reason = body
	pl.Reply = body
	switch pl.Command {
	case "RCPT":
		pl.Command = "RCPT TO"
	case "MAIL":
		pl.Command = "MAIL FROM"
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

// splitReason finds the server reply inside a delivery or note reason.
func splitReason(pl *PostfixLine) {
	if pl.Kind == LineReject {
		return
	}
	r := strings.TrimPrefix(pl.Reason, "delivery temporarily suspended: ")
	// smtp_proto.c: "host %s said: %s (in reply to %s command)".
	if host, rest, ok := cutHost(r, "host ", " said: "); ok && strings.HasSuffix(rest, " command)") {
		if i := strings.LastIndex(rest, " (in reply to "); i >= 0 && i+len(" (in reply to ") < len(rest)-len(" command)") {
			pl.Host, pl.Reply = host, rest[:i]
			pl.Command = rest[i+len(" (in reply to ") : len(rest)-len(" command)")]
			return
		}
	}
	if host, rest, ok := cutHost(r, "host ", " refused to talk to me: "); ok {
		pl.Host, pl.Reply = host, rest
		return
	}
	if host, rest, ok := cutHost(r, "TLS is required, but host ", " refused to start TLS: "); ok {
		pl.Host, pl.Reply, pl.Command = host, rest, "STARTTLS"
		return
	}
	if len(r) >= 4 && r[0] >= '2' && r[0] <= '5' && digit(r[1]) && digit(r[2]) && (r[3] == ' ' || r[3] == '-') {
		// status=sent / deliverable: the reason is the server's reply.
		pl.Reply = r
	}
}

// firstAddress finds "<a@b>" in a reply, for explanations that name the
// recipient.
func firstAddress(s string) string {
	i := strings.IndexByte(s, '<')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], '>')
	if j < 0 {
		return ""
	}
	return s[i+1 : i+j]
}
