// Package report turns the facts a probe gathered into verdicts an admin
// already knows how to read: for every recipient the status line Postfix's
// smtp(8)/lmtp(8) client would log (to=, relay=, delay=, delays=, dsn=,
// status=), worded as Postfix words it, then a plain-language explanation.
//
// The mechanism has three layers. Classify maps one server reply (code,
// RFC 3463 enhanced code, text) to a Category from a fixed vocabulary and a
// Permanence; it is the only classifier, shared by probe output, `mailprobe
// explain` and maillog reading (ParsePostfixLine). Judge takes one
// probe.Outcome and rebuilds what Postfix would have logged for it: the
// reason text from the same format strings Postfix uses (smtp_proto.c,
// smtp_connect.c, smtp_trouble.c, dns_lookup.c — cited where used), the
// dsn Postfix would derive, the relay in its host[addr]:port form and the
// delays rounded by the same rules as log_adhoc.c/format_tv.c. Renderers
// (Text, JSON, Postfix, MXText, MXJSON) only format verdicts; JSON follows
// one versioned schema declared in schema.go.
//
// One deliberate difference from Postfix: its verify(8) daemon logs
// status=undeliverable for temporary failures too and leaves the
// difference to the dsn. mailprobe says status=deferred for a temporary
// failure, as Postfix's delivery agents do, so the status word alone tells
// an admin whether retrying can help.
package report
