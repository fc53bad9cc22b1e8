package probe

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel kinds of failure. An *Error wraps exactly one of them, so
// callers (report, cmd) branch with errors.Is.
var (
	ErrRefused     = errors.New("connection refused")
	ErrUnreachable = errors.New("network unreachable")
	ErrTimeout     = errors.New("timed out")
	ErrLost        = errors.New("lost connection")
	ErrProtocol    = errors.New("protocol error")
	ErrTLS         = errors.New("TLS failure")
	ErrTLSRequired = errors.New("STARTTLS required but not offered")
	ErrRejected    = errors.New("server rejected the command")
	ErrDeadline    = errors.New("probe deadline exceeded")
	ErrNotChecked  = errors.New("not checked")
	ErrInterrupted = errors.New("interrupted")
	ErrNoSMTPUTF8  = errors.New("address needs SMTPUTF8 but the server does not offer it")
)

// Error is a failure of one attempt, tied to the phase it happened in.
type Error struct {
	Kind  error // one of the sentinels above
	Phase Phase
	// Reply is the server's reply when the server said no (Kind ==
	// ErrRejected), or the malformed reply for ErrProtocol when one was
	// read.
	Reply *Reply
	// Detail is the lower-level reason: the dial error, "reply line
	// longer than 2048 bytes", the TLS alert…
	Detail string
	Err    error // underlying error, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %v", e.Phase, e.Kind)
	if e.Reply != nil {
		s += ": " + e.Reply.Text()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// TLSMode says what to do about STARTTLS.
type TLSMode string

const (
	TLSAuto   TLSMode = "auto"   // use it when offered, go on in clear when not
	TLSAlways TLSMode = "always" // fail the host when not offered or not working
	TLSNever  TLSMode = "never"
)

// TLSLevel is a Postfix smtp_tls_security_level name (src/tls/tls_level.c)
// as --starttls accepts it, beside the probe's own auto/always/never.
type TLSLevel struct {
	Name string  // none, may, encrypt, verify or secure
	Mode TLSMode // what the session does about STARTTLS
	// Verify requires a trusted certificate (levels >= verify: Postfix's
	// "Server certificate not trusted") matching the name (levels >
	// encrypt: "Server certificate not verified").
	Verify bool
	// Nexthop, at "secure", matches the certificate against the next-hop
	// domain (the recipient domain, or --server's host) and its
	// subdomains — smtp_tls_secure_cert_match = nexthop, dot-nexthop —
	// instead of the MX host name that "verify" matches
	// (smtp_tls_verify_cert_match = hostname).
	Nexthop bool
}

// ErrDANE is why --starttls dane is refused: DANE needs DNSSEC-validated
// TLSA records, which mailprobe does not check yet, and treating it as
// "may" (as Postfix does without a validating resolver) would promise a
// check that never happened.
var ErrDANE = errors.New("DANE is not checked yet (mailprobe validates no DNSSEC and reads no TLSA records); use --starttls verify or secure")

// ParseTLSLevel reads --starttls: Postfix's level names none, may,
// encrypt, verify, secure, or auto (= may), always (= encrypt), never
// (= none). dane and fingerprint are refused with the reason.
func ParseTLSLevel(s string) (TLSLevel, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "never":
		return TLSLevel{Name: "none", Mode: TLSNever}, nil
	case "may", "auto", "":
		return TLSLevel{Name: "may", Mode: TLSAuto}, nil
	case "encrypt", "always":
		return TLSLevel{Name: "encrypt", Mode: TLSAlways}, nil
	case "verify":
		return TLSLevel{Name: "verify", Mode: TLSAlways, Verify: true}, nil
	case "secure":
		return TLSLevel{Name: "secure", Mode: TLSAlways, Verify: true, Nexthop: true}, nil
	case "dane", "dane-only":
		return TLSLevel{}, ErrDANE
	case "fingerprint":
		return TLSLevel{}, errors.New("fingerprint is not supported: mailprobe pins no certificates; use --starttls verify or secure")
	}
	return TLSLevel{}, errors.New("want none, may, encrypt, verify or secure (or auto, always, never)")
}
