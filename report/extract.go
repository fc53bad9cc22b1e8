package report

import (
	"slices"
	"strings"

	"github.com/mailprobe/mailprobe/probe"
)

// TextKind says whose words a text is: a bare reply, or which MTA's or
// provider's log line or bounce.
type TextKind string

const (
	KindReply        TextKind = "reply"
	KindPostfix      TextKind = "postfix"
	KindQmail        TextKind = "qmail"
	KindExim         TextKind = "exim"
	KindSendmail     TextKind = "sendmail"
	KindCourier      TextKind = "courier"
	KindOpenSMTPD    TextKind = "opensmtpd"
	KindDovecot      TextKind = "dovecot"
	KindMicrosoftNDR TextKind = "microsoft-ndr"
	KindGmailDSN     TextKind = "gmail-dsn"
	KindOther        TextKind = "other"
)

// kindNames is how explanations name each kind of text.
var kindNames = map[TextKind]string{
	KindReply:        "an SMTP reply",
	KindPostfix:      "a Postfix log line",
	KindQmail:        "a qmail log line or bounce",
	KindExim:         "an Exim log line or bounce",
	KindSendmail:     "a sendmail log line or bounce",
	KindCourier:      "a Courier log line or bounce",
	KindOpenSMTPD:    "an OpenSMTPD log line",
	KindDovecot:      "a Dovecot LMTP/LDA log line",
	KindMicrosoftNDR: "a Microsoft (Exchange/Microsoft 365) non-delivery report",
	KindGmailDSN:     "a Gmail delivery status notification",
	KindOther:        "text",
}

// textFacts is what was read from one text: the reply inside it (if
// any), the MTA's own reason, the status words around them.
type textFacts struct {
	kind     TextKind
	program  string // syslog tag without pid: "postfix/smtp", "exim", "sm-mta"
	reply    *probe.Reply
	enhanced string // an enhanced code without a reply code ("5.7.1 Spam…", "(#4.4.1)")
	// text is what the classifier reads: the whole input, normalised
	// (qmail's _ turned back into spaces, lines joined).
	text string
	// reason is the MTA's own words when there is no reply.
	reason string
	dsn    string
	status string     // Postfix's word: sent, deferred, bounced, expired, deliverable, undeliverable
	perm   Permanence // from status words when no code says it ("" when none)
	phase  probe.Phase
	lost   bool // "lost connection": the server hung up
	noData bool // "Host found but no data record": the name exists, no MX/A
	// serverSide: the receiving server's log about one of its clients
	// (smtpd rejects, postscreen, Exim's H=… rejected, sendmail's
	// check_rcpt): the client is the sending side.
	serverSide bool
	// ownAuth: Postfix smtp(8)'s own SASL login to the next hop failed
	// (smtp_sasl_glue.c "SASL [CACHED] authentication failed; server …").
	ownAuth                   bool
	recipient, relay, command string
	line                      *PostfixLine
}

// readText finds out what a text is and pulls the reply and the facts
// out of it. It never fails: text it cannot place is kind other.
func readText(s string) *textFacts {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	s = pythonSMTPError(s)
	f := &textFacts{kind: KindOther}
	s = stripDiagnosticType(s)
	if r := bareReply(s); r != nil {
		f.kind, f.reply, f.text = KindReply, r, r.Text()
		return f
	}
	if !strings.Contains(s, "\n") {
		if pl, err := ParsePostfixLine(s); err == nil {
			f.fromPostfix(pl)
			return f
		}
	}
	body := s
	f.program, body = syslogTag(s)
	f.kind = kindOf(f.program, body)
	switch f.kind {
	case KindQmail:
		body = f.qmail(body)
	case KindExim:
		f.exim(body)
	case KindSendmail:
		f.sendmail(body)
	case KindOpenSMTPD:
		f.opensmtpd(body)
	case KindCourier:
		f.courier(body)
	case KindDovecot:
		f.dovecot(body)
	case KindMicrosoftNDR:
		if q := microsoftReturned(body); q != "" {
			f.reply = embeddedReply(q)
		}
	case KindGmailDSN:
		f.gmail(body)
	case KindPostfix:
		f.postfixOther(body)
	}
	f.text = joinLines(body)
	if f.reply == nil {
		f.reply = embeddedReply(body)
	}
	if f.reply == nil && f.enhanced == "" {
		f.enhanced = embeddedEnhanced(body)
	}
	if f.reason == "" && f.reply == nil {
		f.reason = f.text
	}
	// A Postfix delivery line cut before its queue ID ("status=deferred
	// (TLS is required, but was not offered by host …)", as admins quote
	// it) still says what the MTA did.
	if f.perm == "" && f.line == nil {
		if st, ok := kv(body, "status"); ok {
			if j := strings.IndexAny(st, " ("); j > 0 {
				st = st[:j]
			}
			f.perm = statusPermanence(st)
		}
	}
	f.facts()
	return f
}

// stripDiagnosticType takes off a DSN's "Diagnostic-Code: smtp; " (RFC
// 3464 §2.3.6: diagnostic-type ";" text), so "smtp; 550 5.1.1 …" is read
// as the reply it carries.
func stripDiagnosticType(s string) string {
	t := s
	if len(t) >= 16 && strings.EqualFold(t[:16], "diagnostic-code:") {
		t = strings.TrimSpace(t[16:])
	}
	if i := strings.IndexByte(t, ';'); i > 0 && i <= 10 {
		switch strings.ToLower(t[:i]) {
		case "smtp", "x-postfix", "x-unix", "x-local", "x-qmail", "x-exim":
			return strings.TrimSpace(t[i+1:])
		}
	}
	if t != s {
		return t
	}
	return s
}

// facts derives the typed facts explanations branch on from the words
// of the MTA's own reason (Postfix smtp_connect.c / smtp_trouble.c
// wordings, which other MTAs share closely).
func (f *textFacts) facts() {
	low := strings.ToLower(f.text)
	switch {
	case strings.Contains(low, "connect to ") || strings.Contains(low, "connection refused") || strings.Contains(low, "connection timed out") || strings.Contains(low, "did not accept our requests to connect") ||
		// qmail-remote.c: every address of every MX failed to connect
		strings.Contains(low, "able to establish an smtp connection"):
		if f.phase == "" {
			f.phase = probe.PhaseConnect
		}
	case strings.Contains(low, "cannot start tls") || strings.Contains(low, "ssl_connect error") || strings.Contains(low, "tls handshake"):
		f.phase = probe.PhaseTLS
	case strings.Contains(low, "initial server greeting"):
		f.phase = probe.PhaseGreeting
	}
	f.lost = strings.Contains(low, "lost connection")
	f.serverSide = serverSide(f, low)
	// (Postfix 2.x: "SASL authentication failed: server … offered no
	// compatible authentication mechanisms".)
	f.ownAuth = strings.Contains(low, "sasl authentication failed; server ") || strings.Contains(low, "sasl [cached] authentication failed; server ") ||
		strings.Contains(low, "authentication failed; cannot authenticate to server") || strings.Contains(low, "sasl authentication failed: server ")
	f.noData = strings.Contains(low, "host found but no data record")
}

// serverSide recognises a receiving server's log line about a client.
func serverSide(f *textFacts, low string) bool {
	p := strings.ToLower(f.program)
	switch {
	case f.line != nil && f.line.Kind == LineReject:
		return true
	case strings.HasSuffix(p, "/smtpd") || strings.HasSuffix(p, "/postscreen") || strings.HasSuffix(p, "/cleanup") || strings.Contains(p, "/submission") || strings.Contains(p, "/smtps"):
		return true
	case strings.HasPrefix(p, "courieresmtpd") || strings.HasPrefix(p, "qmail-smtpd") || p == "rblsmtpd":
		return true
	}
	has := func(m ...string) bool {
		for _, x := range m {
			if strings.Contains(low, x) {
				return true
			}
		}
		return false
	}
	switch f.kind {
	case KindPostfix:
		return has("noqueue: reject:", "milter-reject:", " from unknown[", "postscreen", "sasl login authentication failed", "sasl plain authentication failed")
	case KindExim:
		return strings.Contains(low, "h=") && has(" rejected ", "connection from", "smtp call from", "authenticator failed", "sender verify fail", "dropped", "no mail in smtp connection", "smtp protocol") && !has(" ** ", " == ", " => ", " -> ")
	case KindSendmail:
		return has("ruleset=", "auth failure", "rejecting commands from", "lost input channel", "did not issue mail")
	case KindQmail:
		return has("rblsmtpd", "qmail-smtpd")
	case KindCourier:
		return has("courieresmtpd")
	}
	return false
}

func (f *textFacts) fromPostfix(pl *PostfixLine) {
	f.kind, f.line = KindPostfix, pl
	f.program = pl.Program
	f.dsn, f.status, f.recipient, f.relay, f.command = pl.DSN, pl.Status, pl.To, pl.Relay, pl.Command
	if f.relay == "" && pl.Host != "" {
		f.relay = pl.Host
	}
	f.text = pl.Reason
	if pl.Reply != "" {
		f.reply = embeddedReply(pl.Reply)
	} else if pl.Kind != LineReject {
		// Text that parses as a Postfix line without "said:" may still
		// carry the reply: Exim's "host H [A] SMTP error from remote mail
		// server after MAIL FROM:<…> SIZE=2022: 553 5.7.1 …".
		f.reply = embeddedReply(pl.Reason)
	}
	if f.reply == nil {
		f.reason = pl.Reason
		if pl.Kind == LineReject {
			// cleanup's milter-reject: "5.7.1 Spam message rejected".
			f.enhanced = embeddedEnhanced(pl.Reason)
		}
	}
	f.perm = statusPermanence(pl.Status)
	f.facts()
}

// statusPermanence reads a log line's status word.
func statusPermanence(status string) Permanence {
	switch status {
	case "sent", "deliverable", "delivered", "success":
		return PermanenceSuccess
	case "deferred", "deferral", "defer":
		return PermanenceTemporary
	case "bounced", "expired", "failure", "failed", "permfail":
		return PermanencePermanent
	}
	return ""
}

// syslogTag splits "Nov  4 21:09:50 host prog[123]: rest" (or an ISO
// timestamp, or no pid) into the program name and the rest; ("", s)
// when no known tag is found in the first words.
func syslogTag(s string) (prog, rest string) {
	first, _, _ := strings.Cut(s, "\n")
	limit := min(len(first), 160)
	for i := 0; i < limit; i++ {
		if s[i] != ':' || (i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '\t') {
			continue
		}
		// The tag is the word before the colon, possibly with [pid].
		j := i
		tag := s[:j]
		if k := strings.LastIndexByte(tag, ' '); k >= 0 {
			tag = tag[k+1:]
		}
		name := tag
		if b := strings.IndexByte(tag, '['); b > 0 && strings.HasSuffix(tag, "]") {
			name = tag[:b]
		}
		if knownProgram(name) {
			return name, strings.TrimLeft(s[i+1:], " \t")
		}
	}
	return "", s
}

// Program names: families by prefix (postfix/smtp, qmail-send, exim4,
// sm-mta, courieresmtpd, dovecot), the rest exactly ("deliver" is
// Dovecot's LDA, "delivery" is not a program).
var (
	programPrefixes = []string{"postfix", "qmail", "exim", "sendmail", "sm-", "courier", "dovecot"}
	programNames    = []string{"smtpd", "opensmtpd", "lmtp", "lda", "deliver", "rblsmtpd", "postscreen", "submission"}
)

func knownProgram(name string) bool {
	n := strings.ToLower(name)
	if n == "" {
		return false
	}
	for _, p := range programPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	if slices.Contains(programNames, n) {
		return true
	}
	// A Postfix multi-instance tag: "postfix-out/smtp".
	return strings.Contains(n, "/smtp") || strings.Contains(n, "/lmtp")
}

// kindOf decides whose words a text is from its syslog program and
// markers that only one MTA or provider writes.
func kindOf(prog, s string) TextKind {
	p := strings.ToLower(prog)
	switch {
	case strings.HasPrefix(p, "postfix") || strings.Contains(p, "/smtp") || strings.Contains(p, "/lmtp") || p == "postscreen":
		return KindPostfix
	case strings.HasPrefix(p, "qmail") || p == "rblsmtpd":
		return KindQmail
	case strings.HasPrefix(p, "exim"):
		return KindExim
	case strings.HasPrefix(p, "sendmail") || strings.HasPrefix(p, "sm-"):
		return KindSendmail
	case strings.HasPrefix(p, "courier"):
		return KindCourier
	case p == "smtpd" || p == "opensmtpd":
		if strings.Contains(s, "result=") || strings.Contains(s, "evpid=") || strings.Contains(s, "failed-command") || strings.Contains(s, "relay: ") || strings.Contains(s, "delivery: ") || strings.Contains(s, "smtp-out: ") {
			return KindOpenSMTPD
		}
	case strings.HasPrefix(p, "dovecot") || strings.HasPrefix(p, "lmtp") || strings.HasPrefix(p, "lda") || p == "deliver":
		return KindDovecot
	}
	low := strings.ToLower(s)
	has := func(m ...string) bool {
		for _, x := range m {
			if strings.Contains(low, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("remote server returned", "resolver.adr.", "resolver.rst.", "storedrv.", "diagnostic information for administrators", "generating server:") || isMicrosoftHash(s):
		return KindMicrosoftNDR
	case has(": delivery via "):
		return KindPostfix
	case has("technical details of permanent failure", "technical details of temporary failure", "google tried to deliver", "the response from the remote server was", "the error that the other server returned was", "dns type '", "the recipient server did not accept our requests to connect", "delivery to the following recipient failed", "message not delivered"):
		return KindGmailDSN
	case qmailDelivery(s) != "" || has("remote_host_said", "remote host said:", "sorry,_i", "sorry, i couldn't find any host", "_(#", "qmail-send", "rblsmtpd", "does not like recipient", "i'm not going to try again"):
		return KindQmail
	case has("smtp error from remote mail server", "rejected rcpt", "rejected mail", "rejected connection", "retry timeout exceeded", " ** ", " == ", " defer (", "all relevant mx records point to non-existent hosts", "retry time not reached", "unrouteable address") || strings.HasPrefix(s, "** ") || strings.HasPrefix(s, "== ") || eximMainlog(s):
		return KindExim
	case has("ruleset=", "stat=", "reject=", "mailer=", "<<< ", ">>> ", "----- transcript of session follows -----", "... while talking to", "... deferred: ") || strings.HasPrefix(low, "(deferred: "):
		if has("result=\"", "evpid=", "delivery: ok for", "delivery: tempfail for", "delivery: permfail for") {
			return KindOpenSMTPD
		}
		return KindSendmail
	case has("result=\"", "evpid=", "failed-command", "delivery: ok for", "delivery: tempfail for", "delivery: permfail for", "smtp-out: "):
		return KindOpenSMTPD
	case has("courieresmtp", "courierlocal", ",addr=<", "status: deferred", "status: failure"):
		return KindCourier
	case has("lmtp(", "lda(", "msgid=<", "dovecot"):
		return KindDovecot
	}
	return KindOther
}

// isMicrosoftHash recognises Exchange's "#550 5.1.1 RESOLVER… ##" form.
func isMicrosoftHash(s string) bool {
	i := strings.Index(s, "#5")
	if i < 0 {
		i = strings.Index(s, "#4")
	}
	return i >= 0 && strings.Contains(s[i:], " ##")
}

// microsoftReturned is the reply inside "Remote Server returned '…'" or
// "#550 … ##".
func microsoftReturned(s string) string {
	if i := indexFold(s, "remote server returned '"); i >= 0 {
		r := s[i+len("remote server returned '"):]
		if j := strings.LastIndexByte(r, '\''); j > 0 {
			r = r[:j]
		}
		return r
	}
	if i := strings.Index(s, "#5"); i >= 0 || strings.Contains(s, "#4") {
		if i < 0 {
			i = strings.Index(s, "#4")
		}
		r := s[i+1:]
		if j := strings.Index(r, "##"); j > 0 {
			r = r[:j]
		}
		return r
	}
	return ""
}

// qmailDelivery returns the status word of a qmail-send "delivery N:
// success|failure|deferral: …" line, or "".
func qmailDelivery(s string) string {
	i := strings.Index(s, "delivery ")
	if i < 0 {
		return ""
	}
	r := s[i+len("delivery "):]
	j := 0
	for j < len(r) && r[j] >= '0' && r[j] <= '9' {
		j++
	}
	if j == 0 || !strings.HasPrefix(r[j:], ": ") {
		return ""
	}
	r = r[j+2:]
	for _, w := range []string{"success", "failure", "deferral"} {
		if strings.HasPrefix(r, w+":") {
			return w
		}
	}
	return ""
}

// qmail reads qmail-send's words: "delivery 7: deferral:
// Connected_to_192.0.2.1_but_greeting_failed./Remote_host_said:_421_…/"
// (spaces written as _, lines ended by /), qmail-remote's "Remote host
// said:", the bounce's "Sorry, …. (#5.1.2)", rblsmtpd's "451 …".
func (f *textFacts) qmail(s string) string {
	if st := qmailDelivery(s); st != "" {
		i := strings.Index(s, st+":")
		s = strings.TrimSpace(s[i+len(st)+1:])
		f.status = map[string]string{"success": "sent", "failure": "bounced", "deferral": "deferred"}[st]
		f.perm = statusPermanence(st)
	}
	if strings.Contains(s, "_") && !strings.Contains(s, " ") || strings.Count(s, "_") > 3 {
		s = strings.ReplaceAll(s, "_", " ")
	}
	s = qmailLines(s)
	if d := qmailDSN(s); d != "" {
		f.dsn = d
	}
	if i := indexFold(s, "remote host said:"); i >= 0 {
		f.reply = embeddedReply(s[i+len("remote host said:"):])
	}
	return s
}

// qmailLines turns qmail's "/" line ends back into newlines, but not the
// slashes of a URL ("http://…/query").
func qmailLines(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' && (i+1 == len(s) || ('A' <= s[i+1] && s[i+1] <= 'Z')) && (i == 0 || s[i-1] != '/' && s[i-1] != ':') {
			b.WriteByte('\n')
			continue
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}

// qmailDSN reads "(#4.4.1)".
func qmailDSN(s string) string {
	i := strings.Index(s, "(#")
	if i < 0 {
		return ""
	}
	r := s[i+2:]
	j := strings.IndexByte(r, ')')
	if j < 0 {
		return ""
	}
	if probe.ValidEnhanced(r[:j]) {
		return r[:j]
	}
	return ""
}

// exim reads Exim's mainlog flags ("**" bounced, "==" deferred, "=>" and
// "->" delivered) and "SMTP error from remote mail server after RCPT
// TO:<…>: [host H [A]: ]REPLY" (Exim spec, chapter "Log files").
func (f *textFacts) exim(s string) {
	switch {
	case strings.Contains(s, " ** ") || strings.HasPrefix(s, "** "):
		f.status, f.perm = "bounced", PermanencePermanent
	case strings.Contains(s, " == ") || strings.HasPrefix(s, "== "):
		f.status, f.perm = "deferred", PermanenceTemporary
	case strings.Contains(s, " => ") || strings.Contains(s, " -> "):
		f.status, f.perm = "sent", PermanenceSuccess
	}
	if i := indexFold(s, "smtp error from remote mail server after "); i >= 0 {
		r := s[i+len("smtp error from remote mail server after "):]
		cmd, _, _ := strings.Cut(r, ":")
		cmd = strings.TrimSpace(cmd)
		if j := strings.IndexAny(cmd, "<"); j > 0 {
			cmd = strings.TrimSpace(cmd[:j])
			cmd = strings.TrimSuffix(cmd, ":")
		}
		f.command = strings.ToUpper(cmd)
		f.reply = embeddedReply(r)
	}
	if f.perm == "" && strings.Contains(s, " defer (") {
		f.status, f.perm = "deferred", PermanenceTemporary
	}
	f.reason = eximReason(s)
}

// eximMainlog recognises the shape of an Exim main-log line (spec
// chapter "Log files"): "YYYY-MM-DD HH:MM:SS[.mmm] [+zone] [[pid]] " then
// a message ID (6-6-2 or 6-11-4 base-62 characters) and a flag ("<=",
// "=>", "->", "*>", "==", "**") — so deliveries ("=> a@b R=… T=…
// C=\"250 OK\"") are read as Exim's, not only the failures whose words
// the other checks know.
func eximMainlog(s string) bool {
	s = strings.TrimLeft(s, " ")
	if len(s) < 20 || !digits(s[0:4]) || s[4] != '-' || !digits(s[5:7]) || s[7] != '-' || !digits(s[8:10]) ||
		s[10] != ' ' || !digits(s[11:13]) || s[13] != ':' || !digits(s[14:16]) || s[16] != ':' || !digits(s[17:19]) {
		return false
	}
	rest := s[19:]
	if len(rest) > 4 && rest[0] == '.' && digits(rest[1:4]) {
		rest = rest[4:]
	}
	words := strings.Fields(rest)
	i := 0
	if i < len(words) && len(words[i]) == 5 && (words[i][0] == '+' || words[i][0] == '-') && digits(words[i][1:]) {
		i++
	}
	if i < len(words) && strings.HasPrefix(words[i], "[") && strings.HasSuffix(words[i], "]") && digits(words[i][1:len(words[i])-1]) {
		i++
	}
	if i+1 >= len(words) || !isEximID(words[i]) {
		return false
	}
	switch words[i+1] {
	case "<=", "=>", "->", "*>", "==", "**":
		return true
	}
	return false
}

// isEximID: "10HmaX-0005vi-00" (6-6-2) or "1tixMn-00000000C5j-1wRa"
// (6-11-4), base-62 characters.
func isEximID(w string) bool {
	parts := strings.Split(w, "-")
	if len(parts) != 3 || len(parts[0]) != 6 || !(len(parts[1]) == 6 && len(parts[2]) == 2 || len(parts[1]) == 11 && len(parts[2]) == 4) {
		return false
	}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(digit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return false
		}
	}
	return s != ""
}

// eximReason is the message of a delivery line without the date, id,
// flag, address and R=/T= fields: what follows "defer (N): " or " : ".
func eximReason(s string) string {
	if i := strings.Index(s, " defer ("); i >= 0 {
		if j := strings.Index(s[i:], "): "); j >= 0 {
			return strings.TrimSpace(s[i+j+3:])
		}
	}
	for _, flag := range []string{" ** ", " == "} {
		if i := strings.Index(s, flag); i >= 0 {
			if j := strings.Index(s[i:], " : "); j >= 0 {
				return strings.TrimSpace(s[i+j+3:])
			}
			if j := strings.Index(s[i+len(flag):], ": "); j >= 0 {
				return strings.TrimSpace(s[i+len(flag)+j+2:])
			}
		}
	}
	return ""
}

// kv reads "key=value" fields separated by ", " or spaces, with values
// optionally in double quotes (sendmail, OpenSMTPD, Courier).
func kv(s, key string) (string, bool) {
	for off := 0; ; {
		i := strings.Index(s[off:], key+"=")
		if i < 0 {
			return "", false
		}
		i += off
		if i > 0 && s[i-1] != ' ' && s[i-1] != ',' && s[i-1] != '\t' {
			off = i + 1
			continue
		}
		v := s[i+len(key)+1:]
		if strings.HasPrefix(v, "\"") {
			v = v[1:]
			if j := strings.IndexByte(v, '"'); j >= 0 {
				v = v[:j]
			}
			return v, true
		}
		// sendmail's last fields (stat=, reject=) run to the end of the
		// line; others end at ", ".
		if key == "stat" || key == "reject" || key == "reason" {
			return strings.TrimSpace(v), true
		}
		if j := strings.Index(v, ", "); j >= 0 {
			v = v[:j]
		}
		return strings.TrimSpace(v), true
	}
}

// sendmail reads "to=<a@b>, …, dsn=5.1.1, stat=User unknown" and
// "ruleset=check_rcpt, arg1=<a@b>, relay=…, reject=550 5.7.1 …"
// (sendmail's logging in deliver.c / srvrsmtp.c).
func (f *textFacts) sendmail(s string) {
	if v, ok := kv(s, "dsn"); ok && probe.ValidEnhanced(v) {
		f.dsn = v
	}
	if v, ok := kv(s, "to"); ok {
		f.recipient = strings.Trim(v, "<>")
	}
	if v, ok := kv(s, "relay"); ok {
		f.relay = v
	}
	if v, ok := kv(s, "reject"); ok {
		f.reply = embeddedReply(v)
		f.reason = v
	}
	if v, ok := kv(s, "stat"); ok {
		low := strings.ToLower(v)
		switch {
		case strings.HasPrefix(low, "sent"):
			f.status, f.perm = "sent", PermanenceSuccess
		case strings.HasPrefix(low, "deferred"):
			f.status, f.perm = "deferred", PermanenceTemporary
			v = strings.TrimSpace(strings.TrimPrefix(v[len("deferred"):], ":"))
		}
		if f.reply == nil {
			f.reply = embeddedReply(v)
		}
		if f.reason == "" {
			f.reason = v
		}
	}
	// mailq's status line of a queued message, "(Deferred: reason)"
	// (sendmail/queue.c prints the q_status text in parentheses).
	// A transcript's "<addr>... Deferred: reason" is the same q_status text
	// after the address (sendmail/deliver.c markfailure, "Deferred: %s").
	if low := strings.ToLower(strings.TrimSpace(s)); f.status == "" && (strings.HasPrefix(low, "(deferred: ") || strings.Contains(low, "... deferred: ")) {
		f.status, f.perm = "deferred", PermanenceTemporary
	}
	if f.reply == nil {
		if i := strings.Index(s, "<<< "); i >= 0 {
			f.reply = embeddedReply(s[i+4:])
		}
	}
}

// opensmtpd reads smtpd(8)'s "mta delivery … result=\"PermFail\"
// stat=\"550 …\"" and "smtp failed-command command=\"RCPT TO:<…>\"
// result=\"550 …\"".
func (f *textFacts) opensmtpd(s string) {
	res, _ := kv(s, "result")
	stat, _ := kv(s, "stat")
	// The local delivery agent: "delivery: Ok for <evpid>: …".
	low := strings.ToLower(s)
	switch {
	case strings.Contains(low, "delivery: ok for"):
		res = "ok"
	case strings.Contains(low, "delivery: tempfail for"):
		res = "tempfail"
	case strings.Contains(low, "delivery: permfail for"):
		res = "permfail"
	// The remote delivery agent (OpenSMTPD 5.x/6.0 mta.c): "relay:
	// TempFail for <evpid>: … stat=No MX found for domain".
	case strings.Contains(low, "relay: ok for"):
		res = "ok"
	case strings.Contains(low, "relay: tempfail for"):
		res = "tempfail"
	case strings.Contains(low, "relay: permfail for"):
		res = "permfail"
	}
	switch strings.ToLower(res) {
	case "ok":
		f.status, f.perm = "sent", PermanenceSuccess
	case "tempfail":
		f.status, f.perm = "deferred", PermanenceTemporary
	case "permfail":
		f.status, f.perm = "bounced", PermanencePermanent
	default:
		if r := embeddedReply(res); r != nil {
			f.reply = r
		}
	}
	if v, ok := kv(s, "to"); ok {
		f.recipient = strings.Trim(v, "<>")
	}
	if f.reply == nil && stat != "" {
		f.reply = embeddedReply(stat)
		if f.reply == nil {
			f.reason = stat
		}
	}
}

// courier reads courieresmtp's "id=…,from=<…>,addr=<…>: 550 …" and
// "status: deferred|failure|success".
func (f *textFacts) courier(s string) {
	low := strings.ToLower(s)
	switch {
	case strings.Contains(low, "status: deferred"):
		f.status, f.perm = "deferred", PermanenceTemporary
	case strings.Contains(low, "status: failure"):
		f.status, f.perm = "bounced", PermanencePermanent
	case strings.Contains(low, "status: success") || strings.Contains(low, "success: "):
		f.status, f.perm = "sent", PermanenceSuccess
	}
	if i := strings.Index(s, "addr=<"); i >= 0 {
		r := s[i+len("addr=<"):]
		if j := strings.IndexByte(r, '>'); j >= 0 {
			f.recipient = r[:j]
		}
	}
}

// dovecot reads "lmtp(user)<pid><session>: msgid=<…>: save failed to
// INBOX: Quota exceeded (mailbox for user is full)" and the LDA's
// "rejected: …": the reason is what follows the last "msgid=<…>: ".
func (f *textFacts) dovecot(s string) {
	if i := strings.LastIndex(s, "msgid="); i >= 0 {
		r := s[i:]
		if j := strings.Index(r, ">: "); j >= 0 {
			f.reason = r[j+3:]
		}
	}
	// The local delivery is done: "saved mail to INBOX", "stored mail
	// into mailbox 'INBOX'" (lda, lmtp, sieve).
	if low := strings.ToLower(f.reason); strings.HasPrefix(low, "saved mail to") || strings.HasPrefix(low, "stored mail into") {
		f.status, f.perm = "sent", PermanenceSuccess
	}
}

// gmail reads Gmail's bounce paragraphs: "Technical details of permanent
// failure:", "The response from the remote server was:", "The error that
// the other server returned was:".
func (f *textFacts) gmail(s string) {
	low := strings.ToLower(s)
	switch {
	case strings.Contains(low, "permanent failure") || strings.Contains(low, "failed permanently"):
		f.perm = PermanencePermanent
	case strings.Contains(low, "temporary failure") || strings.Contains(low, "delivery incomplete") || strings.Contains(low, "will retry"):
		f.perm = PermanenceTemporary
	}
	for _, m := range []string{"the error that the other server returned was:", "the response from the remote server was:", "the response was:"} {
		if i := indexFold(s, m); i >= 0 {
			if r := embeddedReply(s[i+len(m):]); r != nil {
				f.reply = r
				return
			}
		}
	}
}

// postfixOther handles Postfix lines that are not delivery, reject or
// note lines: smtpd's "warning: …: SASL LOGIN authentication failed",
// smtp's "SSL_connect error to …", postscreen's events.
func (f *textFacts) postfixOther(s string) {
	// A success DSN's "<a@b>: delivery via host[addr]:port: 250 …"
	// (Postfix's bounce service, for NOTIFY=SUCCESS).
	if strings.Contains(s, ": delivery via ") {
		f.status = "sent"
	}
	rest := s
	if i := strings.Index(rest, ": "); i > 0 && i <= 20 && isQueueID(rest[:i]) {
		rest = rest[i+2:]
	}
	f.reason = rest
}

func isQueueID(s string) bool {
	if s == "NOQUEUE" {
		return true
	}
	if len(s) < 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// bareReply parses text that is only a reply: one line or several, each
// starting with the same code ("550-5.7.1 …" continuation lines, with or
// without the final "550 …" line), or Postfix's joined form.
func bareReply(s string) *probe.Reply {
	if !replyStart(s, 0) && !offRangeReplyStart(s) {
		return nil
	}
	code := s[:3]
	lines := strings.Split(s, "\n")
	if len(lines) == 1 {
		// A gateway that repeats the code ("… rejected message - 550 550
		// 65.49.42.68 is not allowed …") would end the unfolded reply at
		// the bare first "550"; one code is enough.
		s = strings.ReplaceAll(s, " "+code+" "+code+" ", " "+code+" ")
		if r, err := probe.ParseReply(s); err == nil {
			return r
		}
	}
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, code) || (len(l) > 3 && l[3] != ' ' && l[3] != '-') {
			return nil
		}
		lines[i] = l
	}
	return makeReply(code, lines)
}

// makeReply builds a reply from lines that all start with code; the
// last line is made the final one ("550 …") when the text stopped
// after continuation lines.
func makeReply(code string, lines []string) *probe.Reply {
	c := atoi3(code)
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		if len(l) > 3 {
			sep := byte('-')
			if i == len(lines)-1 {
				sep = ' '
			}
			l = code + string(sep) + l[4:]
		}
		out = append(out, l)
	}
	r := &probe.Reply{Code: c, Lines: out}
	if len(out) > 0 && len(out[0]) > 4 {
		f, _, _ := strings.Cut(out[0][4:], " ")
		if st, ok := probe.ParseEnhancedCode(f); ok && f[0] == code[0] {
			r.Enhanced, r.Status = f, st
		}
	}
	return r
}

func atoi3(s string) int {
	return int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
}

// replyStart: s[i:] starts with a reply code 2xx, 4xx or 5xx followed by
// a space, a dash or the end.
func replyStart(s string, i int) bool {
	if i+3 > len(s) {
		return false
	}
	// RFC 5321 §4.2 allows 0–5 as the second digit; servers do send
	// 571 (Exchange), so for 4yz and 5yz any digit goes, while a 2yz
	// must keep to the RFC (prose numbers look like 2xx more often).
	if s[i] != '2' && s[i] != '4' && s[i] != '5' || !digit(s[i+1]) || !digit(s[i+2]) || s[i] == '2' && s[i+1] > '5' {
		return false
	}
	// A line break right after the code: Postfix wraps a bounce's text at
	// 80 columns, "said: 550\nyou are not allowed …".
	return i+3 == len(s) || s[i+3] == ' ' || s[i+3] == '-' || s[i+3] == '\n'
}

func digit(c byte) bool { return '0' <= c && c <= '9' }

// embeddedReply finds the first reply inside a text: a 2xx/4xx/5xx code
// at the start or after a separator (space, colon, quote, bracket), best
// one followed by an enhanced code of the same class; it runs to the
// end of the text (lines joined), cut before Postfix's "(in reply to …
// command)". nil when there is none.
func embeddedReply(s string) *probe.Reply {
	best, bestScore := -1, 0
	if len(s) > 4 && s[3] == ':' && s[4] == ' ' && replyStart(s[:3], 0) {
		// "552: Message rejected for spam or virus content".
		s = s[:3] + s[4:]
	}
	for i := 0; i+3 <= len(s); i++ {
		if !replyStart(s, i) {
			continue
		}
		// "," as in Exchange's protocol log fields (",>,535 5.7.3 …"):
		// such a reply counts only with its enhanced code (score 3).
		// "response=" as nodemailer writes a server's closing reply
		// ("Server terminates connection. response=421-4.7.0 …"); other
		// key=value numbers (delay=, size=) stay values.
		if i > 0 && !strings.ContainsRune(" \t\n:'\"(<[#;,", rune(s[i-1])) && !strings.HasSuffix(s[:i], "response=") {
			continue
		}
		if i == 0 {
			// The text starts with the reply: "550 …", "552: Message rejected …".
			// A pasted session that starts with the greeting ("220 … ESMTP
			// …", then commands and replies) goes on to its refusal.
			best, bestScore = 0, 3
			if s[0] == '4' || s[0] == '5' {
				break
			}
			bestScore = 2
			continue
		}
		// A number after a colon inside a key=value field is the field's
		// value, not a reply: Exim's "X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256".
		if s[i-1] == ':' && strings.Contains(s[strings.LastIndexAny(s[:i], " \t\n")+1:i], "=") {
			continue
		}
		score := 1
		// ";" ends a DSN Diagnostic-Code type written without a space
		// ("smtp;550 …", RFC 3464 §2.3.6), as ":" ends a label.
		if s[i-1] == '\n' || s[i-1] == ':' || s[i-1] == ';' || s[i-1] == '\'' || s[i-1] == '"' || (i >= 2 && (s[i-2] == ':' || s[i-2] == ';')) {
			score = 2
		}
		// An indented continuation line of a bounce paragraph (Postfix
		// indents them by four spaces: "refused to talk to me:\n    554-gmx.net
		// …") starts a line as much as an unindented one.
		if score < 2 {
			j := i - 1
			for j > 0 && (s[j] == ' ' || s[j] == '\t') {
				j--
			}
			if j < i-1 && (s[j] == '\n' || s[j] == ':') {
				score = 2
			}
		}
		// "rejected command 'DATA' with code 550 (0.0.0) '…'" (Barracuda's
		// NDR), "returned code 550", "DOT said 550 Mail content denied"
		// (Tencent's rendering of a remote reply).
		if strings.HasSuffix(s[:i], " code ") || strings.HasSuffix(s[:i], " said ") {
			score = 2
		}
		if i+4 < len(s) {
			e, _, _ := strings.Cut(s[i+4:], " ")
			e = strings.TrimRight(e, ",;:")
			if probe.ValidEnhanced(e) && e[0] == s[i] {
				score = 3
			}
		}
		// A bare "250 " after a space is likely a number in prose
		// ("port 250 …"); only accept it with an enhanced code.
		//
		// In a session transcript (MDaemon's "--- Session Transcript ---",
		// hMailServer's, a pasted telnet session) the greeting and the
		// 250s come before the refusal: a 4xx/5xx line outranks a 2xx/3xx
		// one of at least line-start standing, and only a 4xx/5xx with an
		// enhanced code ends the search early.
		failure := s[i] == '4' || s[i] == '5'
		if score >= 2 && failure && best >= 0 && s[best] != '4' && s[best] != '5' {
			best, bestScore = i, score
		} else if score > bestScore {
			best, bestScore = i, score
		}
		if best == i && score == 3 && failure {
			break
		}
	}
	if best < 0 || bestScore < 2 {
		return nil
	}
	r := s[best:]
	if j := strings.Index(r, " (in reply to "); j >= 0 {
		r = r[:j]
	}
	code := r[:3]
	var lines []string
	for _, l := range strings.Split(r, "\n") {
		l = strings.TrimSpace(l)
		// sendmail's transcript: "<<< " marks the server's lines, ">>> "
		// ours — the reply ends where we spoke again.
		if strings.HasPrefix(l, ">>>") {
			break
		}
		l = strings.TrimSpace(strings.TrimPrefix(l, "<<<"))
		if l == "" {
			continue
		}
		if len(lines) > 0 && replyStart(l, 0) && l[:3] != code {
			break
		}
		lines = append(lines, l)
	}
	// Continuation lines of the same code stay lines; anything else is
	// folded into the line before it.
	var out []string
	for _, l := range lines {
		if replyStart(l, 0) && l[:3] == code && len(out) > 0 {
			out = append(out, l)
			continue
		}
		if len(out) == 0 {
			out = append(out, l)
			continue
		}
		out[len(out)-1] += " " + l
	}
	if len(out) == 1 {
		if p, err := probe.ParseReply(out[0]); err == nil {
			return p
		}
	}
	for i, l := range out {
		if !strings.HasPrefix(l, code) {
			out[i] = code + " " + l
		}
	}
	return makeReply(code, out)
}

// embeddedEnhanced finds an RFC 3463 code standing alone ("5.7.1 Spam
// message rejected", "#5.1.1", "(#4.4.1)").
func embeddedEnhanced(s string) string {
	for i := 0; i+5 <= len(s); i++ {
		c := s[i]
		if c != '2' && c != '4' && c != '5' || s[i+1] != '.' {
			continue
		}
		if i > 0 && !strings.ContainsRune(" \t\n:'\"(<[#;=/", rune(s[i-1])) {
			continue
		}
		e := s[i:]
		if j := strings.IndexAny(e, " \t\n,;:)'\"]>"); j >= 0 {
			e = e[:j]
		}
		e = strings.TrimRight(e, ".")
		if probe.ValidEnhanced(e) {
			return e
		}
	}
	return ""
}

// joinLines joins a text's lines with single spaces, as Postfix joins a
// multi-line reply.
func joinLines(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	parts := strings.Split(s, "\n")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// indexFold is strings.Index with ASCII case folding, on the original
// text: an index into strings.ToLower(s) need not be one into s (some
// characters change length when lower-cased). sub is lower-case ASCII.
func indexFold(s, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if lower(s[i]) != sub[0] {
			continue
		}
		j := 1
		for j < n && lower(s[i+j]) == sub[j] {
			j++
		}
		if j == n {
			return i
		}
	}
	return -1
}

// pythonSMTPError rewrites the reply inside a Python smtplib exception as
// applications log it — "(550, b'The mail may contain …')" or
// "(554, 'pune2.logix.in\\nIP blacklisted …')" — as the reply it stands for
// ("550 The mail may contain …"), so the code is read; the text before it
// is kept. Anything else is returned unchanged.
func pythonSMTPError(s string) string {
	for i := strings.IndexByte(s, '('); i >= 0 && i+8 < len(s); {
		c := s[i+1:]
		if len(c) > 6 && (c[0] == '4' || c[0] == '5') && digit(c[1]) && digit(c[2]) && c[3] == ',' && c[4] == ' ' {
			body := c[5:]
			body = strings.TrimPrefix(body, "b")
			if len(body) > 1 && (body[0] == '\'' || body[0] == '"') {
				q := body[0]
				if end := strings.LastIndexByte(body, q); end > 0 && strings.HasPrefix(body[end+1:], ")") {
					text := strings.ReplaceAll(body[1:end], `\n`, " ")
					// The reply starts a line of its own: after the app's
					// words ("邮件发送失败：邮件数据错误 (550, …") a bare space
					// would leave the code looking like a number in prose.
					pre := s[:i]
					if t := strings.TrimRight(pre, " \t"); t != "" && !strings.HasSuffix(t, ":") {
						pre = t + "\n"
					}
					return pre + c[:3] + " " + strings.TrimSpace(text) + body[end+2:]
				}
			}
		}
		j := strings.IndexByte(s[i+1:], '(')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return s
}

// offRangeReplyStart: a text that begins with a 4xx/5xx code whose
// second digit is above 5 ("571 5.7.1 Message refused, DMARC verification
// Failed.", "591 … your host [1.2.3.4] is blacklisted …") followed by an
// enhanced code of the same class or by words. RFC 5321 §4.2 allows only
// 0–5 there, but Exchange and some filters send such codes; at the very
// start of a pasted text nothing else is meant, so its class still says
// whether the failure is permanent. Inside prose replyStart stays strict.
func offRangeReplyStart(s string) bool {
	if len(s) < 5 || (s[0] != '4' && s[0] != '5') || s[1] < '6' || s[1] > '9' || !digit(s[2]) || s[3] != ' ' {
		return false
	}
	return s[4] == s[0] || ('a' <= s[4]|0x20 && s[4]|0x20 <= 'z')
}
