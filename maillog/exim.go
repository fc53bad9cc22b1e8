package maillog

import "strings"

// Exim's mainlog (Exim spec, chapter "Log files", "Logging message
// reception" and "Logging deliveries"): after the stamp, a message id and
// a flag:
//
//	1pBxyz-0001Ab-C3 <= sender@example H=host [192.0.2.1] P=esmtp S=1234 id=…
//	1pBxyz-0001Ab-C3 => rcpt@example R=dnslookup T=remote_smtp H=mx [192.0.2.2] C="250 OK"
//	1pBxyz-0001Ab-C3 -> other@example R=… (another address in the same delivery)
//	1pBxyz-0001Ab-C3 *> rcpt@example … (delivery suppressed by -N)
//	1pBxyz-0001Ab-C3 == rcpt@example R=dnslookup T=remote_smtp defer (-44) H=mx [ip]: SMTP error from remote mail server after RCPT TO:<rcpt@example>: 451 …
//	1pBxyz-0001Ab-C3 ** rcpt@example R=…: SMTP error from remote mail server after RCPT TO:<…>: 550 …
//	1pBxyz-0001Ab-C3 Completed
//	1pBxyz-0001Ab-C3 Message is frozen
//
// Exim 4.97 lengthened ids to 23 characters (1rgkxY-00000000Biz-0ZA1);
// isEximID accepts both. Rejections without a message carry no id:
// "H=(helo) [ip] F=<s> rejected RCPT <r>: text".
func parseExim(fr *Frame, ev *Event) (ok, unreadable bool) {
	ev.MTA = MTAExim
	ev.Time = fr.Time
	ev.Host = fr.Host
	ev.Instance = "exim"
	m := fr.Msg
	sp := strings.IndexByte(m, ' ')
	if sp < 0 || !isEximID(m[:sp]) {
		if i := strings.Index(m, " rejected RCPT "); i >= 0 {
			ev.Kind = EventReject
			ev.Status = "rejected"
			r := m[i+len(" rejected RCPT "):]
			// "<r@d>: text", or without brackets "r@d: text"
			var e int
			if strings.HasPrefix(r, "<") {
				e = strings.IndexByte(r, '>')
				if e < 0 {
					return false, true
				}
				ev.Recipient = r[1:e]
				r = r[e+1:]
			} else {
				e = strings.IndexByte(r, ':')
				if e < 0 {
					return false, true
				}
				ev.Recipient = r[:e]
				r = r[e:]
			}
			ev.Reason = strings.TrimPrefix(r, ": ")
			if f := strings.Index(m[:i], "F=<"); f >= 0 {
				ev.Sender, ev.HasSender = between(m[f:], "F=<", ">"), true
			} else if f := strings.Index(m[:i], "F="); f >= 0 {
				ev.Sender, ev.HasSender = m[f+2:i], true
			}
			ev.Client = strings.TrimPrefix(m[:i], "H=")
			if f := strings.Index(ev.Client, " F="); f >= 0 {
				ev.Client = ev.Client[:f]
			}
			ev.DSN = replyDSN(ev.Reason)
		}
		return true, false
	}
	ev.ID = m[:sp]
	rest := m[sp+1:]
	if len(rest) < 2 {
		return true, false
	}
	flag := rest[:2]
	switch flag {
	case "<=":
		// "<= sender H=… S=size id=…"; the null sender is "<>"
		if len(rest) < 4 {
			return false, true
		}
		s := trimSpace1(rest[3:])
		e := strings.IndexByte(s, ' ')
		if e < 0 {
			e = len(s)
		}
		ev.Kind = EventReceived
		ev.Sender, ev.HasSender = s[:e], true
		if ev.Sender == "<>" {
			ev.Sender = ""
		}
		ev.Client = eximField(s, " H=")
		if sz := eximField(s, " S="); sz != "" {
			ev.Size = atoi64(sz)
		}
		ev.MessageID = eximField(s, " id=")
		return true, false
	case "=>", "->", "*>", "==", "**":
		if len(rest) < 4 {
			return false, true
		}
		s := trimSpace1(rest[3:])
		ev.Kind = EventAttempt
		switch flag {
		case "==":
			ev.Status = "deferred"
		case "**":
			ev.Status = "bounced"
		default:
			ev.Status = "sent"
		}
		// the address, then optional " <original>", then fields, then
		// ": reason" for failures
		fields := s
		if flag == "==" || flag == "**" {
			if c := strings.Index(s, ": "); c >= 0 {
				fields, ev.Reason = s[:c], s[c+2:]
			}
		}
		e := strings.IndexByte(fields, ' ')
		if e < 0 {
			e = len(fields)
		}
		ev.Recipient = fields[:e]
		if strings.HasPrefix(fields[e:], " <") {
			ev.OrigTo = between(fields[e:], " <", ">")
			// a local delivery names the local part first: "=> userx
			// <userx@test.ex>"; the address is the one in brackets
			if strings.IndexByte(ev.Recipient, '@') < 0 && strings.IndexByte(ev.OrigTo, '@') > 0 {
				ev.Recipient, ev.OrigTo = ev.OrigTo, ""
			}
		}
		ev.Relay = eximField(fields, " H=")
		if ip := eximField(fields, " ["); ip != "" && ev.Relay != "" {
			ev.Relay += " [" + ip
		}
		if ev.Status == "sent" {
			ev.Reason = strings.Trim(eximQuoted(fields, " C=\""), "\"")
			if ev.Relay == "" {
				ev.Relay = eximField(fields, " T=")
			}
		}
		if reply := findReply(ev.Reason); reply != "" {
			ev.DSN = replyDSN(reply)
		}
		return true, false
	}
	switch {
	case rest == "Completed" || strings.HasPrefix(rest, "Completed "):
		ev.Kind = EventRemoved
	case strings.HasPrefix(rest, "Message is frozen"):
		ev.Kind = EventFrozen
		ev.Reason = rest
	}
	return true, false
}

// eximField returns the value after key up to the next space.
func eximField(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	v := s[i+len(key):]
	if e := strings.IndexByte(v, ' '); e >= 0 {
		v = v[:e]
	}
	return v
}

// eximQuoted returns a quoted field value (C="250 OK id=…").
func eximQuoted(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	v := s[i+len(key):]
	if e := strings.IndexByte(v, '"'); e >= 0 {
		v = v[:e]
	}
	return v
}

// findReply finds the server reply in an MTA's failure text: the first
// ": " followed by a three-digit reply code (Exim's "SMTP error from
// remote mail server after RCPT TO:<a@b>: 550 5.1.1 …", qmail's
// "Remote host said: 550 …").
func findReply(s string) string {
	for i := 0; i+6 <= len(s); {
		j := strings.Index(s[i:], ": ")
		if j < 0 {
			return ""
		}
		k := i + j + 2
		if k+4 <= len(s) && s[k] >= '2' && s[k] <= '5' && s[k+1] >= '0' && s[k+1] <= '9' && s[k+2] >= '0' && s[k+2] <= '9' && (s[k+3] == ' ' || s[k+3] == '-') {
			return s[k:]
		}
		i = k
	}
	return ""
}
