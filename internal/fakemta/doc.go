// Package fakemta is the one fake MTA of mailprobe's tests and lab: SMTP
// and LMTP servers on loopback that behave exactly as a test needs.
//
// One connection engine serves every raw server: it listens on
// 127.0.0.1, numbers the connections from 1, drains each connection all
// the time through a pump that records every line the client sends (a
// line is recorded even while the server sleeps or floods; lines and
// counts are bounded), runs TLS with a generated certificate, and ends
// every connection on Close, so a test never waits on a server. It is
// programmed two ways:
//
//   - text scripts (ParseScript; the hostile servers shipped in
//     testdata/scripts, embedded, LoadScript and StartScript), run by
//     ScriptServer, also over net.Pipe (PipeScript); StartCanned plays
//     golden transcripts the same way;
//   - Go hooks (Server): RCPT answers by connection and recipient number,
//     per-transaction and per-session limits, Postfix's
//     smtpd_hard_error_limit, greetings by connection, a RCPT that waits.
//
// Well-behaved servers are go-smtp's (the design card: go-smtp serves
// well-behaved tests): StartSMTP serves one, with a recipient callback,
// behind a TapListener, which records below go-smtp and terminates
// STARTTLS itself so the recorder stays on the plaintext side; the lab
// builds its scenario hosts on the same TapListener. NewCert makes the
// certificates, Client is the raw client tests drive these servers with,
// ServeShipped and ServeText serve a script for one test.
//
// fakemta imports neither probe nor lab (probe's own tests import it),
// nor package testing (TB stands in): the lab, and so the command, links
// it.
package fakemta
