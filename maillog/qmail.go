package maillog

import "strings"

// qmail-send's log (qmail-send.c, qmail-log(5)), usually written by
// multilog with TAI64N labels, or through splogger/accustamp with epoch
// stamps:
//
//	new msg 195408
//	info msg 195408: bytes 1580 from <a@b> qp 30987 uid 503
//	starting delivery 3534823: msg 195408 to local user@example
//	delivery 3534823: success: did_0+0+1/
//	delivery 67496: deferral: Sorry,[7]_I_wasn't_able_to_establish_an_SMTP_connection._(#4.4.1)/
//	end msg 195408
//
// Delivery results are qmail-remote/qmail-local reports in which spaces
// are written as '_' and line ends as '/'; "(#4.4.1)" is the RFC 3463
// code qmail attaches.
//
// indimail-mta's qmail-send and slowq-send append the queue's name to
// every line ("end msg 932523 slowq", "delivery 4: success: did_1+0+0/
// slowq"; indimail-virtualdomains .github/README-indimail.md). qmail's
// ids, addresses and encoded reports hold no space, so each is read up
// to the first space and such a suffix is left out.
func parseQmail(fr *Frame, ev *Event) (ok, unreadable bool) {
	ev.MTA = MTAQmail
	ev.Time = fr.Time
	ev.Host = fr.Host
	ev.Instance = "qmail"
	m := fr.Msg
	// splogger writes qmail's own epoch stamp after the syslog prefix
	// ("Sep 14 09:58:09 gandalf qmail: 1063526289.292776 info msg …",
	// AWStats tools/maillogconvert.pl); it is exact and carries the year
	// the syslog stamp lacks.
	if t, n, ok := epochStamp(m); ok {
		ev.Time, m = t, trimSpace1(m[n:])
	}
	switch {
	case strings.HasPrefix(m, "new msg "):
		ev.Kind = EventReceived
		ev.ID = firstField(m[len("new msg "):])
	case strings.HasPrefix(m, "info msg "):
		s := m[len("info msg "):]
		c := strings.IndexByte(s, ':')
		if c < 0 {
			return false, true
		}
		ev.Kind = EventSender
		ev.ID = s[:c]
		if i := strings.Index(s, " bytes "); i >= 0 {
			ev.Size = atoi64(s[i+7:])
		}
		if i := strings.Index(s, " from <"); i >= 0 {
			t := s[i+7:]
			if e := strings.IndexByte(t, '>'); e >= 0 {
				ev.Sender, ev.HasSender = t[:e], true
			}
		}
	case strings.HasPrefix(m, "starting delivery "):
		// starting delivery D: msg N to remote|local R
		s := m[len("starting delivery "):]
		c := strings.Index(s, ": msg ")
		if c < 0 {
			return false, true
		}
		ev.Delivery = s[:c]
		s = s[c+len(": msg "):]
		sp := strings.Index(s, " to ")
		if sp < 0 {
			return false, true
		}
		ev.ID = s[:sp]
		s = s[sp+len(" to "):]
		if k := strings.IndexByte(s, ' '); k >= 0 {
			ev.Relay = s[:k] // "remote" or "local"
			ev.Recipient = firstField(s[k+1:])
		} else {
			return false, true
		}
		ev.Kind = EventStart
	case strings.HasPrefix(m, "delivery "):
		s := m[len("delivery "):]
		c := strings.Index(s, ": ")
		if c < 0 {
			return false, true
		}
		ev.Delivery = s[:c]
		s = s[c+2:]
		c = strings.Index(s, ": ")
		result, text := s, ""
		if c >= 0 {
			result, text = s[:c], s[c+2:]
		}
		switch result {
		case "success":
			ev.Status = "sent"
		case "failure":
			ev.Status = "bounced"
		case "deferral":
			ev.Status = "deferred"
		default:
			return false, true
		}
		ev.Kind = EventAttempt
		ev.Reason = qmailText(firstField(text))
		ev.DSN = qmailDSN(ev.Reason)
	case strings.HasPrefix(m, "end msg "):
		ev.Kind = EventRemoved
		ev.ID = firstField(m[len("end msg "):])
	case strings.HasPrefix(m, "bounce msg "):
		s := m[len("bounce msg "):]
		if sp := strings.IndexByte(s, ' '); sp >= 0 {
			s = s[:sp]
		}
		ev.Kind = EventHop
		ev.ID = s
		ev.Reason = "bounce message created"
	}
	// status:, triple bounce, warning:, alert: and other programs' lines
	// under multilog carry no outcome
	return true, false
}

// qmailText decodes qmail's report encoding: '_' for space, '/' for a
// line end.
func qmailText(s string) string {
	if strings.IndexByte(s, '_') < 0 && strings.IndexByte(s, '/') < 0 {
		return s
	}
	b := []byte(strings.TrimSuffix(s, "/"))
	for i, c := range b {
		switch c {
		case '_':
			b[i] = ' '
		case '/':
			b[i] = ' '
		}
	}
	return string(b)
}

// qmailDSN takes "4.4.1" from qmail's "(#4.4.1)".
func qmailDSN(s string) string {
	i := strings.LastIndex(s, "(#")
	if i < 0 {
		return ""
	}
	return leadingDSN(s[i+2:])
}

// firstField is s up to its first space.
func firstField(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}
