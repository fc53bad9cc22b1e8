// Package dnsclient is the one place where mailprobe puts DNS questions on
// the wire. Both the MX resolver (package mx) and the DNSBL checker (package
// blacklist) ask through it, so that every lookup honours the same
// --resolver, the same per-query timeout and the same transport rules: UDP
// first, and TCP only when the UDP answer comes back truncated (RFC 7766
// §5). UDP first matters for DNSBLs, because rbldnsd and several large
// blocklists answer UDP only.
//
// The client never interprets answers; it returns the message and leaves
// NXDOMAIN, NODATA and SERVFAIL to the caller. It only turns transport
// failures into typed errors (ErrTimeout, ErrIDMismatch, ErrNoServers) so
// callers can tell "the resolver said no" from "the resolver did not say".
package dnsclient
