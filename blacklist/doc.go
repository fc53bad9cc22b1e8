// Package blacklist checks IP addresses and domains against DNS blocklists
// (DNSBLs, RFC 5782) and reads their answers without the usual mistakes.
//
// A DNSBL is a DNS zone. To ask whether 192.0.2.99 is on zen.spamhaus.org,
// write the address backwards and put the zone after it, then ask for its A
// record: 99.2.0.192.zen.spamhaus.org (RFC 5782 §2.1). IPv6 addresses are
// written as 32 reversed hex nibbles, 2001:db8::1 becoming
// 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zone
// (§2.4); an IPv4-mapped IPv6 address is asked as the IPv4 address it
// carries. Domain lists take the name as is:
// example.com.dbl.spamhaus.org (§2.3). NXDOMAIN means "not listed"; an A
// record in 127.0.0.0/8 means "listed", and the exact address says why
// (zen: 127.0.0.2 SBL, 127.0.0.4 XBL, 127.0.0.10 PBL…). Only then is the
// TXT record at the same name asked: it is the human-readable reason,
// often with a lookup URL, and asking it for every clean address would
// double the load for nothing.
//
// Every list must list its test entry 127.0.0.2 and must not list
// 127.0.0.1 ("test" and "invalid" for domain lists, §5). Checker.Health
// asks both: a list that fails is dead, renamed, refusing this resolver,
// or — when it lists 127.0.0.1 — retired and wildcarded, which would make
// every address look listed.
//
// Not every 127.x answer is a listing. Large lists answer with reserved
// error codes when they will not serve the asker: Spamhaus returns
// 127.255.255.254 to queries arriving through public resolvers,
// 127.255.255.255 for excessive queries, 127.255.255.252 for a mistyped
// zone, and 127.0.1.255 when an IP is asked of a domain list; URIBL and
// SURBL answer 127.0.0.1. Answers outside 127.0.0.0/8 come from a
// resolver that rewrites NXDOMAIN into an advertising address. All of
// these, and SERVFAIL, REFUSED and timeouts, are Unknown with the reason —
// never Listed (which would accuse a clean address) and never Clean
// (which would hide a listing). Decode holds these rules.
//
// Public resolvers (8.8.8.8, 1.1.1.1, 9.9.9.9, OpenDNS…) fail with many
// lists: the lists' free use is limited per querying resolver, and the
// traffic of everyone behind a public resolver exceeds it, so Spamhaus,
// URIBL, SURBL and Barracuda refuse them. Use your own recursive resolver;
// PublicResolverWarning says so up front.
//
// Checker runs every lookup concurrently under a bound, each with its own
// timeout, so 40 lists cost about one round trip. Queries go through
// dnsclient: UDP first, TCP only on truncation, since rbldnsd — the server
// behind most DNSBLs — answers UDP only.
package blacklist
