package probe

import (
	"time"

	"github.com/mailprobe/mailprobe/dnsclient"
)

// The one table of defaults. Config, BatchOptions, Options (and through
// it the command line's flags and their help, the lab and demo) take
// their defaults from here and from nowhere else.
const (
	// DefaultTimeout bounds each phase: connect, greeting, each reply.
	// Shorter than Postfix's smtp_*_timeout (300 s) because a person is
	// waiting, long enough for a tarpitting greeting.
	DefaultTimeout = 30 * time.Second
	// DefaultDeadline bounds a whole single probe run (a batch has none
	// unless one is given: it takes as long as its input).
	DefaultDeadline = 2 * time.Minute
	// QuitGrace bounds the wait for the reply to QUIT, pipelined or not:
	// nothing depends on it, and Postfix does not wait for it at all
	// (smtp_skip_quit_response = yes). The RSET that ends a transaction
	// gets the same bound: every RCPT has been answered by then, and a
	// server that answers RSET at all answers it at once.
	QuitGrace = 2 * time.Second
	// DefaultMXDeadline bounds a whole `mailprobe mx` run: every domain's
	// MX, CNAME and address lookups together. Six times the DNS timeout:
	// a route needs at most a few rounds of queries (MX, CNAME hops, A and
	// AAAA in parallel), so only a resolver that times out again and
	// again, or an answer listing thousands of hosts, reaches it.
	DefaultMXDeadline = 30 * time.Second
	// MaxNamedLists and MaxServerSawAddrs bound what a refusal's text can
	// add to the DNSBL check: the lists it names ("blocked using ZONE")
	// and the client addresses it says it saw ("[192.0.2.1]"). A real
	// refusal names one of each; a hostile one can name thousands, and
	// each address is asked of every list (addresses × lists queries).
	MaxNamedLists     = 4
	MaxServerSawAddrs = 4
	// DefaultDNSTimeout bounds one DNS query (MX, address, DNSBL).
	DefaultDNSTimeout = dnsclient.DefaultTimeout

	// DefaultRcptWindow is how many RCPTs go in one transaction and one
	// pipelined write: RFC 5321 §4.5.3.1.8 obliges every server to accept
	// at least 100 recipients per transaction, so no compliant server
	// answers a window of 100 with "452 too many recipients".
	DefaultRcptWindow = 100
	// MaxRcptWindow caps the window a caller may ask for.
	MaxRcptWindow = 10000

	// DefaultMaxAddresses and DefaultMaxSessions mirror Postfix's
	// smtp_mx_address_limit (5) and smtp_mx_session_limit (2).
	DefaultMaxAddresses = 5
	DefaultMaxSessions  = 2

	// DefaultConcurrency is the number of batch sessions per destination:
	// a verifier should not look like a mail storm.
	DefaultConcurrency = 2
	// MaxConcurrency caps the sessions per destination a caller may ask for.
	MaxConcurrency = 100
	// DefaultMaxSessionErrors renews an SMTP batch session before
	// Postfix's smtpd_soft_error_limit (10) slows it down; LMTP servers
	// keep no such count (no limit there).
	DefaultMaxSessionErrors = 9
	// DefaultMaxReconnects is how many sessions in a row may end without
	// deciding anyone before a recipient is given the error.
	DefaultMaxReconnects = 3
	// DefaultBackoff is the first pause after a push-back (421, 4.7.x).
	// It doubles while the push-back lasts, up to MaxBackoffFactor times.
	DefaultBackoff = time.Second
	// MaxBackoffFactor caps one pause at 8 × the first (8 s by default).
	MaxBackoffFactor = 8
	// DefaultMax421 is how many sessions in a row may end with a 421 at a
	// destination, nobody decided, before its remaining addresses get that
	// 421 as their result instead of waiting. Postfix suspends a
	// destination after one failed session
	// (default_destination_concurrency_failed_cohort_limit = 1, "delivery
	// temporarily suspended"); a probe allows three, so that one
	// connection-count 421 does not decide a whole batch.
	DefaultMax421 = 3
	// DefaultMaxGiveUps is how many addresses in a row a destination may
	// make every session fail for (each after MaxReconnects sessions:
	// out of step, dropped, timed out) before its remaining addresses get
	// that error instead of their own sessions. One address that breaks
	// the server stays one; a server that breaks whatever it is asked
	// costs DefaultMaxGiveUps × MaxReconnects sessions, not that many per
	// address.
	DefaultMaxGiveUps = 3
	// SlowRcpt is the average RCPT answer time from which a batch
	// destination counts as slow: a front Postfix with
	// reject_unverified_recipient answers a new address only after its
	// verify service asked the backend (address_verify_poll_delay, 3 s by
	// default), about one address per second per session, where a backend
	// answers in well under a millisecond.
	SlowRcpt = 500 * time.Millisecond
	// DefaultBatchSessions caps open batch sessions over all destinations.
	DefaultBatchSessions = 16

	// Ports: 25 SMTP (RFC 5321), 24 LMTP (RFC 2033 suggests it), 465
	// SMTPS (RFC 8314 §7.3).
	PortSMTP  = 25
	PortLMTP  = 24
	PortSMTPS = 465
)
