package lab

import "github.com/mailprobe/mailprobe/internal/fakemta"

// Scenario is one case the lab reproduces: where mail goes (Target), how
// the prober reaches it, and what a correct report says about it.
type Scenario struct {
	Name  string // short identifier, e.g. "unknown-user"
	Title string // one line for humans
	// Target is a recipient address, or a bare domain for the DNS cases
	// where no RCPT is ever sent.
	Target string
	// Protocol is "smtp" or "lmtp".
	Protocol string
	// Server is "" when the prober must resolve the MX records through
	// the lab's DNS (DNSAddr) and use port Port for every MX host;
	// otherwise the server to talk to directly: "127.0.0.x:P", or
	// "unix:/path" for the LMTP socket. Scenarios() fills in the real
	// port and path.
	Server string
	// DNS lists the records the scenario relies on, in zone-file syntax,
	// exactly as the lab's DNS serves them.
	DNS []string
	// CatchAllCheck asks the prober to also try a random local part
	// (mailprobe probe --catch-all-check).
	CatchAllCheck bool
	Want          Want
}

// Want is the verdict a prober should reach, in Postfix's terms.
type Want struct {
	Status   string // deliverable | undeliverable | deferred
	DSN      string // RFC 3463 status, e.g. "5.1.1"
	Category string // from the report vocabulary, e.g. "user-unknown"
	// Reason is the text Postfix puts in parentheses after status=. It
	// may contain {port} (and {dir}); (*Lab).Expand fills them in.
	Reason string
}

// Statuses.
const (
	StatusDeliverable   = "deliverable"
	StatusUndeliverable = "undeliverable"
	StatusDeferred      = "deferred"
)

// serverKind says what listens on a lab address.
type serverKind int

const (
	kindSMTP   serverKind = iota // go-smtp
	kindLMTP                     // go-smtp in LMTP mode, also on the unix socket
	kindScript                   // the script engine (greeting-time behaviour go-smtp cannot produce)
	kindDead                     // nothing: connecting gets RST, "Connection refused"
)

// serverSpec is one lab server: a host name, a loopback address and a
// behaviour. All share the lab's port.
type serverSpec struct {
	name       string // host name, also the greeting name
	ip         string
	kind       serverKind
	rcpt       rcptPolicy
	requireTLS bool // MAIL gets 530 5.7.0
	starttls   fakemta.STARTTLSPolicy
	script     string // for kindScript; "{silent}" is replaced at Start
}

// Mailbox users. Names from the seeds where there are some (django and
// paeddrigg are the nausch.org Dovecot/LMTP example).
var (
	acceptUsers = userSet("alice@accept.lab.test", "bob@accept.lab.test", "postmaster@accept.lab.test",
		"alice@backup.lab.test", "postmaster@backup.lab.test",
		"alice@implicit.lab.test", "postmaster@implicit.lab.test",
		"alice@alias.lab.test", "alice@big.lab.test", "alice@mxcname.lab.test", "alice@mxip.lab.test")
	dovecotUsers = userSet("alice@unknown.lab.test", "postmaster@unknown.lab.test")
	greyUsers    = userSet("alice@greylist.lab.test", "postmaster@greylist.lab.test")
	quotaUsers   = userSet("alice@quota.lab.test", "postmaster@quota.lab.test")
	verifyUsers  = userSet("django@verify.lab.test", "postmaster@verify.lab.test")
	tlsUsers     = userSet("alice@tls.lab.test", "postmaster@tls.lab.test")
	lmtpUsers    = userSet("django@lmtp.lab.test", "postmaster@lmtp.lab.test")
)

// labServers is every address the lab binds (or deliberately leaves
// unbound). Addresses start at 127.0.0.10: all of 127.0.0.0/8 reaches the
// loopback interface on Linux, and .1 stays free for the DNS server.
var labServers = []serverSpec{
	{name: "mx1.accept.lab.test", ip: "127.0.0.10", kind: kindSMTP, rcpt: postfixMailbox(acceptUsers)},
	{name: "mx1.backup.lab.test", ip: "127.0.0.11", kind: kindDead},
	{name: "mx1.unknown.lab.test", ip: "127.0.0.12", kind: kindSMTP, rcpt: dovecotMailbox(dovecotUsers)},
	{name: "mx2.backup.lab.test", ip: "127.0.0.13", kind: kindSMTP, rcpt: postfixMailbox(acceptUsers)},
	{name: "mx1.greylist.lab.test", ip: "127.0.0.14", kind: kindSMTP, rcpt: greylisting(postfixMailbox(greyUsers))},
	// Seed (OVH qmail docs): "421 newd1.sm66.com out of connection
	// slots", then the connection closes. A 421 ends the session (RFC
	// 5321 §3.8), so the script closes without waiting for QUIT.
	{name: "mx1.busy.lab.test", ip: "127.0.0.15", kind: kindScript, script: "send 421 mx1.busy.lab.test out of connection slots\nclose\n"},
	// Seed (cm4all maillog example 2), word for word but for the client
	// address: 1&1's greeting-time block. After a 554 greeting the server
	// only waits for QUIT (RFC 5321 §3.1); other commands get 503.
	{name: "mx01.blocked.lab.test", ip: "127.0.0.16", kind: kindScript, script: "" +
		"send 554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available\n" +
		"send 554-No SMTP service\n" +
		"send 554-IP address is black listed.\n" +
		"send 554 For explanation visit https://help.1and1.com/smtp-error-messages?ip={client}&c=bl\n" +
		"expect QUIT\n" +
		"send 221 kundenserver.de (mxeue112) Nemesis ESMTP Service closing transmission channel\n" +
		"close\n"},
	{name: "mx1.quota.lab.test", ip: "127.0.0.17", kind: kindSMTP, rcpt: quota("full@quota.lab.test", "over@quota.lab.test", postfixMailbox(quotaUsers))},
	{name: "mx1.relay.lab.test", ip: "127.0.0.18", kind: kindSMTP, rcpt: relayDenied},
	{name: "mx1.verify.lab.test", ip: "127.0.0.19", kind: kindSMTP, rcpt: unverified(verifyUsers)},
	{name: "mx1.dead.lab.test", ip: "127.0.0.20", kind: kindDead},
	{name: "mx2.dead.lab.test", ip: "127.0.0.21", kind: kindDead},
	// Accepts the TCP connection and never greets; "{silent}" becomes
	// "hang", or a sleep and close when Options.SilentGreetingTimeout is
	// set.
	{name: "mx1.silent.lab.test", ip: "127.0.0.22", kind: kindScript, script: "{silent}"},
	{name: "implicit.lab.test", ip: "127.0.0.23", kind: kindSMTP, rcpt: postfixMailbox(acceptUsers)},
	{name: "mx1.tls.lab.test", ip: "127.0.0.24", kind: kindSMTP, rcpt: postfixMailbox(tlsUsers), starttls: fakemta.STARTTLSOffer},
	// Postfix with smtpd_tls_security_level=encrypt whose certificate did
	// not load: it still announces STARTTLS, answers it "454 4.7.0 TLS not
	// available due to local problem", and refuses MAIL. A client on
	// opportunistic TLS carries on in plaintext (smtp_proto.c: "Else try
	// to continue in plain-text mode") and meets the 530 at MAIL, so the
	// outcome is the same with --starttls auto and never.
	{name: "mx1.tlsreq.lab.test", ip: "127.0.0.25", kind: kindSMTP, rcpt: catchAll, requireTLS: true, starttls: fakemta.STARTTLSRefuse},
	{name: "mx1.catchall.lab.test", ip: "127.0.0.26", kind: kindSMTP, rcpt: catchAll},
	{name: "lmtp.lab.test", ip: "127.0.0.27", kind: kindLMTP, rcpt: dovecotMailbox(lmtpUsers)},
	{name: "mx1.qmail.lab.test", ip: "127.0.0.28", kind: kindSMTP, rcpt: qmailRelayDenied},
}

// Zone records shared by several scenarios.
var (
	rrAccept = []string{
		"accept.lab.test. 300 IN MX 10 mx1.accept.lab.test.",
		"mx1.accept.lab.test. 300 IN A 127.0.0.10",
	}
)

func withRR(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// bigMX is a domain with so many MX records that the answer exceeds 512
// bytes: a UDP client without EDNS0 gets TC=1 and must retry over TCP.
func bigMX() []string {
	var rr []string
	for i := 1; i <= 32; i++ {
		host := "mx" + twoDigits(i) + ".big.lab.test."
		rr = append(rr, "big.lab.test. 300 IN MX "+itoa(i)+" "+host, host+" 300 IN A 127.0.0.10")
	}
	return rr
}

func twoDigits(i int) string {
	if i < 10 {
		return "0" + itoa(i)
	}
	return itoa(i)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

// Where each Reason wording comes from (Postfix 3.x, vdukhovni/postfix):
//
//   - "host H[A] said: R (in reply to C command)": smtp_proto.c, smtp_rcpt_fail/
//     smtp_mesg_fail callers; dsn is the reply's RFC 3463 code, or X.0.0
//     from the reply code's first digit when the reply has none.
//   - "host H[A] refused to talk to me: R": smtp_proto.c smtp_helo(), for a
//     non-2xx greeting (and a 421 to EHLO). With the default
//     smtp_skip_5xx_greeting=yes a 5xx greeting's dsn class becomes 4
//     ("STR(resp->dsn_buf)[0] = '4'") and the mail is deferred, not bounced.
//   - "connect to H[A]:P: Connection refused": smtp_connect.c
//     smtp_connect_sock(), dsn 4.4.1 ("%m" is strerror(ECONNREFUSED)).
//     When every MX fails the last error is logged.
//   - "conversation with H[A] timed out while receiving the initial server
//     greeting": smtp_trouble.c smtp_stream_except() SMTP_ERR_TIME, dsn
//     4.4.2; the "while" text from smtp_proto.c smtp_helo().
//   - "Host or domain name not found. Name service error for name=N type=T:
//     E": dns/dns_lookup.c dns_query(); E is dns_strerror(h_errno): SERVFAIL
//     is TRY_AGAIN "Host not found, try again" (DNS_RETRY, smtp_addr.c
//     smtp_domain_addr() dsn 4.4.3); NXDOMAIN is HOST_NOT_FOUND "Host not
//     found" (DNS_NOTFOUND).
//     An NXDOMAIN answer to the MX query is DNS_NOTFOUND, on which
//     smtp_domain_addr() falls back to smtp_host_addr(), the address
//     lookup (RFC 5321 §5.1 implicit MX); that lookup's NXDOMAIN is what
//     gets logged, with dsn 5.4.4 from smtp_addr_one(). It names the last
//     address type queried: with inet_protocols=all (util/inet_proto.c:
//     dns_atype_list {T_A, T_AAAA}) dns_lookup_rv() reports AAAA, hence
//     type=AAAA — the probe, too, asks for A then AAAA unless -4/-6 (an
//     IPv4-only Postfix would say type=A). An MX host without an address
//     gives the same text for the host's name: smtp_addr_list() keeps the
//     last error.
//   - "Domain D does not accept mail (nullMX)": dns_lookup.c
//     dns_lookup_x() on DNS_NULLMX (RFC 7505), dsn 5.1.0 from
//     smtp_domain_addr().
//
// A deliverable recipient's reason is the RCPT reply itself, as in the
// seed's "status=deliverable (250 2.1.5 OK)".
var scenarioTemplates = []Scenario{
	{
		Name: "accept", Title: "Known user: the MX accepts the recipient",
		Target: "alice@accept.lab.test", Protocol: "smtp", DNS: rrAccept,
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
	{
		Name: "unknown-user", Title: "Unknown user, Dovecot's wording",
		Target: "nobody@unknown.lab.test", Protocol: "smtp",
		DNS: []string{"unknown.lab.test. 300 IN MX 10 mx1.unknown.lab.test.", "mx1.unknown.lab.test. 300 IN A 127.0.0.12"},
		Want: Want{StatusUndeliverable, "5.1.1", "user-unknown",
			"host mx1.unknown.lab.test[127.0.0.12] said: 550 5.1.1 <nobody@unknown.lab.test> User doesn't exist: nobody@unknown.lab.test (in reply to RCPT TO command)"},
	},
	{
		Name: "unknown-user-postfix", Title: "Unknown user, Postfix virtual mailbox wording",
		Target: "nobody@accept.lab.test", Protocol: "smtp", DNS: rrAccept,
		Want: Want{StatusUndeliverable, "5.1.1", "user-unknown",
			"host mx1.accept.lab.test[127.0.0.10] said: 550 5.1.1 <nobody@accept.lab.test>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)"},
	},
	{
		Name: "greylisted", Title: "Greylisting (postgrey): first attempt of a triplet deferred, later ones accepted",
		Target: "alice@greylist.lab.test", Protocol: "smtp",
		DNS: []string{"greylist.lab.test. 300 IN MX 10 mx1.greylist.lab.test.", "mx1.greylist.lab.test. 300 IN A 127.0.0.14"},
		Want: Want{StatusDeferred, "4.7.1", "greylisted",
			"host mx1.greylist.lab.test[127.0.0.14] said: 450 4.7.1 <alice@greylist.lab.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/greylist.lab.test.html (in reply to RCPT TO command)"},
	},
	{
		Name: "connection-slots", Title: "421 out of connection slots at the greeting (qmail, seed sm66.com)",
		Target: "alice@busy.lab.test", Protocol: "smtp",
		DNS: []string{"busy.lab.test. 300 IN MX 10 mx1.busy.lab.test.", "mx1.busy.lab.test. 300 IN A 127.0.0.15"},
		Want: Want{StatusDeferred, "4.0.0", "connection-limit",
			"host mx1.busy.lab.test[127.0.0.15] refused to talk to me: 421 mx1.busy.lab.test out of connection slots"},
	},
	{
		// The URL carries the client address the server saw; a prober on
		// Linux connecting to 127.0.0.16 without --source comes from
		// 127.0.0.1 (the loopback route's preferred source).
		Name: "blacklisted", Title: "554 multi-line greeting: IP address is black listed (1&1, seed)",
		Target: "alice@blocked.lab.test", Protocol: "smtp",
		DNS: []string{"blocked.lab.test. 300 IN MX 10 mx01.blocked.lab.test.", "mx01.blocked.lab.test. 300 IN A 127.0.0.16"},
		Want: Want{StatusDeferred, "4.0.0", "blocklisted",
			"host mx01.blocked.lab.test[127.0.0.16] refused to talk to me: 554-kundenserver.de (mxeue112) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is black listed. 554 For explanation visit https://help.1and1.com/smtp-error-messages?ip=127.0.0.1&c=bl"},
	},
	{
		Name: "mailbox-full", Title: "Mailbox full, temporary (452 4.2.2)",
		Target: "full@quota.lab.test", Protocol: "smtp",
		DNS: []string{"quota.lab.test. 300 IN MX 10 mx1.quota.lab.test.", "mx1.quota.lab.test. 300 IN A 127.0.0.17"},
		Want: Want{StatusDeferred, "4.2.2", "mailbox-full",
			"host mx1.quota.lab.test[127.0.0.17] said: 452 4.2.2 <full@quota.lab.test>: Mailbox full (in reply to RCPT TO command)"},
	},
	{
		Name: "mailbox-over-quota", Title: "Mailbox full per Dovecot's quota-status service behind Postfix (552 5.2.2)",
		Target: "over@quota.lab.test", Protocol: "smtp",
		DNS: []string{"quota.lab.test. 300 IN MX 10 mx1.quota.lab.test.", "mx1.quota.lab.test. 300 IN A 127.0.0.17"},
		Want: Want{StatusUndeliverable, "5.2.2", "mailbox-full",
			"host mx1.quota.lab.test[127.0.0.17] said: 552 5.2.2 <over@quota.lab.test>: Recipient address rejected: Mailbox is full (in reply to RCPT TO command)"},
	},
	{
		Name: "relay-denied", Title: "The MX does not take mail for the domain (Postfix: Relay access denied)",
		Target: "alice@relay.lab.test", Protocol: "smtp",
		DNS: []string{"relay.lab.test. 300 IN MX 10 mx1.relay.lab.test.", "mx1.relay.lab.test. 300 IN A 127.0.0.18"},
		Want: Want{StatusUndeliverable, "5.7.1", "relay-denied",
			"host mx1.relay.lab.test[127.0.0.18] said: 554 5.7.1 <alice@relay.lab.test>: Relay access denied (in reply to RCPT TO command)"},
	},
	{
		// Postfix does not read qmail's "(#5.7.1)": no RFC 3463 code
		// after the reply code, so dsn is 5.0.0.
		Name: "relay-denied-qmail", Title: "qmail rcpthosts refusal (553 … (#5.7.1), seed OVH)",
		Target: "alice@qmail.lab.test", Protocol: "smtp",
		DNS: []string{"qmail.lab.test. 300 IN MX 10 mx1.qmail.lab.test.", "mx1.qmail.lab.test. 300 IN A 127.0.0.28"},
		Want: Want{StatusUndeliverable, "5.0.0", "relay-denied",
			"host mx1.qmail.lab.test[127.0.0.28] said: 553 sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1) (in reply to RCPT TO command)"},
	},
	{
		Name: "unverified", Title: "Postfix reject_unverified_recipient: the backend could not confirm the user (seed nausch.org)",
		Target: "paeddrigg@verify.lab.test", Protocol: "smtp",
		DNS: []string{"verify.lab.test. 300 IN MX 10 mx1.verify.lab.test.", "mx1.verify.lab.test. 300 IN A 127.0.0.19"},
		Want: Want{StatusDeferred, "4.1.1", "user-unknown",
			"host mx1.verify.lab.test[127.0.0.19] said: 450 4.1.1 <paeddrigg@verify.lab.test>: Recipient address rejected: unverified address: Recipient address lookup failed (in reply to RCPT TO command)"},
	},
	{
		Name: "backup-mx", Title: "Lowest-preference MX refuses connections, the backup MX accepts",
		Target: "alice@backup.lab.test", Protocol: "smtp",
		DNS: []string{
			"backup.lab.test. 300 IN MX 10 mx1.backup.lab.test.", "backup.lab.test. 300 IN MX 20 mx2.backup.lab.test.",
			"mx1.backup.lab.test. 300 IN A 127.0.0.11", "mx2.backup.lab.test. 300 IN A 127.0.0.13",
		},
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
	{
		Name: "all-mx-dead", Title: "Every MX refuses the connection",
		Target: "alice@dead.lab.test", Protocol: "smtp",
		DNS: []string{
			"dead.lab.test. 300 IN MX 10 mx1.dead.lab.test.", "dead.lab.test. 300 IN MX 20 mx2.dead.lab.test.",
			"mx1.dead.lab.test. 300 IN A 127.0.0.20", "mx2.dead.lab.test. 300 IN A 127.0.0.21",
		},
		Want: Want{StatusDeferred, "4.4.1", "connection-refused",
			"connect to mx2.dead.lab.test[127.0.0.21]:{port}: Connection refused"},
	},
	{
		Name: "silent", Title: "The MX accepts the TCP connection and never greets",
		Target: "alice@silent.lab.test", Protocol: "smtp",
		DNS: []string{"silent.lab.test. 300 IN MX 10 mx1.silent.lab.test.", "mx1.silent.lab.test. 300 IN A 127.0.0.22"},
		Want: Want{StatusDeferred, "4.4.2", "connection-timeout",
			"conversation with mx1.silent.lab.test[127.0.0.22] timed out while receiving the initial server greeting"},
	},
	{
		Name: "null-mx", Title: "Null MX (RFC 7505): the domain accepts no mail",
		Target: "nullmx.lab.test", Protocol: "smtp",
		DNS:  []string{"nullmx.lab.test. 300 IN MX 0 ."},
		Want: Want{StatusUndeliverable, "5.1.0", "null-mx", "Domain nullmx.lab.test does not accept mail (nullMX)"},
	},
	{
		Name: "nxdomain", Title: "The domain does not exist (NXDOMAIN)",
		Target: "nxdomain.lab.test", Protocol: "smtp",
		Want: Want{StatusUndeliverable, "5.4.4", "dns-failure",
			"Host or domain name not found. Name service error for name=nxdomain.lab.test type=AAAA: Host not found"},
	},
	{
		Name: "servfail", Title: "The domain's name servers fail (SERVFAIL)",
		Target: "servfail.lab.test", Protocol: "smtp",
		Want: Want{StatusDeferred, "4.4.3", "dns-failure",
			"Host or domain name not found. Name service error for name=servfail.lab.test type=MX: Host not found, try again"},
	},
	{
		Name: "implicit-mx", Title: "No MX records: the domain's own A record is the implicit MX (RFC 5321 §5.1)",
		Target: "alice@implicit.lab.test", Protocol: "smtp",
		DNS:  []string{"implicit.lab.test. 300 IN A 127.0.0.23"},
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
	{
		Name: "mx-no-address", Title: "The only MX host has no address (its name does not exist)",
		Target: "alice@noaddr.lab.test", Protocol: "smtp",
		DNS: []string{"noaddr.lab.test. 300 IN MX 10 mx1.noaddr.lab.test."},
		Want: Want{StatusUndeliverable, "5.4.4", "dns-failure",
			"Host or domain name not found. Name service error for name=mx1.noaddr.lab.test type=AAAA: Host not found"},
	},
	{
		Name: "starttls-self-signed", Title: "STARTTLS with a self-signed certificate for the MX name; the recipient is accepted",
		Target: "alice@tls.lab.test", Protocol: "smtp",
		DNS:  []string{"tls.lab.test. 300 IN MX 10 mx1.tls.lab.test.", "mx1.tls.lab.test. 300 IN A 127.0.0.24"},
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
	{
		Name: "tls-required", Title: "The server demands STARTTLS before MAIL, but its STARTTLS fails (454)",
		Target: "alice@tlsreq.lab.test", Protocol: "smtp",
		DNS: []string{"tlsreq.lab.test. 300 IN MX 10 mx1.tlsreq.lab.test.", "mx1.tlsreq.lab.test. 300 IN A 127.0.0.25"},
		Want: Want{StatusUndeliverable, "5.7.0", "tls-required",
			"host mx1.tlsreq.lab.test[127.0.0.25] said: 530 5.7.0 Must issue a STARTTLS command first (in reply to MAIL FROM command)"},
	},
	{
		CatchAllCheck: true,
		Name:          "catch-all", Title: "Catch-all server: every recipient is accepted",
		Target: "x7q2k9zz@catchall.lab.test", Protocol: "smtp",
		DNS:  []string{"catchall.lab.test. 300 IN MX 10 mx1.catchall.lab.test.", "mx1.catchall.lab.test. 300 IN A 127.0.0.26"},
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
	{
		Name: "lmtp-known", Title: "LMTP backend (Dovecot) over TCP, known user",
		Target: "django@lmtp.lab.test", Protocol: "lmtp", Server: "127.0.0.27:{port}",
		DNS:  []string{"lmtp.lab.test. 300 IN A 127.0.0.27"},
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 OK"},
	},
	{
		// Addressed by IP, Postfix names the host by its address (seed:
		// "host 10.0.0.77[10.0.0.77] said: 550 5.1.1 …").
		Name: "lmtp-unknown", Title: "LMTP backend (Dovecot) over TCP, unknown user",
		Target: "paeddrigg@lmtp.lab.test", Protocol: "lmtp", Server: "127.0.0.27:{port}",
		DNS: []string{"lmtp.lab.test. 300 IN A 127.0.0.27"},
		Want: Want{StatusUndeliverable, "5.1.1", "user-unknown",
			"host 127.0.0.27[127.0.0.27] said: 550 5.1.1 <paeddrigg@lmtp.lab.test> User doesn't exist: paeddrigg@lmtp.lab.test (in reply to RCPT TO command)"},
	},
	{
		Name: "lmtp-unix", Title: "LMTP backend (Dovecot) on a unix socket, known user",
		Target: "django@lmtp.lab.test", Protocol: "lmtp", Server: "unix:{dir}/lmtp.sock",
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 OK"},
	},
	{
		Name: "dns-truncated", Title: "32 MX records: the UDP answer is truncated, the resolver must retry over TCP",
		Target: "alice@big.lab.test", Protocol: "smtp", DNS: bigMX(),
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
	{
		Name: "cname", Title: "The domain is a CNAME of a domain with MX records",
		Target: "alice@alias.lab.test", Protocol: "smtp",
		DNS:  withRR(rrAccept, "alias.lab.test. 300 IN CNAME accept.lab.test."),
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
	{
		// RFC 5321 §5.1 says MX targets must not be aliases; MTAs follow
		// the CNAME anyway (Postfix's address lookup does).
		Name: "mx-cname", Title: "The MX host name is a CNAME (a misconfiguration MTAs tolerate)",
		Target: "alice@mxcname.lab.test", Protocol: "smtp",
		DNS:  withRR(rrAccept, "mxcname.lab.test. 300 IN MX 10 mail.mxcname.lab.test.", "mail.mxcname.lab.test. 300 IN CNAME mx1.accept.lab.test."),
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
	{
		// Postfix's smtp_addr_one() takes a numerical MX name as the
		// address ("Interpret a numerical name as an address").
		Name: "mx-ip-literal", Title: "The MX target is an IP address instead of a host name",
		Target: "alice@mxip.lab.test", Protocol: "smtp",
		DNS:  []string{"mxip.lab.test. 300 IN MX 10 127.0.0.10."},
		Want: Want{StatusDeliverable, "2.1.5", "deliverable", "250 2.1.5 Ok"},
	},
}

// extraRecords are served but belong to no scenario: the zone apex and
// shapes the DNS tests of other packages use.
var extraRecords = []string{
	"lab.test. 300 IN SOA ns.lab.test. hostmaster.lab.test. 2024010101 3600 600 86400 300",
	"lab.test. 300 IN NS ns.lab.test.",
	"ns.lab.test. 300 IN A 127.0.0.1",
	// The prober's own identity (--helo probe.lab.test, its sender's
	// domain) resolves, as a real MTA's must: receivers with
	// reject_unknown_helo_hostname / reject_unknown_sender_domain check.
	"probe.lab.test. 300 IN A 127.0.0.1",
	// A CNAME loop: a resolver that follows it must give up.
	"loop1.lab.test. 300 IN CNAME loop2.lab.test.",
	"loop2.lab.test. 300 IN CNAME loop1.lab.test.",
	// A DNSBL (RFC 5782) that lists the lab's client address 127.0.0.1,
	// so the blocklisted scenario shows the evidence a real run would,
	// and answers the RFC 5782 §5 test points.
	"1.0.0.127.dnsbl.lab.test. 300 IN A 127.0.0.2",
	"1.0.0.127.dnsbl.lab.test. 300 IN TXT \"127.0.0.1 is listed in the lab DNSBL: seen sending to spam traps\"",
	"2.0.0.127.dnsbl.lab.test. 300 IN A 127.0.0.2",
	"2.0.0.127.dnsbl.lab.test. 300 IN TXT \"RFC 5782 test point\"",
}

// DNSBLZone is the lab's blocklist; it lists 127.0.0.1, the address lab
// clients come from.
const DNSBLZone = "dnsbl.lab.test"
