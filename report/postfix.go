package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
)

// FormatDelay formats a duration the way Postfix logs delay= and each
// delays= field: format_tv(…, sig_dig=2, max_dig=var_delay_max_res=2)
// from src/util/format_tv.c as called by src/global/log_adhoc.c. Values
// of a second or more keep two significant digits and are rounded to
// whole seconds from 10 s on (6.1, 12, 154); smaller values have at most
// two decimals (0.45, 0.07), and anything under 5 ms prints as "0".
// Trailing zeros are dropped.
func FormatDelay(d time.Duration) string {
	const million = 1000000
	pow10 := [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}
	const sigDig, maxDig = 2, 2 // log_adhoc.c SIG_DIGS; DEF_DELAY_MAX_RES
	if d < 0 {
		d = 0
	}
	sec := int64(d / time.Second)
	usec := int64((d % time.Second) / time.Microsecond)
	ures := million / pow10[maxDig]
	wid := pow10[sigDig]
	if ures < million {
		if sec > 0 {
			n := int64(1)
			for sec >= n && n <= wid/10 {
				n *= 10
			}
			ures = (million / wid) * n
		} else {
			for usec >= wid*ures {
				ures *= 10
			}
		}
	}
	if ures > 1 {
		usec += ures / 2
		if usec >= million {
			sec++
			usec -= million
		}
	}
	var b strings.Builder
	b.WriteString(strconv.FormatInt(sec, 10))
	if usec >= ures {
		b.WriteByte('.')
		rem := usec
		for n := int64(million / 10); rem >= ures && n > 0; n /= 10 {
			b.WriteByte(byte('0' + rem/n))
			rem %= n
		}
	}
	return b.String()
}

// ParseDelay reads a Postfix delay value ("6.1", "0.07", "0").
func ParseDelay(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, fmt.Errorf("bad delay %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// peer names the other end the way Postfix's SMTP_SESSION does
// (smtp_session.c): namaddr is "host[addr]", namaddrport adds ":port"
// when there is a port. For a unix-domain socket Postfix's lmtp client
// uses $myhostname as host and the socket path as addr, with no port
// (smtp_connect.c smtp_connect_local: SMTP_ITER_INIT(iter, path,
// var_myhostname, path, NO_PORT, …)), hence
// "relay=mail.example.org[private/dovecot-lmtp]". We use the EHLO name,
// which defaults to the machine's FQDN as $myhostname does.
type peer struct {
	host, addr string
	port       int
	unix       bool
}

func peerOf(a *probe.Attempt, cfg probe.ConfigSummary) peer {
	if a == nil {
		return peer{}
	}
	if a.Network == "unix" {
		host := cfg.HELO
		if host == "" {
			host = "localhost"
		}
		return peer{host: host, addr: strings.TrimPrefix(a.Host, "unix:"), unix: true}
	}
	host := strings.Trim(a.Host, "[]")
	if host == "" {
		host = a.Address
	}
	// Postfix logs an address literal next hop ([192.0.2.1]) as
	// "192.0.2.1[192.0.2.1]" (seed: relay=10.0.0.77[10.0.0.77]:24).
	return peer{host: host, addr: a.Address, port: a.Port}
}

func (p peer) namaddr() string { return p.host + "[" + p.addr + "]" }

func (p peer) namaddrport() string {
	if p.port == 0 {
		return p.namaddr()
	}
	return p.namaddr() + ":" + strconv.Itoa(p.port)
}

// phaseWhere is the "while …" text of smtp_stream_except(): the where
// strings of smtp_helo() and xfer_states[] in smtp_proto.c.
func phaseWhere(ph probe.Phase) string {
	switch ph {
	case probe.PhaseGreeting, probe.PhaseConnect, "":
		return "receiving the initial server greeting"
	case probe.PhaseEHLO:
		return "performing the EHLO handshake"
	case probe.PhaseHELO:
		return "performing the HELO handshake"
	case probe.PhaseLHLO:
		return "performing the LHLO handshake"
	case probe.PhaseSTARTTLS:
		return "receiving the STARTTLS response"
	case probe.PhaseMAIL:
		return "sending MAIL FROM"
	case probe.PhaseRCPT:
		return "sending RCPT TO"
	case probe.PhaseRSET:
		return "sending final RSET"
	case probe.PhaseQUIT:
		return "sending QUIT"
	}
	return "performing the " + strings.ToUpper(string(ph)) + " handshake"
}

// inReplyTo is xfer_request[] of smtp_proto.c: "(in reply to %s)".
func inReplyTo(ph probe.Phase) string {
	switch ph {
	case probe.PhaseMAIL:
		return "MAIL FROM command"
	case probe.PhaseRCPT:
		return "RCPT TO command"
	case probe.PhaseRSET:
		return "final RSET command"
	case probe.PhaseQUIT:
		return "QUIT command"
	}
	if c := ph.Command(); c != "" {
		return c + " command"
	}
	return strings.ToUpper(string(ph)) + " command"
}

// replyDSN is the dsn Postfix derives from a reply (smtp_chat.c
// smtp_chat_resp): the server's enhanced code when it is valid and of
// the reply's class, else "X.0.0" for a 2xx/4xx/5xx reply, else "5.5.0"
// ("SAFETY! protocol error").
func replyDSN(r *probe.Reply) string {
	if r == nil {
		return "5.5.0"
	}
	if r.Enhanced != "" && probe.ValidEnhanced(r.Enhanced) && int(r.Enhanced[0]-'0') == r.Class() {
		return r.Enhanced
	}
	switch r.Class() {
	case 2, 4, 5:
		return strconv.Itoa(r.Class()) + ".0.0"
	}
	return "5.5.0"
}

// described is one attempt's result for one recipient, in Postfix's
// terms.
type described struct {
	reason  string
	dsn     string
	session bool // a connection existed: relay= names the server
	reply   *probe.Reply
	command string
	// cat is set for failures that are not a server reply; for replies
	// the classifier decides.
	cat Category
	// kind of failure, for explanations.
	connectTimeout bool
	greeting5xx    bool
	tlsLocal       bool
	tlsHandshake   bool // the TLS handshake failed
	lost           bool // the server closed the connection
}

// describe renders what Postfix would say about one attempt's result
// for one recipient: the phase it was decided in, the reply (if any)
// and the error (if any).
func describe(a *probe.Attempt, cfg probe.ConfigSummary, ph probe.Phase, reply *probe.Reply, err *probe.Error) described {
	p := peerOf(a, cfg)
	if err != nil && !errors.Is(err.Kind, probe.ErrRejected) {
		return describeError(a, p, err)
	}
	if reply == nil && err != nil {
		reply = err.Reply
	}
	if reply == nil {
		return described{reason: "no reply from " + p.namaddr(), dsn: "4.0.0", session: true, cat: CategoryOther}
	}
	if err != nil && err.Phase != "" && ph == "" {
		ph = err.Phase
	}
	d := described{dsn: replyDSN(reply), session: true, reply: reply, command: ph.Command()}
	text := reply.Text()
	switch ph {
	case probe.PhaseRCPT:
		if reply.Class() == 2 {
			// smtp_rcpt_done(): the reply text itself, newlines made
			// spaces (seed: "status=deliverable (250 2.1.5 OK)").
			d.reason = text
			return d
		}
		d.reason = fmt.Sprintf("host %s said: %s (in reply to %s)", p.namaddr(), text, inReplyTo(ph))
	case probe.PhaseGreeting:
		// smtp_helo(): "host %s refused to talk to me: %s". With the
		// default smtp_skip_5xx_greeting=yes Postfix turns a 5xx
		// greeting's dsn into 4.x.x and tries the next MX / retries.
		d.reason = fmt.Sprintf("host %s refused to talk to me: %s", p.namaddr(), text)
		if reply.Class() == 5 {
			d.dsn = "4" + d.dsn[1:]
			d.greeting5xx = true
		}
	case probe.PhaseEHLO, probe.PhaseHELO, probe.PhaseLHLO:
		d.reason = fmt.Sprintf("host %s refused to talk to me: %s", p.namaddr(), text)
	case probe.PhaseSTARTTLS:
		// smtp_proto.c: "TLS is required, but host %s refused to start
		// TLS: %s" (smtp_site_fail with the server's reply).
		d.reason = fmt.Sprintf("TLS is required, but host %s refused to start TLS: %s", p.namaddr(), text)
		d.tlsLocal = true
	default:
		d.reason = fmt.Sprintf("host %s said: %s (in reply to %s)", p.namaddr(), text, inReplyTo(ph))
	}
	// vsmtp_fill_dsn() (smtp_trouble.c): a failure whose status is not
	// 4.x.x or 5.x.x is a protocol error, dsn 5.5.0.
	if d.dsn[0] != '4' && d.dsn[0] != '5' {
		d.reason = "Protocol error: " + d.reason
		d.dsn = "5.5.0"
		d.cat = CategoryProtocolError
	}
	return d
}

func describeError(a *probe.Attempt, p peer, e *probe.Error) described {
	connect := func(msg string) string {
		// smtp_connect.c smtp_connect_sock(): "connect to %s[%s]:%d: %m",
		// without ":%d" for a unix-domain socket.
		if p.unix || p.port == 0 {
			return fmt.Sprintf("connect to %s: %s", p.namaddr(), msg)
		}
		return fmt.Sprintf("connect to %s:%d: %s", p.namaddr(), p.port, msg)
	}
	timeout := errors.Is(e.Kind, probe.ErrTimeout) || errors.Is(e.Kind, probe.ErrDeadline)
	switch {
	case e.Phase == probe.PhaseConnect && errors.Is(e.Kind, probe.ErrRefused):
		return described{reason: connect("Connection refused"), dsn: "4.4.1", cat: CategoryConnectionRefused}
	case e.Phase == probe.PhaseConnect && timeout:
		return described{reason: connect("Connection timed out"), dsn: "4.4.1", cat: CategoryConnectionTimeout, connectTimeout: true}
	case e.Phase == probe.PhaseConnect || errors.Is(e.Kind, probe.ErrUnreachable):
		return described{reason: connect(strerror(e)), dsn: "4.4.1", cat: CategoryConnectionRefused,
			connectTimeout: errors.Is(e.Kind, probe.ErrUnreachable)}
	case errors.Is(e.Kind, probe.ErrTLSRequired):
		// smtp_proto.c: "TLS is required, but was not offered by host %s",
		// dsn 4.7.4.
		return described{reason: fmt.Sprintf("TLS is required, but was not offered by host %s", p.namaddr()),
			dsn: "4.7.4", session: true, cat: CategoryTLSRequired, tlsLocal: true}
	case errors.Is(e.Kind, probe.ErrTLS) && a != nil && a.TLS != nil && a.TLS.Subject != "" && !a.TLS.Verified:
		// smtp_proto.c smtp_start_tls(): the handshake worked but the
		// level's check failed: an untrusted chain at verify and above is
		// "Server certificate not trusted", a name that does not match
		// "Server certificate not verified", both 4.7.5.
		reason := "Server certificate not trusted"
		if a.TLS.VerifyKind == probe.VerifyHostname {
			reason = "Server certificate not verified"
		}
		return described{reason: reason, dsn: "4.7.5", session: true, cat: CategoryTLSRequired, tlsLocal: true}
	case errors.Is(e.Kind, probe.ErrTLS), e.Phase == probe.PhaseTLS && (timeout || errors.Is(e.Kind, probe.ErrLost)):
		// smtp_proto.c: "Cannot start TLS: handshake failure", 4.7.5.
		return described{reason: "Cannot start TLS: handshake failure", dsn: "4.7.5", session: true, cat: CategoryProtocolError, tlsHandshake: true}
	case timeout:
		// smtp_trouble.c smtp_stream_except(SMTP_ERR_TIME), 4.4.2; the
		// request deadline (smtp_per_request_deadline) ends the same way.
		return described{reason: fmt.Sprintf("conversation with %s timed out while %s", p.namaddr(), phaseWhere(e.Phase)),
			dsn: "4.4.2", session: true, cat: CategoryConnectionTimeout}
	case errors.Is(e.Kind, probe.ErrLost):
		// smtp_stream_except(SMTP_ERR_EOF), 4.4.2.
		return described{reason: fmt.Sprintf("lost connection with %s while %s", p.namaddr(), phaseWhere(e.Phase)),
			dsn: "4.4.2", session: true, cat: CategoryServerError, lost: true}
	case errors.Is(e.Kind, probe.ErrNoSMTPUTF8):
		// smtp_proto.c smtp_helo(), dsn 5.6.7.
		return described{reason: fmt.Sprintf("message requires SMTPUTF8, but no server was found that supports SMTPUTF8. The last attempted server was %s", p.namaddr()),
			dsn: "5.6.7", session: true, cat: CategoryProtocolError}
	case errors.Is(e, probe.ErrDataBeforeTLS):
		// Postfix would hand those bytes to the handshake, which then
		// fails: "Cannot start TLS: handshake failure", 4.7.5. mailprobe
		// never feeds them to it, and says what came.
		return described{reason: fmt.Sprintf("Cannot start TLS: host %s sent data after its 220 reply to STARTTLS, before the TLS handshake", p.namaddr()),
			dsn: "4.7.5", session: true, cat: CategoryProtocolError}
	case errors.Is(e, probe.ErrDesync):
		// Postfix has no such check: it pairs the n-th reply with the
		// n-th command and would log a shifted reply as the recipient's
		// (smtp_proto.c). mailprobe believes no reply after a shift, so
		// no verdict is built from one: a temporary protocol error (4.5.0,
		// deferred — whether the recipient exists is unknown), with the
		// signal that showed it. The displaced reply is not classified.
		return described{reason: fmt.Sprintf("Protocol error: host %s while %s: %s", p.namaddr(), phaseWhere(e.Phase), e.Detail),
			dsn: "4.5.0", session: true, cat: CategoryProtocolError}
	case errors.Is(e.Kind, probe.ErrProtocol):
		// smtp_chat.c: a reply Postfix cannot parse gets dsn 5.5.0; with
		// PIPELINING it warns "non-SMTP response from %s: %s".
		what := e.Detail
		if e.Reply != nil {
			what = e.Reply.Text()
		}
		if what == "" {
			what = e.Kind.Error()
		}
		return described{reason: fmt.Sprintf("Protocol error: non-SMTP response from %s while %s: %s", p.namaddr(), phaseWhere(e.Phase), what),
			dsn: "5.5.0", session: true, cat: CategoryProtocolError, reply: e.Reply}
	}
	msg := e.Kind.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return described{reason: fmt.Sprintf("%s with %s while %s", msg, p.namaddr(), phaseWhere(e.Phase)),
		dsn: "4.0.0", session: e.Phase != probe.PhaseConnect, cat: CategoryOther}
}

// strerror gives the text Postfix's %m would print for a connect error:
// glibc's strerror(), which Go's errno strings match but for the case of
// the first letter.
func strerror(e *probe.Error) string {
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	if d := e.Detail; d != "" && d[0] >= 'A' && d[0] <= 'Z' && !strings.Contains(d, ":") {
		return d
	}
	if errors.Is(e.Kind, probe.ErrRefused) {
		return "Connection refused"
	}
	return "No route to host"
}

// dnsReason renders a resolution failure as Postfix's dns_lookup.c and
// smtp_addr.c do:
//
//	"Host or domain name not found. Name service error for name=%s type=%s: %s"
//
// with dns_strerror() texts "Host not found" (NXDOMAIN),
// "Host not found, try again" (SERVFAIL, timeout), "Non-recoverable error"
// (FORMERR, NOTIMP, REFUSED), "Host found but no data record of requested
// type" (NODATA); "Name service error for name=%s type=%s: Malformed or
// unexpected name server reply"; and "Domain %s does not accept mail
// (nullMX)". Status codes from smtp_addr.c: 5.1.0 null MX, 5.4.4 not
// found, 4.4.3 try again, 5.4.3 non-recoverable.
func dnsReason(e *mx.Error, domain string, fam mx.Family) (reason, dsn string, cat Category) {
	name, typ := e.Name, e.Type
	if name == "" {
		name = domain
	}
	if typ == "" {
		typ = "MX"
	}
	notFound := func(h string) string {
		return fmt.Sprintf("Host or domain name not found. Name service error for name=%s type=%s: %s", name, typ, h)
	}
	// A name with no MX falls through to smtp_host_addr(), which asks
	// for address records and names the last type it asked: A with
	// inet_protocols=ipv4, AAAA with "all" (seen in Postfix 3.7's log).
	addrType := func() {
		if typ == "MX" {
			typ = "AAAA"
			if fam == mx.FamilyIPv4 {
				typ = "A"
			}
		}
	}
	switch {
	case errors.Is(e, mx.ErrNullMX):
		return fmt.Sprintf("Domain %s does not accept mail (nullMX)", name), "5.1.0", CategoryNullMX
	case errors.Is(e, mx.ErrMalformed), errors.Is(e, mx.ErrCNAMELoop):
		return fmt.Sprintf("Name service error for name=%s type=%s: Malformed or unexpected name server reply", name, typ), "4.4.3", CategoryDNSFailure
	case errors.Is(e, mx.ErrNXDomain):
		addrType()
		return notFound("Host not found"), "5.4.4", CategoryDNSFailure
	case errors.Is(e, mx.ErrBadHostAddress):
		// Postfix dials such an address and, reaching itself, bounces
		// with "mail for … loops back to myself" (5.4.6); a probe never
		// dials it, and says why.
		addrType()
		return fmt.Sprintf("Name service error for name=%s type=%s: %v", name, typ, e.Err), "5.4.4", CategoryDNSFailure
	case errors.Is(e, mx.ErrNoData), errors.Is(e, mx.ErrNoHostAddress), errors.Is(e, mx.ErrMXIsIP):
		addrType()
		return notFound("Host found but no data record of requested type"), "5.4.4", CategoryDNSFailure
	case errors.Is(e, mx.ErrRefused):
		// glibc's stub resolver takes REFUSED as a failed server and
		// answers TRY_AGAIN, so Postfix logs exactly what it logs for
		// SERVFAIL (seen with Postfix 3.7 behind a refusing dnsmasq).
		return notFound("Host not found, try again"), "4.4.3", CategoryDNSFailure
	case errors.Is(e, mx.ErrBadRcode):
		if e.Temporary {
			return notFound("Non-recoverable error"), "4.4.3", CategoryDNSFailure
		}
		return notFound("Non-recoverable error"), "5.4.3", CategoryDNSFailure
	case e.Temporary:
		return notFound("Host not found, try again"), "4.4.3", CategoryDNSFailure
	}
	return notFound("Host not found"), "5.4.4", CategoryDNSFailure
}
