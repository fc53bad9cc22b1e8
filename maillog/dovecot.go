package maillog

import "strings"

// Dovecot's LMTP server and LDA log one line per delivered (or refused)
// mailbox delivery. They have no queue: each line is an outcome of its
// own, keyed by the session id when there is one. Shapes, from Dovecot
// 2.2/2.3 (src/lmtp/lmtp-local.c, src/lda/main.c, mail_log plugin):
//
//	lmtp(user@dom)<pid><session>: msgid=<…>: saved mail to INBOX
//	lmtp(user@dom): P90YOokWWVS8GQAArK2B9Q: sieve: msgid=unspecified: stored mail into mailbox 'INBOX'
//	lda(user): msgid=<…>: saved mail to INBOX
//	lmtp(user)<…><…>: Error: msgid=<…>: save failed to INBOX: Quota exceeded (mailbox for user is full)
//	lda(user): Error: msgid=<…>: rejected: Quota exceeded (mailbox for user is full)
func parseDovecot(fr *Frame, ev *Event) (ok, unreadable bool) {
	ev.MTA = MTADovecot
	ev.Time = fr.Time
	ev.Host = fr.Host
	ev.Instance = "dovecot"
	head, body := fr.Program, fr.Msg
	if head == "dovecot" {
		c := strings.Index(body, ": ")
		if c < 0 {
			return true, false
		}
		head, body = body[:c], body[c+2:]
	}
	var proc string
	switch {
	case strings.HasPrefix(head, "lmtp("):
		proc = "lmtp"
	case strings.HasPrefix(head, "lda("):
		proc = "lda"
	case strings.HasPrefix(head, "deliver("):
		proc = "deliver"
	default:
		return true, false // imap, pop3, auth, master: not deliveries
	}
	open := strings.IndexByte(head, '(')
	close := strings.IndexByte(head, ')')
	if close < open {
		return false, true
	}
	user := head[open+1 : close]
	rest := head[close+1:]
	// "<pid><session>" after the user (2.3)
	session := ""
	if strings.HasPrefix(rest, "<") {
		if j := strings.LastIndexByte(rest, '<'); j >= 0 && strings.HasSuffix(rest, ">") {
			session = rest[j+1 : len(rest)-1]
		}
	}
	for _, sev := range []string{"Info: ", "Error: ", "Warning: ", "Fatal: ", "Panic: ", "Debug: "} {
		body = strings.TrimPrefix(body, sev)
	}
	if !strings.Contains(user, "@") && !strings.Contains(body, "msgid=") {
		// lmtp(6588): Connect from … — the process, not a user
		return true, false
	}
	msgid := between(body, "msgid=", ": ")
	if msgid == "unspecified" {
		msgid = ""
	}
	// 2.2 logs the session id as the first field: "P90YOokWWVS8GQAArK2B9Q: sieve: …"
	if session == "" {
		if c := strings.Index(body, ": "); c >= 16 && c <= 32 && alnumPlus(body[:c]) {
			session = body[:c]
		}
	}
	switch {
	case strings.Contains(body, "saved mail to ") || strings.Contains(body, "stored mail into mailbox"):
		ev.Status = "sent"
		ev.DSN = "2.0.0"
		i := strings.LastIndex(body, ": ")
		ev.Reason = body[i+2:]
	case strings.Contains(body, "Quota exceeded") || strings.Contains(body, "rejected: ") || strings.Contains(body, "save failed"):
		ev.Status = "bounced"
		ev.Reason = body
		if strings.Contains(body, "msgid=") {
			if i := strings.Index(body, ": "); i >= 0 && strings.HasPrefix(body, "msgid=") {
				ev.Reason = body[i+2:]
			}
		}
		if strings.Contains(body, "Quota exceeded") {
			ev.DSN = "5.2.2"
		}
		if strings.Contains(body, "tempfail") || strings.Contains(body, "Temporary") {
			ev.Status = "deferred"
			ev.DSN = "4.2.2"
		}
	default:
		return true, false
	}
	ev.Kind = EventAttempt
	ev.Recipient = user
	ev.Relay = proc
	ev.MessageID = strings.Trim(msgid, "<>")
	ev.ID = session
	if ev.ID == "" {
		ev.ID = ev.MessageID
	}
	return true, false
}

func alnumPlus(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
