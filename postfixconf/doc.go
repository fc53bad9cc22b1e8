// Package postfixconf reads a Postfix configuration and computes, for a
// recipient address, the route Postfix's own address verification would
// take — then predicts what reject_unverified_recipient would answer.
//
// The configuration is read only through Postfix's tools, never by
// parsing main.cf or master.cf by hand:
//
//	postconf -c DIR -x PARAM…        expanded main.cf values (defaults included)
//	postconf -c DIR -F NAME/TYPE/FIELD  master.cf fields (command, chroot)
//	postconf -c DIR -P -x            master.cf "-o" overrides
//	postmap -c DIR -q - TABLE        table lookups, many keys per process
//	postmap -c DIR -s TABLE          list a table (recipients, verify cache)
//
// A route is computed with the rules of trivial-rewrite(8)
// (src/trivial-rewrite/resolve.c, transport.c) as the verify service
// uses them (the resolve_verify context of trivial-rewrite.c: every
// address_verify_* parameter in place of its delivery counterpart):
//
//  1. virtual_alias_maps expansion as cleanup(8) does it; an alias to more
//     than one address is "deliverable" without a probe
//     (cleanup_out_recipient.c: "aliased to multiple recipients").
//  2. The address class: local ($mydestination, $inet_interfaces
//     literals), virtual alias, virtual mailbox, relay, default — in that
//     order (resolve_class).
//  3. The class's transport (address_verify_{local,virtual,relay,default}_transport),
//     "transport:nexthop" splitting, and relayhost for the relay and
//     default classes (address_verify_relayhost).
//  4. address_verify_transport_maps: user+ext@domain, user@domain, domain,
//     parent domains ("domain" or ".domain" keys per
//     parent_domain_matches_subdomains), then "*"; an entry's empty
//     transport keeps the class transport, an empty nexthop resets it to
//     the recipient domain (transport.c update_entry).
//
// The nexthop is then interpreted as smtp(8)/lmtp(8) would: "[host]:port"
// without MX lookup, "host" or "domain" with MX lookup (SMTP only),
// "unix:path" relative to queue_directory, "inet:host:port".
package postfixconf
