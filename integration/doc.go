// Package integration holds mailprobe's tests against real mail servers: Postfix, Dovecot
// LMTP, nsd, rbldnsd and dnsmasq running on 127.0.2.x, started by scripts/servers-up from
// the configuration in testdata/integration (scripts/test-all installs and starts them, then
// runs the suite with MAILPROBE_INTEGRATION=1). The tests build the mailprobe binary and run
// it the way an admin would, then hold its verdict next to what a second Postfix instance
// logs when it verifies the same recipient from the same source address (`sendmail -bv`):
// relay, dsn and reason must be Postfix's own, and the status too except that mailprobe says
// deferred where Postfix's verify says undeliverable with a 4.x.x dsn (RFC 3463: class 4 is
// persistent transient). They also read the receiving Postfix's `disconnect from … commands=`
// lines to prove that no session carried DATA or BDAT, compare outcomes with swaks
// --quit-after RCPT, and probe Dovecot's LMTP (RFC 2033) directly over TCP and a unix socket.
// Without the servers the tests skip, unless MAILPROBE_INTEGRATION=1 makes them mandatory.
package integration
