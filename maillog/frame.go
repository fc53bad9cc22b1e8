package maillog

import (
	"strings"
	"time"
)

// Format names the framing of a log line: how its time stamp and
// origin are written. Unreadable lines are counted per Format.
type Format string

const (
	// FormatSyslog: RFC 3164 "Mmm dd hh:mm:ss host tag: msg", also with
	// a zero-padded day (Postfix's maillog_file, journalctl -o short),
	// a fraction (short-precise) and localized month names.
	FormatSyslog Format = "syslog"
	// FormatRFC3339: "2021-03-09T09:02:05.123+01:00 host tag: msg"
	// (rsyslog's RSYSLOG_FileFormat, journalctl -o short-iso with
	// "+0100"), with or without a severity column.
	FormatRFC3339 Format = "rfc3339"
	// FormatHosting: "ID [09/Mar/2021:09:02:05 +0100] 2021-03-09
	// 09:02:05+01:00 host tag: msg", the hosting format of the seeds.
	FormatHosting Format = "hosting"
	// FormatMultilog: daemontools' "@4000000063a1b2c3xxxxxxxx msg".
	FormatMultilog Format = "multilog"
	// FormatTAI64NLocal: multilog piped through tai64nlocal,
	// "2003-10-11 12:50:13.829608500 msg".
	FormatTAI64NLocal Format = "tai64nlocal"
	// FormatEpoch: "1065864990.123456 msg" (qmail's splogger, accustamp).
	FormatEpoch Format = "epoch"
	// FormatExim: Exim's mainlog, "2023-01-01 12:00:00[.mmm][ +0100][
	// [pid]] msg".
	FormatExim Format = "exim"
	// FormatUnknown: no known time stamp.
	FormatUnknown Format = "unknown"
)

// Frame is one log line split into its parts. Program is the syslog tag
// without the pid ("postfix/smtp", "postfix-out/qmgr", "cm4all_milter",
// "dovecot"); it is "" for multilog, tai64nlocal and epoch lines and
// "exim" for Exim's mainlog. All strings are substrings of the line.
type Frame struct {
	Time    time.Time
	Format  Format
	Prefix  string // a docker-compose service name ("smtp_1"), else ""
	Host    string
	Program string
	PID     string
	Msg     string
}

// Framer splits lines into Frames. It is not safe for concurrent use: it
// caches the last syslog stamp, which consecutive lines usually share.
type Framer struct {
	// Location is the zone of stamps that carry none (RFC 3164,
	// tai64nlocal); nil means time.Local.
	Location *time.Location
	// Year, when non-zero, is the year of RFC 3164 stamps. Otherwise the
	// year is the one that puts the stamp at or before Reference (a
	// file's modification time) — a log holds the past.
	Year      int
	Reference time.Time

	zones     zoneCache
	lastStamp string
	lastTime  time.Time
	lastN     int
}

func (f *Framer) loc() *time.Location {
	if f.Location != nil {
		return f.Location
	}
	return time.Local
}

// yearOf picks the year of an RFC 3164 stamp. A stamp more than a day
// after the reference belongs to the year before (December lines read
// in January).
func (f *Framer) yearOf(mo time.Month, d int) int {
	if f.Year != 0 {
		return f.Year
	}
	ref := f.Reference
	if ref.IsZero() {
		ref = time.Now()
	}
	ref = ref.In(f.loc())
	y := ref.Year()
	if mo > ref.Month() || (mo == ref.Month() && d > ref.Day()+1) {
		y--
	}
	return y
}

// Frame splits one line. ok is false when no known time stamp starts the
// line; the Frame then has FormatUnknown and Msg holds the line.
func (f *Framer) Frame(line string) (fr Frame, ok bool) {
	if f.zones == nil {
		f.zones = zoneCache{}
	}
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	s := line
	// docker-compose: "smtp_1  | …" (v1) or "smtp-1  | …" (v2).
	if sp := strings.IndexByte(s, ' '); sp > 0 && sp < 64 && s[0] != '@' && s[0] != '<' {
		j := sp
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j+1 < len(s) && s[j] == '|' && s[j+1] == ' ' && isServiceName(s[:sp]) {
			fr.Prefix = s[:sp]
			s = s[j+2:]
		}
	}
	// A syslog priority "<22>" written to a file by some relays.
	if len(s) > 3 && s[0] == '<' {
		if e := strings.IndexByte(s[:min(len(s), 6)], '>'); e > 1 {
			if _, ok := digits(s, 1, e-1); ok {
				s = s[e+1:]
			}
		}
	}
	fr.Msg = s
	fr.Format = FormatUnknown
	if s == "" {
		return fr, false
	}
	c := s[0]
	switch {
	case c == '@':
		t, n, ok := tai64nStamp(s)
		if !ok {
			return fr, false
		}
		fr.Time, fr.Format, fr.Msg = t, FormatMultilog, trimSpace1(s[n:])
		return fr, true
	case c >= '0' && c <= '9':
		return f.frameDigit(fr, s)
	default:
		if f.lastN > 0 && len(s) > f.lastN && s[f.lastN] == ' ' && s[:f.lastN] == f.lastStamp {
			fr.Time, fr.Format = f.lastTime, FormatSyslog
			return f.origin(fr, s[f.lastN:])
		}
		if t, n, ok := syslogStamp(s, f.yearOf, f.loc()); ok {
			// the line's memory is reused by the reader: keep a copy
			f.lastStamp, f.lastTime, f.lastN = strings.Clone(s[:n]), t, n
			fr.Time, fr.Format = t, FormatSyslog
			return f.origin(fr, s[n:])
		}
		// hosting: "ID [dd/Mon/yyyy:hh:mm:ss +zzzz] 2021-03-09 09:02:05+01:00 host tag: msg"
		if sp := strings.IndexByte(s, ' '); sp > 0 && sp+1 < len(s) && s[sp+1] == '[' {
			if t, n, ok := f.zones.accessStamp(s[sp+1:]); ok {
				rest := s[sp+1+n:]
				fr.Time, fr.Format = t, FormatHosting
				if len(rest) > 1 && rest[0] == ' ' {
					if t2, n2, ok := f.zones.isoStamp(rest[1:], f.loc(), false); ok {
						fr.Time = t2
						rest = rest[1+n2:]
					}
				}
				return f.origin(fr, rest)
			}
		}
	}
	return fr, false
}

func (f *Framer) frameDigit(fr Frame, s string) (Frame, bool) {
	if len(s) >= 19 && s[4] == '-' {
		t, n, ok := f.zones.isoStamp(s, f.loc(), s[10] == ' ')
		if !ok {
			return fr, false
		}
		fr.Time = t
		rest := s[n:]
		if s[10] == 'T' {
			fr.Format = FormatRFC3339
			return f.origin(fr, rest)
		}
		// "YYYY-MM-DD hh:mm:ss…": Exim, tai64nlocal or a syslog daemon
		// configured with a plain ISO date.
		if n == 29 && s[19] == '.' {
			fr.Format, fr.Msg = FormatTAI64NLocal, trimSpace1(rest)
			return fr, true
		}
		if eximRest(rest) {
			fr.Format, fr.Program = FormatExim, "exim"
			rest = trimSpace1(rest)
			if len(rest) > 2 && rest[0] == '[' {
				if e := strings.IndexByte(rest, ']'); e > 1 {
					fr.PID = rest[1:e]
					rest = trimSpace1(rest[e+1:])
				}
			}
			fr.Msg = rest
			return fr, true
		}
		fr.Format = FormatRFC3339
		return f.origin(fr, rest)
	}
	if t, n, ok := epochStamp(s); ok {
		fr.Time, fr.Format, fr.Msg = t, FormatEpoch, trimSpace1(s[n:])
		return fr, true
	}
	return fr, false
}

// eximRest tells Exim's mainlog from a syslog line with an ISO date: an
// Exim line goes on with an optional "[pid]" and a message id, or with
// one of the daemon's own lines.
func eximRest(rest string) bool {
	rest = trimSpace1(rest)
	if len(rest) > 2 && rest[0] == '[' {
		if e := strings.IndexByte(rest, ']'); e > 1 {
			rest = trimSpace1(rest[e+1:])
		}
	}
	tok := rest
	if sp := strings.IndexByte(rest, ' '); sp >= 0 {
		tok = rest[:sp]
	}
	if isEximID(tok) {
		return true
	}
	for _, p := range eximDaemonLines {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

// eximDaemonLines start mainlog lines that carry no message id
// (exim's log.c callers in daemon.c, queue.c, smtp_in.c).
var eximDaemonLines = []string{
	"Start queue run", "End queue run", "exim ", "SMTP connection from", "SMTP command timeout",
	"H=", "no host name found", "TLS error", "SMTP protocol", "SMTP call from", "rejected ", "unexpected disconnection",
	"daemon started", "cwd=", "Connection from",
}

// isEximID recognises Exim message ids: "1pBxyz-0001Ab-C3" (16
// characters, base 62 time-pid-fraction) and, since Exim 4.97, the
// 23-character "1rgkxY-00000000Biz-0ZA1" (a longer pid field).
func isEximID(s string) bool {
	switch len(s) {
	case 16:
		return s[6] == '-' && s[13] == '-' && alnum(s[:6]) && alnum(s[7:13]) && alnum(s[14:])
	case 23:
		return s[6] == '-' && s[18] == '-' && alnum(s[:6]) && alnum(s[7:18]) && alnum(s[19:])
	}
	return false
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

func isServiceName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

func trimSpace1(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

// severities are the words some syslog templates print in a column of
// their own before the tag ("info", "mail.info", "<mail.warning>").
var severities = map[string]bool{
	"emerg": true, "alert": true, "crit": true, "err": true, "error": true, "warning": true,
	"warn": true, "notice": true, "info": true, "debug": true,
}

func isSeverity(s string) bool {
	s = strings.Trim(s, "<>[]")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return severities[strings.ToLower(s)]
}

// origin reads " host [severity] tag[pid]: msg" after a stamp. The host
// is absent in Dovecot's own log file ("lmtp(1234): Info: …").
func (f *Framer) origin(fr Frame, s string) (Frame, bool) {
	s = trimSpace1(s)
	var toks [3]string
	nt := 0
	rest := s
	tag := -1
	for nt < 3 && rest != "" {
		rest = trimSpace1(rest)
		sp := strings.IndexByte(rest, ' ')
		tok := rest
		if sp >= 0 {
			tok = rest[:sp]
		}
		toks[nt] = tok
		nt++
		if sp < 0 {
			rest = ""
		} else {
			rest = rest[sp+1:]
		}
		if strings.HasSuffix(tok, ":") && len(tok) > 1 {
			tag = nt - 1
			break
		}
	}
	if tag < 0 {
		// no tag: keep what follows the stamp as the message
		fr.Msg = s
		return fr, true
	}
	switch tag {
	case 1:
		// "2021-01-26T17:47:29.762763+01:00 INFO    postfix/smtpd[134]:"
		// (a container's syslog): a severity and no host
		if !isSeverity(toks[0]) {
			fr.Host = toks[0]
		}
	case 2:
		if isSeverity(toks[0]) {
			fr.Host = toks[1]
		} else {
			fr.Host = toks[0]
		}
	}
	t := toks[tag][:len(toks[tag])-1]
	if b := strings.IndexByte(t, '['); b > 0 && strings.HasSuffix(t, "]") {
		fr.PID = t[b+1 : len(t)-1]
		t = t[:b]
	}
	fr.Program = t
	fr.Msg = trimSpace1(rest)
	return fr, true
}
