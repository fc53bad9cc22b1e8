package mx

import (
	"errors"
	"fmt"
	"net/netip"
)

// Sentinel kinds of resolution failure; *Error wraps one of them.
var (
	ErrNXDomain  = errors.New("domain does not exist")        // NXDOMAIN for the queried name (domain or MX host)
	ErrNoData    = errors.New("no MX and no address records") // name exists, no MX, no A/AAAA
	ErrServFail  = errors.New("resolver failure (SERVFAIL)")
	ErrRefused   = errors.New("resolver refused the query")
	ErrTimeout   = errors.New("resolver did not answer")
	ErrNullMX    = errors.New("domain does not accept mail (null MX)")
	ErrCNAMELoop = errors.New("CNAME loop or chain too long")
	ErrMalformed = errors.New("malformed DNS answer")
	ErrNoAddress = errors.New("no usable address for any MX host")

	// ErrIDMismatch: the resolver answered, but never with the ID of our
	// query, so no answer could be trusted (spoofing, or a broken NAT or
	// middlebox rewriting IDs). Temporary.
	ErrIDMismatch = errors.New("resolver answered with the wrong query ID")
	// ErrMXIsIP: the MX target is an IP address written as a name
	// ("10 192.0.2.1.") of a family excluded by -4/-6. (Of an allowed
	// family it is dialled, as Postfix does, with a warning.) Permanent.
	ErrMXIsIP = errors.New("MX target is an IP address, not a host name (RFC 5321 §5.1)")
	// ErrNoHostAddress: the host name exists but has no A/AAAA records of
	// the wanted family (NODATA). Permanent.
	ErrNoHostAddress = errors.New("host has no address records")
	// ErrBadHostAddress joins ErrNoHostAddress when the host's only
	// addresses are ones no remote host can have: unspecified (0.0.0.0/8,
	// ::), multicast, limited broadcast. They are never dialled: 0.0.0.0
	// would reach this machine. Permanent, as the records are.
	ErrBadHostAddress = errors.New("not an address a mail host can have (unspecified, multicast or broadcast), never dialled")
	// ErrUnreachable: the resolver could not be reached at all (connection
	// refused, network unreachable, no resolver configured). Temporary.
	ErrUnreachable = errors.New("resolver could not be reached")
	// ErrBadRcode: the resolver answered with an RCODE other than
	// NOERROR, NXDOMAIN, SERVFAIL or REFUSED (FORMERR, NOTIMP…). Temporary,
	// as MTAs treat any unexpected resolver answer as "try again".
	ErrBadRcode = errors.New("resolver returned an unexpected response code")
	// ErrStopped: the caller's context ended before an answer came (an
	// interrupt, the probe's deadline, a scrape timeout). Not a DNS
	// failure: Error.Err is the context's cause (context.Cause), which
	// says which.
	ErrStopped = errors.New("lookup stopped before an answer")
)

// Error is a failed lookup, naming the query that failed as Postfix does
// ("Name service error for name=D type=MX").
type Error struct {
	Kind  error  // one of the sentinels
	Name  string // queried name, without trailing dot
	Type  string // "MX", "A", "AAAA", "CNAME"
	Rcode string // "SERVFAIL", "NXDOMAIN"…, "" for transport errors
	// Temporary is true when retrying later may help (SERVFAIL, timeout,
	// refused); false for NXDOMAIN, null MX, no data.
	Temporary bool
	Err       error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s type=%s: %v", e.Name, e.Type, e.Kind)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// Route is the resolved list of places to deliver a domain's mail.
type Route struct {
	Domain string
	// Implicit is true when the domain has no MX records and its own
	// address records serve as the single MX (RFC 5321 §5.1).
	Implicit bool
	// Family is the address family the route was resolved for; it names
	// the record type an MTA reports when no address was found (Postfix
	// with inet_protocols=all reports the AAAA lookup, the last it made).
	Family Family
	// CNAME chain followed for the domain itself, if any.
	CNAMEs []string
	// Hosts in delivery order: ascending preference; equal preferences
	// sorted by host name (see Resolve and the package doc).
	Hosts []MXHost
	// Err is set when the route is unusable as a whole (NXDOMAIN, null MX,
	// SERVFAIL…). Hosts may still be partly filled.
	Err *Error
	// Warnings are oddities that did not stop resolution but that an admin
	// should see: a "." MX among real ones (RFC 7505 §3), an address
	// family whose lookup failed while the other one worked…
	Warnings []string
}

// MXHost is one MX target with its addresses.
type MXHost struct {
	Preference uint16
	Name       string // without trailing dot
	// IPLiteral is true when the MX target is an IP address rather than a
	// host name (a misconfiguration, RFC 5321 §5.1). Postfix dials such a
	// target as an address, so the address is used, and a warning says so.
	IPLiteral bool
	CNAMEs    []string // CNAME chain followed for the host name, if any
	Addresses []netip.Addr
	// Err is set when the host's addresses could not be found; the host
	// is then skipped by the prober with this reason.
	Err *Error
}
