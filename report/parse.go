package report

import (
	"errors"
	"regexp"
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

var (
	reSyslogTag = regexp.MustCompile(`([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+)\[(\d+)\]:\s+`)
	reQueueID   = regexp.MustCompile(`^([0-9A-Za-z]{5,20}|NOQUEUE):\s+`)
	reSaid      = regexp.MustCompile(`^host (\S+\[[^\]]*\]) said: (.*) \(in reply to (.+?) command\)$`)
	reRefused   = regexp.MustCompile(`^host (\S+\[[^\]]*\]) refused to talk to me: (.*)$`)
	reTLSRefuse = regexp.MustCompile(`^TLS is required, but host (\S+\[[^\]]*\]) refused to start TLS: (.*)$`)
	reReject    = regexp.MustCompile(`^(?:reject|milter-reject|discard|hold|warn): (\S+) from (\S+?): (.*)$`)
	reReplyHead = regexp.MustCompile(`^[2-5]\d\d[ -]`)
	noteStarts  = []string{"host ", "connect to ", "lost connection with ", "conversation with ", "Host or domain name not found", "Name service error", "Domain ", "TLS is required", "Cannot start TLS", "Server certificate not verified", "delivery temporarily suspended: "}
)

// ParsePostfixLine parses one Postfix log line, with or without the
// syslog prefix: a delivery status line (smtp, lmtp, local, virtual,
// pipe, verify's probes), an smtpd NOQUEUE/queue-id reject line, or a
// delivery agent's note about a passed-over server. It never panics and
// never allocates more than a few copies of the line.
func ParsePostfixLine(line string) (*PostfixLine, error) {
	line = strings.TrimRight(line, "\r\n \t")
	pl := &PostfixLine{}
	rest := line
	if loc := reSyslogTag.FindStringSubmatchIndex(rest); loc != nil {
		pl.Program, pl.PID = rest[loc[2]:loc[3]], rest[loc[4]:loc[5]]
		rest = rest[loc[1]:]
	}
	if m := reQueueID.FindStringSubmatch(rest); m != nil {
		pl.QueueID = m[1]
		rest = rest[len(m[0]):]
	}
	switch {
	case strings.HasPrefix(rest, "to=") && strings.Contains(rest, "status=") || (pl.Program == "" && strings.Contains(rest, "to=<") && strings.Contains(rest, "status=")):
		if i := strings.Index(rest, "to="); i >= 0 {
			rest = rest[i:]
		}
		if err := parseDelivery(pl, rest); err != nil {
			return nil, err
		}
	case reReject.MatchString(rest):
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

// parseDelivery reads log_adhoc.c's "to=<%s>[, orig_to=<%s>], relay=%s[,
// conn_use=%d], delay=…, delays=…[, tls=…], dsn=%s, status=%s (%s)".
func parseDelivery(pl *PostfixLine, s string) error {
	pl.Kind = LineDelivery
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if key == "status" {
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				pl.Status = s
				s = ""
				break
			}
			pl.Status = s[:sp]
			r := strings.TrimLeft(s[sp:], " ")
			if strings.HasPrefix(r, "(") {
				r = r[1:]
				r = strings.TrimSuffix(r, ")")
			}
			pl.Reason = r
			s = ""
			break
		}
		if strings.HasPrefix(s, "<") {
			end := strings.IndexByte(s, '>')
			if end < 0 {
				return ErrNotPostfixLine
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
	}
	if pl.To == "" && pl.Status == "" {
		return ErrNotPostfixLine
	}
	return nil
}

// parseReject reads smtpd_check.c's reject log:
// "reject: RCPT from host[addr]: 450 4.1.1 <a@b>: Recipient address
// rejected: …; from=<s> to=<r> proto=ESMTP helo=<h>".
func parseReject(pl *PostfixLine, s string) {
	m := reReject.FindStringSubmatch(s)
	pl.Kind = LineReject
	pl.Command = m[1]
	pl.Host = m[2]
	body := m[3]
	if i := strings.LastIndex(body, "; from=<"); i >= 0 {
		tail := body[i+2:]
		body = body[:i]
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
	if m := reSaid.FindStringSubmatch(r); m != nil {
		pl.Host, pl.Reply, pl.Command = m[1], m[2], m[3]
		return
	}
	if m := reRefused.FindStringSubmatch(r); m != nil {
		pl.Host, pl.Reply = m[1], m[2]
		return
	}
	if m := reTLSRefuse.FindStringSubmatch(r); m != nil {
		pl.Host, pl.Reply, pl.Command = m[1], m[2], "STARTTLS"
		return
	}
	if reReplyHead.MatchString(r) {
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
