package maillog

import (
	"strings"

	"github.com/mailprobe/mailprobe/report"
)

// Postfix lines, after the syslog tag "postfix/SERVICE[pid]: ". The
// shapes follow Postfix's source: log_adhoc.c (delivery status lines),
// qmgr_active.c / qmgr_message.c ("from=<…>, size=…, nrcpt=… (queue
// active)", "removed", "status=expired, returned to sender"),
// smtpd.c ("client=…"), pickup.c ("uid=… from=<…>"), cleanup_message.c
// ("message-id=<…>", "reject:", "hold:", "milter-reject:"),
// smtpd_check.c ("NOQUEUE: reject: RCPT from …; from=<…> to=<…>
// proto=… helo=<…>"), postscreen.c (the same with ", " separators) and
// bounce_notify_service.c ("sender non-delivery notification: ID").

// parsePostfix reads one Postfix message.
func parsePostfix(fr *Frame, ev *Event) (ok, unreadable bool) {
	msg := fr.Msg
	ev.MTA = MTAPostfix
	ev.Time = fr.Time
	ev.Host = fr.Host
	if i := strings.IndexByte(fr.Program, '/'); i > 0 {
		ev.Instance = fr.Program[:i]
	}
	msg, ev.Repeat = unrepeat(msg)
	id, rest, hasID := queueID(msg)
	if !hasID {
		// daemon chatter: connect from, disconnect from, warning:, statistics:
		return true, false
	}
	if id != "NOQUEUE" {
		ev.ID = id
	}
	if rest == "" {
		return true, false
	}
	switch rest[0] {
	case 't':
		if strings.HasPrefix(rest, "to=<") {
			if !parseAttempt(rest, ev) {
				return false, true
			}
			ev.Kind = EventAttempt
			return true, false
		}
	case 'f':
		if strings.HasPrefix(rest, "from=<") {
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return false, true
			}
			ev.Sender, ev.HasSender = rest[6:end], true
			tail := rest[end+1:]
			if strings.HasPrefix(tail, ", status=expired") {
				ev.Kind = EventExpired
				ev.Status = "expired"
				ev.Reason = strings.TrimPrefix(tail, ", status=expired, ")
				return true, false
			}
			ev.Kind = EventSender
			if i := strings.Index(tail, "size="); i >= 0 {
				ev.Size = atoi64(tail[i+5:])
			}
			return true, false
		}
	case 'r':
		if rest == "removed" {
			ev.Kind = EventRemoved
			return true, false
		}
		if strings.HasPrefix(rest, "reject: ") {
			return parseReject(rest[len("reject: "):], "rejected", ev)
		}
	case 'c':
		if strings.HasPrefix(rest, "client=") {
			ev.Kind = EventReceived
			c := rest[len("client="):]
			if i := strings.IndexByte(c, ','); i >= 0 {
				c = c[:i]
			}
			ev.Client = c
			return true, false
		}
		if hostNote(fr.Program, rest) {
			ev.Kind, ev.Status, ev.Reason = EventNote, "deferred", rest
			return true, false
		}
	case 'u':
		if strings.HasPrefix(rest, "uid=") {
			ev.Kind = EventReceived
			if i := strings.Index(rest, " from=<"); i >= 0 {
				s := rest[i+7:]
				if e := strings.IndexByte(s, '>'); e >= 0 {
					ev.Sender, ev.HasSender = s[:e], true
				}
			}
			ev.Client = "local"
			return true, false
		}
	case 'm':
		if strings.HasPrefix(rest, "message-id=") {
			ev.Kind = EventMessageID
			id := rest[len("message-id="):]
			if len(id) >= 2 && id[0] == '<' && id[len(id)-1] == '>' {
				id = id[1 : len(id)-1]
			}
			ev.MessageID = id
			return true, false
		}
		if strings.HasPrefix(rest, "milter-reject: ") {
			return parseReject(rest[len("milter-reject: "):], "rejected", ev)
		}
		if strings.HasPrefix(rest, "milter-hold: ") {
			return parseReject(rest[len("milter-hold: "):], "held", ev)
		}
		if strings.HasPrefix(rest, "milter-discard: ") {
			return parseReject(rest[len("milter-discard: "):], "discarded", ev)
		}
	case 'h':
		if strings.HasPrefix(rest, "hold: ") {
			return parseReject(rest[len("hold: "):], "held", ev)
		}
		if hostNote(fr.Program, rest) {
			ev.Kind, ev.Status, ev.Reason = EventNote, "deferred", rest
			return true, false
		}
	case 'l':
		if hostNote(fr.Program, rest) {
			ev.Kind, ev.Status, ev.Reason = EventNote, "deferred", rest
			return true, false
		}
	case 'd':
		if strings.HasPrefix(rest, "discard: ") {
			return parseReject(rest[len("discard: "):], "discarded", ev)
		}
	case 'p':
		if rest == "placed on hold" { // postsuper -h
			ev.Kind = EventHeld
			ev.Status = "held"
			ev.Reason = "placed on hold (postsuper -h)"
			return true, false
		}
	case 's':
		// bounce(8): "sender non-delivery notification: 3F2A1B2C3D"
		if strings.HasPrefix(rest, "sender ") {
			if i := strings.Index(rest, " notification: "); i > 0 {
				ev.Kind = EventHop
				ev.NextID = rest[i+len(" notification: "):]
				ev.Reason = rest[:i+len(" notification")]
				return true, false
			}
		}
	}
	// other queue-id lines (notes about passed-over hosts, header
	// warnings, "enabling PIX workarounds") carry nothing the outcome needs
	return true, false
}

// hostNote: the smtp(8)/lmtp(8) client's note about a host it could not
// use — smtp_connect.c logs "connect to H[A]:25: …", smtp_helo.c and
// smtp_proto.c "host H[A] refused to talk to me: …" and "lost connection
// with H[A] while …", smtp_trouble.c "conversation with H[A] timed out
// while …" — before it tries the next MX or gives up; the per-recipient
// to= line with the status normally follows.
func hostNote(program, rest string) bool {
	if !strings.HasSuffix(program, "/smtp") && !strings.HasSuffix(program, "/lmtp") {
		return false
	}
	switch {
	case strings.HasPrefix(rest, "host "):
		return strings.Contains(rest, " refused to talk to me: ") || strings.Contains(rest, " said: ")
	case strings.HasPrefix(rest, "connect to "), strings.HasPrefix(rest, "lost connection with "),
		strings.HasPrefix(rest, "conversation with "):
		return true
	}
	return false
}

// unrepeat undoes rsyslog's and syslog-ng's repeated-message reduction:
// "message repeated 3 times: [ MSG]".
func unrepeat(msg string) (string, int) {
	const p = "message repeated "
	if !strings.HasPrefix(msg, p) {
		return msg, 1
	}
	s := msg[len(p):]
	n := 0
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	s = s[i:]
	if n == 0 || !strings.HasPrefix(s, " times: [") {
		return msg, 1
	}
	s = strings.TrimSuffix(strings.TrimSpace(s[len(" times: ["):]), "]")
	return strings.TrimSpace(s), n
}

// queueID splits "ID: rest". Postfix ids are hexadecimal (short ids) or
// base-52 with a 'z' separator (enable_long_queue_ids), or NOQUEUE.
func queueID(msg string) (id, rest string, ok bool) {
	i := 0
	for i < len(msg) && i < 32 {
		c := msg[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			break
		}
		i++
	}
	if i < 5 || i+1 >= len(msg) || msg[i] != ':' || msg[i+1] != ' ' {
		return "", msg, false
	}
	return msg[:i], msg[i+2:], true
}

// parseAttempt reads a delivery status line (log_adhoc.c) with report's
// cutter, the one that reads these lines for `mailprobe explain` too.
func parseAttempt(s string, ev *Event) bool {
	status, reason, err := report.CutDeliveryFields(s, func(key, val string) {
		switch key {
		case "to":
			ev.Recipient = val
		case "orig_to":
			ev.OrigTo = val
		case "relay":
			ev.Relay = val
		case "dsn":
			ev.DSN = val
		}
	})
	if err != nil || status == "" {
		return false
	}
	ev.Status, ev.Reason = status, reason
	if ev.Status == "sent" {
		ev.NextID = filterHop(ev.Relay, ev.Reason)
	}
	return true
}

// filterHop finds the new queue id of a content filter's re-injection:
// amavis answers "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0
// Ok: queued as 3F0F83A0C6", a filter on the same host "250 2.0.0 Ok:
// queued as ID". A "queued as" from a remote relay is that relay's id,
// which this log does not contain, so only loopback relays count.
func filterHop(relay, reason string) string {
	i := strings.LastIndex(reason, " queued as ")
	if i < 0 {
		return ""
	}
	if !strings.Contains(reason, "from MTA(") && !isLoopbackRelay(relay) {
		return ""
	}
	id := reason[i+len(" queued as "):]
	if j := strings.IndexAny(id, " )"); j >= 0 {
		id = id[:j]
	}
	if len(id) < 5 {
		return ""
	}
	return id
}

func isLoopbackRelay(relay string) bool {
	return strings.Contains(relay, "[127.") || strings.Contains(relay, "[::1]") || strings.HasPrefix(relay, "localhost[")
}

// parseReject reads "RCPT from host[addr]: 550 5.1.1 <r>: …; from=<s>
// to=<r> proto=ESMTP helo=<h>" (smtpd_check.c; postscreen separates the
// trailing fields with ", "), and cleanup's "header Subject: … from
// host[addr]; from=<s> to=<r> proto=… helo=<h>: 5.7.1 text".
func parseReject(s, status string, ev *Event) (bool, bool) {
	ev.Kind = EventReject
	if status == "held" {
		ev.Kind = EventHeld
	}
	ev.Status = status
	body, tail := s, ""
	if i := strings.LastIndex(s, "; from=<"); i >= 0 {
		body, tail = s[:i], s[i+2:]
	} else if i := strings.LastIndex(s, "; proto="); i >= 0 {
		body, tail = s[:i], s[i+2:]
	}
	if tail != "" {
		if strings.HasPrefix(tail, "from=<") {
			ev.Sender, ev.HasSender = between(tail, "from=<", ">"), true
		}
		ev.Recipient = between(tail, "to=<", ">")
		if !strings.Contains(tail, "to=<") {
			ev.Recipient = ""
		}
		// cleanup puts its text after the fields: "helo=<h>: 5.7.1 text"
		if h := strings.LastIndex(tail, "helo=<"); h >= 0 {
			if j := strings.Index(tail[h:], ">: "); j >= 0 {
				ev.Reason = tail[h+j+3:]
				if k := strings.LastIndex(body, " from "); k >= 0 {
					ev.Client = body[k+6:]
				}
				ev.DSN = leadingDSN(ev.Reason)
				return true, false
			}
		}
	}
	// smtpd, postscreen, milter: "RCPT from host[addr]: REPLY"
	if k := strings.Index(body, " from "); k >= 0 {
		rest := body[k+6:]
		if c := strings.Index(rest, ": "); c >= 0 {
			ev.Client = rest[:c]
			body = rest[c+2:]
		}
	}
	ev.Reason = body
	ev.DSN = replyDSN(body)
	if ev.DSN == "" {
		ev.DSN = leadingDSN(body) // milter-reject: "5.7.1 text"
	}
	return true, false
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

// replyDSN takes the enhanced code from "550 5.1.1 text".
func replyDSN(r string) string {
	if len(r) < 5 || r[3] != ' ' && r[3] != '-' {
		return ""
	}
	return leadingDSN(r[4:])
}

// leadingDSN takes "5.1.1" from the start of s (RFC 3463 §2: class.
// subject.detail, subject and detail up to three digits).
func leadingDSN(s string) string {
	if len(s) < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.' {
		return ""
	}
	i, dots := 2, 0
	for i < len(s) && i < 9 {
		c := s[i]
		if c == '.' {
			dots++
		} else if c < '0' || c > '9' {
			break
		}
		i++
	}
	if dots != 1 || s[i-1] == '.' {
		return ""
	}
	return s[:i]
}

func atoi64(s string) int64 {
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n
}
