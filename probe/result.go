package probe

import (
	"time"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/mx"
)

// Phase names a step of the dialogue. A failure is always tied to the
// phase it happened in, because "timed out while receiving the initial
// server greeting" and "timed out after RCPT" mean different things to an
// admin.
type Phase string

const (
	PhaseDNS      Phase = "dns"
	PhaseConnect  Phase = "connect"
	PhaseTLS      Phase = "tls" // implicit TLS (SMTPS) handshake, or the handshake after STARTTLS
	PhaseGreeting Phase = "greeting"
	PhaseEHLO     Phase = "ehlo"
	PhaseHELO     Phase = "helo"
	PhaseLHLO     Phase = "lhlo"
	PhaseSTARTTLS Phase = "starttls"
	PhaseMAIL     Phase = "mail"
	PhaseRCPT     Phase = "rcpt"
	PhaseRSET     Phase = "rset"
	PhaseQUIT     Phase = "quit"
)

// Command is the SMTP command a phase sends, in the words Postfix uses in
// "(in reply to RCPT TO command)". Empty for phases that send nothing.
func (p Phase) Command() string {
	for _, vp := range verbPhases {
		if vp.phase == p {
			return vp.verb.name()
		}
	}
	return ""
}

// Result is everything one probe run saw, judged by nothing: package report
// turns it into statuses and explanations.
type Result struct {
	Started  time.Time
	Duration time.Duration
	Config   ConfigSummary
	// Stop is why the run ended before it had asked everything
	// (StopNone when it finished): what was decided stands, the rest is
	// "not checked" with this reason.
	Stop Stop

	// Domains holds one entry per distinct recipient domain (or one entry
	// for --server), in input order.
	Domains []*DomainResult
	// Recipients holds exactly one outcome per requested recipient, in
	// input order.
	Recipients []*Outcome

	// DNSBL holds blocklist answers for the local addresses the
	// connections used and the MX addresses (--dnsbl); nil when not
	// checked.
	DNSBL []blacklist.Result
	// PublicIP is the address given with --public-ip, checked instead of
	// a private local address.
	PublicIP string
	// LocalPrivate is true when a connection's local address was private
	// or loopback, so the address a receiving server sees may differ.
	LocalPrivate bool
	// Warnings are what ChooseSender found wrong with the probe's
	// identity (a HELO name or sender domain that does not resolve).
	Warnings []string
	// ServerSaw are the client addresses block-like refusals named
	// ("Client host [IP] …"): what the server itself says it saw, checked
	// on the lists beside the local address.
	ServerSaw []string
	// DNSBLNamed are the DNSBL zones block-like refusals named or implied
	// ("blocked using ZONE", "Spamhaus", a list's URL); each was asked too.
	DNSBLNamed []string
}

// ConfigSummary records the settings that shape what the server saw, so a
// report can say "probed as EHLO x, MAIL FROM:<y>".
type ConfigSummary struct {
	Protocol Protocol `json:"protocol"`
	HELO     string   `json:"helo"`
	From     string   `json:"from"`
	Server   string   `json:"server,omitempty"`
	Port     int      `json:"port"`
	STARTTLS TLSMode  `json:"starttls"`
	TLSLevel string   `json:"tls_level,omitempty"` // Postfix's level name: none, may, encrypt, verify, secure
	AllMX    bool     `json:"all_mx,omitempty"`
	Source   string   `json:"source,omitempty"`
}

// DomainResult is the route to one domain: its MX resolution and every
// host/address attempt made for it, in the order they were made.
type DomainResult struct {
	Domain string
	// Route is nil with --server, where no MX lookup happens.
	Route       *mx.Route
	DNSDuration time.Duration
	Attempts    []*Attempt
}

// Attempt is one connection to one address of one host.
type Attempt struct {
	Host    string // MX host name, the --server host, or the socket path
	Address string // IP address; "" for a unix socket
	Port    int
	Network string // "tcp" or "unix"
	Local   string // local address the connection used, when it connected

	// Skipped is set when the attempt was never made, with the reason
	// (e.g. "an earlier MX host gave a definitive answer").
	Skipped string

	Steps    []Step
	Greeting *Reply
	// Extensions as advertised by the last EHLO/LHLO, upper-cased keyword
	// → parameters.
	Extensions map[string]string
	TLS        *TLSInfo

	// Err is what ended the attempt early, nil when the dialogue reached
	// its end normally. It is a *Error.
	Err *Error

	// Rcpts is what this attempt learned about each recipient it carried,
	// in the order they were sent.
	Rcpts []RcptResult
	// nexthop is the destination the attempt serves (see target).
	nexthop string
	// PlaintextRetry is set on an attempt made again without STARTTLS
	// after the TLS handshake failed (as Postfix does at its "may" level).
	PlaintextRetry bool
	// WithoutPipelining is set on an attempt made again one command at a
	// time after the server's replies fell out of step with pipelined
	// commands (ErrDesync).
	WithoutPipelining bool

	// Setup is connect + greeting + EHLO (+ TLS); Transaction is MAIL and
	// RCPTs. These feed Postfix's delays=a/b/c/d fields.
	Setup       time.Duration
	Transaction time.Duration
}

// RcptResult is one recipient's result within one attempt.
type RcptResult struct {
	Recipient string
	// Phase is where the recipient was decided: rcpt normally; mail,
	// greeting, ehlo… when an earlier reply or failure ended the attempt.
	Phase Phase
	Reply *Reply
	Err   *Error
}

// Definitive reports whether an MTA would stop here: a success or a
// permanent reply at RCPT, or a permanent reply after the greeting
// (Postfix skips servers that greet with 5xx: smtp_skip_5xx_greeting).
func (r RcptResult) Definitive() bool {
	if r.Reply == nil || r.Err != nil && r.Err.Kind != ErrRejected {
		return false
	}
	switch r.Reply.Class() {
	case 2:
		return r.Phase == PhaseRCPT
	case 5:
		return r.Phase != PhaseGreeting
	}
	return false
}

// Step is one command/reply exchange, or a non-command phase (connect,
// tls, greeting).
type Step struct {
	Phase    Phase
	Command  string // the line sent, "" for connect/greeting/tls; never holds secrets
	Reply    *Reply
	Start    time.Time
	Duration time.Duration
	Err      string
}

// TLSInfo describes the TLS session and the peer certificate.
type TLSInfo struct {
	Version     string
	CipherSuite string
	ServerName  string // SNI / the name verified against
	Subject     string
	Issuer      string
	DNSNames    []string
	NotBefore   time.Time
	NotAfter    time.Time
	// Verified is true when the chain verifies against the system roots
	// and the certificate is valid for ServerName.
	Verified bool
	// VerifyError says why verification failed (expired, wrong name,
	// unknown authority); "" when Verified.
	VerifyError string
	// VerifyKind is why verification failed, as a fact report can
	// branch on and render; VerifyOK when Verified.
	VerifyKind VerifyKind
	// MatchNames, at Postfix's "secure" level, are the names the
	// certificate was matched against instead of ServerName: the
	// next-hop domain and its subdomains (".example.org").
	MatchNames []string
}

// VerifyKind classifies a certificate that did not verify.
type VerifyKind string

const (
	VerifyOK               VerifyKind = ""
	VerifyExpired          VerifyKind = "expired"
	VerifyNotYetValid      VerifyKind = "not-yet-valid"
	VerifyHostname         VerifyKind = "hostname"          // not valid for the MX name
	VerifyUnknownAuthority VerifyKind = "unknown-authority" // self-signed, or a private CA
	VerifyOther            VerifyKind = "other"             // no certificate, STARTTLS refused, anything else
)

// Outcome is the fate of one recipient: the attempt that decided it (the
// last one made for it) and the reply or error that did.
type Outcome struct {
	Recipient string
	Line      int // 1-based input line number for --rcpt-file, else 0
	Domain    *DomainResult

	// Attempt is the attempt whose result counts, nil when no connection
	// was attempted (DNS failure, null MX) — Postfix's relay=none.
	Attempt *Attempt
	// Reply is the RCPT reply when RCPT was reached, else the reply that
	// ended the attempt (greeting, EHLO, MAIL…), else nil.
	Reply *Reply
	// Phase is where the decision happened.
	Phase Phase
	// Err is set when no reply decided: a DNS error (*mx.Error), a
	// connection or conversation error (*Error), or ErrNotChecked.
	Err error

	// CatchAll is set when --catch-all-check ran: true when a random
	// local part at the same domain was also accepted.
	CatchAll *bool

	// Timings for Postfix's delay/delays fields.
	DNS         time.Duration
	Setup       time.Duration
	Transaction time.Duration
	Total       time.Duration
}
