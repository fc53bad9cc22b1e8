// Package probe gathers facts about whether servers would accept mail for
// recipients. It resolves routes through package mx, dials hosts in the
// order an MTA would (MX preference, then each address, within Postfix's
// smtp_mx_address_limit and smtp_mx_session_limit), runs the dialogue up to
// RCPT TO and ends every session with RSET and QUIT. It judges nothing:
// package report turns a Result into statuses, categories and Postfix-style
// lines.
//
// The client side is our own strict wire client rather than go-smtp's
// client, because a diagnostic tool must show what go-smtp's client hides:
// the greeting banner, the text of success replies, the EHLO name used
// before STARTTLS and the phase in which something failed. It must also
// pipeline (RFC 2920) so that one recipient costs one round trip after
// EHLO, and it must never take a partial line as a reply when a deadline
// fires mid-line. The client can only send a fixed set of verbs — EHLO,
// HELO, LHLO, STARTTLS, MAIL, RCPT, RSET, QUIT — so no code path can write
// DATA, BDAT or a message body; a probe can never deliver a message.
//
// Replies are read with limits (RFC 5321 §4.5.3.1.5 line lengths, a cap
// on lines per reply), each reply under a per-phase deadline and the whole
// run under an overall one, and every line is neutralised as it is read so
// that a server's terminal escape sequences never reach a user's terminal.
// A 421 reply is taken as the server closing the channel (RFC 5321 §3.8).
package probe
