// Package lab runs a mail-delivery laboratory inside the test process, on
// loopback only, so mailprobe's tests and `mailprobe demo` can meet every
// kind of receiving server on a machine with no network. Start binds one
// free port P on 127.0.0.1 — an authoritative miekg/dns server for the
// RFC 2606 domain lab.test. over UDP and TCP — and the same P on
// 127.0.0.10 and up, where go-smtp SMTP servers, one go-smtp LMTP server
// (also on a unix socket) and a few scripted servers behave like the real
// cases in the seed maillogs; a prober pointed at DNSAddr with --port P
// therefore reaches every MX host as an MTA would, and addresses left
// unbound refuse connections the way a dead MX does. The servers are
// built on internal/fakemta, the one fake MTA: the go-smtp hosts sit
// behind its TapListener, which records every received line below the
// SMTP engine and terminates STARTTLS itself, so the recorder sees
// plaintext and a test can prove that no DATA or BDAT was ever sent (the
// go-smtp sessions refuse DATA too); the greeting-time misbehaviour (421,
// 554, silence) is a fakemta script. What is the lab's own: the
// scenarios, the DNS zone, and the recipient policies of its go-smtp
// backend (smtp.go). The hostile scripted servers of the hostile-server
// tests are fakemta's too (fakemta.StartScript).
//
// The scenarios, in the order Scenarios returns them (Want: status, dsn,
// category):
//
//	accept                alice@accept.lab.test        deliverable 2.1.5
//	unknown-user          nobody@unknown.lab.test      undeliverable 5.1.1 user-unknown (Dovecot wording)
//	unknown-user-postfix  nobody@accept.lab.test       undeliverable 5.1.1 user-unknown (Postfix wording)
//	greylisted            alice@greylist.lab.test      deferred 4.7.1 greylisted (first try of a triplet)
//	connection-slots      alice@busy.lab.test          deferred 4.0.0 connection-limit (421 at greeting)
//	blacklisted           alice@blocked.lab.test       deferred 4.0.0 blocklisted (1&1 554 greeting)
//	mailbox-full          full@quota.lab.test          deferred 4.2.2 mailbox-full
//	mailbox-over-quota    over@quota.lab.test          undeliverable 5.2.2 mailbox-full
//	relay-denied          alice@relay.lab.test         undeliverable 5.7.1 relay-denied
//	relay-denied-qmail    alice@qmail.lab.test         undeliverable 5.0.0 relay-denied
//	unverified            paeddrigg@verify.lab.test    deferred 4.1.1 user-unknown
//	backup-mx             alice@backup.lab.test        deliverable 2.1.5 (first MX refuses connections)
//	all-mx-dead           alice@dead.lab.test          deferred 4.4.1 connection-refused
//	silent                alice@silent.lab.test        deferred 4.4.2 connection-timeout
//	null-mx               nullmx.lab.test              undeliverable 5.1.0 null-mx
//	nxdomain              nxdomain.lab.test            undeliverable 5.4.4 dns-failure
//	servfail              servfail.lab.test            deferred 4.4.3 dns-failure
//	implicit-mx           alice@implicit.lab.test      deliverable 2.1.5 (A record, no MX)
//	mx-no-address         alice@noaddr.lab.test        undeliverable 5.4.4 dns-failure
//	starttls-self-signed  alice@tls.lab.test           deliverable 2.1.5
//	tls-required          alice@tlsreq.lab.test        undeliverable 5.7.0 tls-required
//	catch-all             x7q2k9zz@catchall.lab.test   deliverable 2.1.5
//	lmtp-known            django@lmtp.lab.test         deliverable 2.1.5 (LMTP, 127.0.0.27:P)
//	lmtp-unknown          paeddrigg@lmtp.lab.test      undeliverable 5.1.1 user-unknown (LMTP)
//	lmtp-unix             django@lmtp.lab.test         deliverable 2.1.5 (LMTP, unix socket)
//	dns-truncated         alice@big.lab.test           deliverable 2.1.5 (32 MX, TCP retry)
//	cname                 alice@alias.lab.test         deliverable 2.1.5 (domain is a CNAME)
//	mx-cname              alice@mxcname.lab.test       deliverable 2.1.5 (MX target is a CNAME)
//	mx-ip-literal         alice@mxip.lab.test          deliverable 2.1.5 (MX target is an IP)
//
// Each Want.Reason is the text Postfix logs in parentheses, checked
// against Postfix's source (see the comment on scenarioTemplates for
// where each wording and dsn comes from). The DNS also serves a CNAME
// loop (loop1/loop2.lab.test), answers REFUSED outside lab.test and sets
// TC on UDP answers larger than the client's buffer. Greylisting state
// belongs to one Lab; ResetGreylist clears it.
package lab
