// Package maillog reads mail logs and Postfix's queue and answers the
// question an administrator brings to them: which mail is deferred or
// bounced, for which domains, why, and what to do about it.
//
// Reading happens in three layers, each in its own files:
//
//   - Framing (frame.go, timestamp.go) splits one line into its time
//     stamp, host, program and message. Formats are detected per line, so
//     one stream may mix them: syslog RFC 3164 (with localized month
//     names and the zero-padded day of Postfix's maillog_file and
//     journalctl's short format), RFC 3339 / ISO 8601 stamps (rsyslog,
//     journalctl short-iso), docker-compose service prefixes, the hosting
//     format with an access-log style stamp, daemontools' multilog TAI64N
//     labels, tai64nlocal and epoch stamps, and Exim's own mainlog stamp.
//     Framing looks at fixed positions and separators; there is no regular
//     expression per line.
//   - Parsing (postfix.go, qmail.go, exim.go, sendmail.go, dovecot.go,
//     cm4all.go) turns one MTA's message into an Event: a message was
//     received, a recipient was tried (with its status, dsn, relay and
//     reason), a message was removed, expired, held or handed to a content
//     filter under a new id.
//   - Tracking (tracker.go) follows each message by its queue id and
//     decides per (message, recipient) the final status in the MTA's own
//     words, the number of attempts, first and last seen, and the reason;
//     classification (classify.go) asks package report — the classifier
//     that probe and explain use — once per distinct reply text.
//     Aggregation (group.go) groups the outcomes by recipient domain and
//     category, and render.go prints them.
//
// Memory is bounded by the number of open messages, not by the size of
// the log: a message is forgotten once it is finished, and messages that
// never finish are evicted after a bound (Options.MaxOpen) and reported
// as open.
package maillog
