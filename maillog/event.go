package maillog

import (
	"strings"
	"time"
)

// MTA names the software that wrote a line.
type MTA string

const (
	MTAPostfix  MTA = "postfix"
	MTAQmail    MTA = "qmail"
	MTAExim     MTA = "exim"
	MTASendmail MTA = "sendmail"
	MTADovecot  MTA = "dovecot"
	// MTACm4all is the hosting platform's cm4all_milter, which logs a
	// verdict on Postfix's queue ids.
	MTACm4all MTA = "cm4all"
)

// EventKind is what one line says about a message.
type EventKind uint8

const (
	EventNone EventKind = iota
	// EventReceived: the message entered the queue (smtpd client=,
	// pickup, Exim "<=", qmail "new msg", sendmail from=).
	EventReceived
	// EventSender: the envelope sender and size are known (qmgr from=,
	// qmail "info msg").
	EventSender
	// EventAttempt: one delivery attempt for one recipient, with status.
	EventAttempt
	// EventStart: qmail "starting delivery D: msg N to remote R" — links
	// a delivery number to a message and recipient.
	EventStart
	// EventRemoved: the message left the queue (qmgr removed, Exim
	// Completed, qmail end msg).
	EventRemoved
	// EventExpired: qmgr "from=<…>, status=expired, returned to sender".
	EventExpired
	// EventHeld: the message was put on hold (cleanup hold:, the hosting
	// milter's ON HOLD / LIMIT EXCEEDED).
	EventHeld
	// EventReject: smtpd/cleanup/postscreen refused a message or
	// recipient (NOQUEUE: reject:, milter-reject:).
	EventReject
	// EventHop: a content filter took the message and re-injected it
	// under NextID (amavis "queued as"), or a bounce was created.
	EventHop
	// EventFrozen: Exim "Message is frozen".
	EventFrozen
	// EventMessageID: the Message-ID header (cleanup message-id=).
	EventMessageID
	// EventNote: the smtp/lmtp client's note about one host it passed
	// over ("host H[A] refused to talk to me: 554 …", "connect to H[A]:25:
	// Connection timed out"); the recipient's to= line normally follows
	// and decides, but a log may hold the note alone.
	EventNote
	// EventVerdict: a milter's verdict that does not stop the message
	// (the hosting milter's ACCEPTED).
	EventVerdict
)

// Event is what a parser makes of one line. Strings are substrings of
// the line; the tracker copies what it keeps.
type Event struct {
	Kind EventKind
	MTA  MTA
	Time time.Time
	Host string
	// Instance tells queues apart that share ids: the syslog name
	// before the service ("postfix", "postfix-out") with the host.
	Instance string
	ID       string // queue id; qmail's message number; "" for NOQUEUE
	Delivery string // qmail delivery number

	Recipient string
	OrigTo    string
	Sender    string
	HasSender bool
	Size      int64
	Status    string // sent, deferred, bounced, expired, … (the MTA's word, mapped)
	DSN       string
	Relay     string
	Reason    string
	Client    string
	MessageID string
	NextID    string
	Repeat    int  // "message repeated N times": the event happened N times
	NRcpt     int  // sendmail's nrcpts=: the message ends after this many final statuses
	NoRcpt    bool // sendmail's nrcpts=0: the transaction ended with no recipient accepted
}

// Parser turns one framed line into an Event. ok is false when the line
// is not one the parser knows; unreadable is true when it should have
// been (it has the shape of a line that matters but a part is missing),
// so the line is counted rather than silently skipped.
type Parser func(fr *Frame, ev *Event) (ok, unreadable bool)

// dispatch picks the parser for a frame: by program name first, by the
// shape of the message for the formats that carry no program.
func dispatch(fr *Frame) (MTA, Parser) {
	p := fr.Program
	switch fr.Format {
	case FormatExim:
		return MTAExim, parseExim
	case FormatMultilog, FormatTAI64NLocal, FormatEpoch:
		return MTAQmail, parseQmail
	}
	switch {
	case p == "":
		return "", nil
	case strings.IndexByte(p, '/') > 0:
		// postfix/smtp, postfix-out/qmgr, postfix/submission/smtpd; other
		// slash-named programs are Postfix only if the service is one.
		if strings.HasPrefix(p, "postfix") || isPostfixService(p[strings.LastIndexByte(p, '/')+1:]) {
			return MTAPostfix, parsePostfix
		}
	case p == "cm4all_milter":
		return MTACm4all, parseCm4all
	case p == "dovecot" || strings.HasPrefix(p, "lmtp(") || strings.HasPrefix(p, "lda(") || strings.HasPrefix(p, "deliver("):
		return MTADovecot, parseDovecot
	case p == "sendmail" || p == "sm-mta" || p == "sm-msp-queue" || p == "sm-acceptingconnections":
		// sm-acceptingconnections: the daemon's process title, which syslog
		// takes as the tag on some systems (fail2ban's sendmail-reject
		// filter and test log, config/filter.d/sendmail-reject.conf).
		return MTASendmail, parseSendmail
	case p == "qmail" || p == "qmail-send":
		return MTAQmail, parseQmail
	case p == "exim" || p == "exim4":
		return MTAExim, parseExim
	}
	return "", nil
}

// isPostfixService lists the daemons of Postfix's master.cf (and the
// names sites commonly give pipe(8) and smtp(8) instances).
func isPostfixService(s string) bool {
	switch s {
	case "smtpd", "smtp", "lmtp", "cleanup", "qmgr", "nqmgr", "pickup", "local", "virtual", "pipe",
		"error", "retry", "discard", "bounce", "defer", "trace", "postscreen", "dnsblog", "tlsproxy",
		"verify", "anvil", "scache", "master", "postsuper", "postqueue", "postdrop", "sendmail",
		"relay", "proxymap", "tlsmgr", "postlogd", "showq", "flush", "trivial-rewrite", "postmap",
		"oqmgr", "smtp-amavis", "amavis", "dovecot", "maildrop", "uucp", "spawn", "postfix-script":
		return true
	}
	return false
}

// DispatchMTA names the MTA whose parser reads a frame ("" for other
// programs); used by tools that sort real lines by parser.
func DispatchMTA(fr *Frame) MTA {
	m, _ := dispatch(fr)
	return m
}
