// Package mx finds where a domain's mail goes, the way an MTA does before
// it connects: it asks the resolver (through dnsclient: UDP, then TCP when
// the answer is truncated) for the domain's MX records, orders them, and
// looks up the A and AAAA records of every MX host, concurrently but with a
// deterministic result.
//
// # How a route is built
//
//	r := &mx.Resolver{DNS: client, Family: mx.FamilyAny}
//	route := r.Resolve(ctx, "example.org")
//	if route.Err != nil { /* the whole domain failed: route.Err.Kind says how */ }
//	for _, h := range route.Hosts { /* h.Name, h.Addresses, or h.Err */ }
//
// Resolve never returns nil. It asks for MX and follows any CNAME chain
// (RFC 1034 §3.6.2), both inside one answer and by asking again for the
// chain's end, up to Resolver.MaxCNAME hops (default 8); a chain that
// revisits a name or grows past the limit is ErrCNAMELoop.
//
// Ordering: hosts come in ascending preference (RFC 5321 §5.1); hosts of
// equal preference are sorted by name. RFC 5321 §5.1 asks senders to pick
// randomly among equal preferences, and Postfix does, so a real MTA may
// try equal-preference hosts in another order on each delivery; mailprobe
// fixes the order so that two runs can be compared line by line, and
// `--all-mx` probes every host whatever the order. Addresses of a host are
// its A records then its AAAA records, each sorted, keeping only the
// families Resolver.Family allows (-4, -6).
//
// Special answers:
//   - Implicit MX (RFC 5321 §5.1): the domain exists but has no MX
//     records, so its own A/AAAA act as one MX of preference 0
//     (Route.Implicit). Neither MX nor address: ErrNoData.
//   - Null MX (RFC 7505): a single MX whose target is "." means the domain
//     accepts no mail: ErrNullMX, permanent. A "." among other MX records
//     is a zone error; it is ignored and noted in Route.Warnings.
//   - An MX pointing at a CNAME (forbidden by RFC 2181 §10.3, followed by
//     MTAs anyway) is followed; the chain is in MXHost.CNAMEs.
//   - An MX target that is an IP address ("10 192.0.2.1.") is not a host
//     name (RFC 5321 §5.1), but Postfix's smtp_addr_one() interprets a
//     numerical name as an address and dials it: so do we, with IPLiteral
//     set and a warning.
//   - An MX host without addresses keeps its place in Route.Hosts with its
//     own Err (ErrNXDomain or ErrNoHostAddress, Type "A" or "AAAA"); when no
//     host has an address the route fails with ErrNoAddress.
//
// Errors are *Error values naming the query as Postfix does ("name=D
// type=MX"), with the RCODE and whether retrying may help. Kinds:
// permanent — ErrNXDomain, ErrNoData, ErrNullMX, ErrMXIsIP,
// ErrNoHostAddress; temporary — ErrServFail, ErrRefused, ErrTimeout,
// ErrIDMismatch (answers never carried our query ID), ErrMalformed
// (unparseable answer, or one to another question), ErrBadRcode,
// ErrUnreachable, ErrCNAMELoop (recursive resolvers answer SERVFAIL for
// loops, so an MTA defers), and ErrNoAddress when any host failed
// temporarily. Compare kinds with errors.Is or Error.Kind, never strings.
package mx
