package maillog

import "strings"

// sendmail's log (sendmail/savemail.c, deliver.c logdelivery, srvrsmtp.c):
//
//	QID: from=<a@b>, size=1234, class=0, nrcpts=1, msgid=<…>, proto=ESMTP, daemon=MTA, relay=host [ip]
//	QID: to=<r@d>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120, relay=mx.d. [ip], dsn=2.0.0, stat=Sent (OK id)
//	QID: to=<r@d>, ctladdr=…, delay=…, mailer=esmtp, relay=…, dsn=4.0.0, stat=Deferred: Connection refused by mx.d.
//	QID: QID2: DSN: User unknown
//	QID: ruleset=check_rcpt, arg1=<r@d>, relay=host [ip], reject=550 5.7.1 <r@d>... Relaying denied
//
// to= may list several recipients separated by commas. sendmail writes no
// "removed" line; a message ends when each of its nrcpts recipients has a
// final status.
func parseSendmail(fr *Frame, ev *Event) (ok, unreadable bool) {
	ev.MTA = MTASendmail
	ev.Time = fr.Time
	ev.Host = fr.Host
	ev.Instance = "sendmail"
	id, rest, hasID := queueID(fr.Msg)
	if !hasID {
		if strings.HasPrefix(fr.Msg, "ruleset=") {
			return sendmailReject(fr.Msg, ev)
		}
		return true, false
	}
	if id != "NOQUEUE" {
		ev.ID = id
	}
	switch {
	case strings.HasPrefix(rest, "from="):
		ev.Kind = EventReceived
		ev.Sender, ev.HasSender = strings.Trim(smField(rest, "from="), "<>"), true
		ev.Size = atoi64(smField(rest, "size="))
		ev.MessageID = strings.Trim(smField(rest, "msgid="), "<>")
		ev.Client = smField(rest, "relay=")
		nr := smField(rest, "nrcpts=")
		ev.NRcpt, ev.NoRcpt = int(atoi64(nr)), nr == "0"
		return true, false
	case strings.HasPrefix(rest, "to="):
		st := strings.Index(rest, ", stat=")
		if st < 0 {
			return false, true
		}
		ev.Kind = EventAttempt
		ev.Recipient = strings.Trim(smField(rest, "to="), "<>")
		ev.Relay = smField(rest[:st+2], "relay=")
		ev.DSN = smField(rest[:st+2], "dsn=")
		stat := rest[st+len(", stat="):]
		ev.Reason = stat
		switch {
		case strings.HasPrefix(ev.DSN, "2.") || ev.DSN == "" && strings.HasPrefix(stat, "Sent"):
			ev.Status = "sent"
		case strings.HasPrefix(ev.DSN, "4.") || ev.DSN == "" && strings.HasPrefix(stat, "Deferred"):
			ev.Status = "deferred"
		default:
			ev.Status = "bounced"
		}
		return true, false
	case strings.HasPrefix(rest, "ruleset="):
		return sendmailReject(rest, ev)
	}
	if c := strings.Index(rest, ": DSN: "); c > 0 {
		ev.Kind = EventHop
		ev.NextID = rest[:c]
		ev.Reason = "DSN: " + rest[c+len(": DSN: "):]
	}
	return true, false
}

func sendmailReject(s string, ev *Event) (bool, bool) {
	r := smField(s, "reject=")
	if r == "" {
		i := strings.Index(s, "reject=")
		if i < 0 {
			return true, false
		}
		r = s[i+len("reject="):]
	}
	ev.Kind = EventReject
	ev.Status = "rejected"
	if i := strings.Index(s, "reject="); i >= 0 {
		ev.Reason = s[i+len("reject="):]
	}
	arg := strings.Trim(smField(s, "arg1="), "<>")
	if strings.Contains(s, "ruleset=check_rcpt") {
		ev.Recipient = arg
	} else {
		ev.Sender, ev.HasSender = arg, true
	}
	ev.Client = smField(s, "relay=")
	ev.DSN = replyDSN(ev.Reason)
	return true, false
}

// smField returns a "key=value" field of a sendmail line; values end at
// ", " (relay= values contain a space: "host [ip]").
func smField(s, key string) string {
	i := 0
	for {
		j := strings.Index(s[i:], key)
		if j < 0 {
			return ""
		}
		j += i
		if j == 0 || s[j-1] == ' ' {
			v := s[j+len(key):]
			if e := strings.Index(v, ", "); e >= 0 {
				v = v[:e]
			}
			return v
		}
		i = j + len(key)
	}
}
