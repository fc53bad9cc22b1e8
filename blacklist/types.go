package blacklist

import "time"

// Status is the verdict of one list for one address or domain.
type Status string

const (
	Listed  Status = "listed"
	Clean   Status = "clean"
	Unknown Status = "unknown" // the list could not say: error code, SERVFAIL, timeout…
)

// Kind says what a list is keyed by.
type Kind string

const (
	KindIP     Kind = "ip"     // reversed IPv4 octets / IPv6 nibbles (RFC 5782 §2.1, §2.4)
	KindDomain Kind = "domain" // domain name prepended to the zone (RFC 5782 §2.3)
)

// Result is one list's answer about one address or domain.
type Result struct {
	Target   string   `json:"target"`  // what was asked for: IP, host name or domain
	Address  string   `json:"address"` // the IP (or domain) actually looked up
	List     string   `json:"list"`    // the list's zone
	Status   Status   `json:"status"`
	Codes    []string `json:"codes"`    // A records returned, e.g. 127.0.0.2
	Meanings []string `json:"meanings"` // what the codes mean for this list
	Reason   string   `json:"reason"`   // TXT record, when the list gives one
	// Via names the MX host whose address this is, when a domain target's
	// MX hosts were checked; "" otherwise.
	Via      string        `json:"via,omitempty"`
	Error    string        `json:"error"` // why the status is unknown
	Duration time.Duration `json:"-"`
	// Query is the DNS name asked, e.g. 99.2.0.192.zen.spamhaus.org, so
	// the user can repeat it with dig.
	Query string `json:"query,omitempty"`
	// Err is the error behind Error, for errors.Is (ErrErrorCode,
	// ErrOutsideLoopback, ErrResolver, ErrNoAnswer, ErrHostNotFound…).
	Err error `json:"-"`
}
