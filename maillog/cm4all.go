package maillog

import "strings"

// The hosting platform's outbound milter logs one verdict per message on
// Postfix's queue id (seed 000, the provider's maillog help page):
//
//	cm4all_milter: A6B12241F2: Script: /test/test.php, IP: …, Result: Buckets: 8.400000 ACCEPTED
//	cm4all_milter: 9865B22BEA: Script: /test/mail.php, IP: …, Result: ON HOLD
//	cm4all_milter: 41EA42460C: Script: /schoeller/versand.php, IP: …, Result: LIMIT EXCEEDED
//
// ON HOLD stops the message until the provider has checked it by hand;
// LIMIT EXCEEDED stops it because the sending limit was reached. Either
// way the message never reaches a delivery agent, so the verdict is its
// outcome.
func parseCm4all(fr *Frame, ev *Event) (ok, unreadable bool) {
	ev.MTA = MTACm4all
	ev.Time = fr.Time
	ev.Host = fr.Host
	// the milter speaks about Postfix's queue
	ev.Instance = "postfix"
	id, rest, hasID := queueID(fr.Msg)
	if !hasID {
		return true, false
	}
	ev.ID = id
	i := strings.LastIndex(rest, "Result: ")
	if i < 0 {
		return false, true
	}
	verdict := strings.TrimSpace(rest[i+len("Result: "):])
	switch {
	case strings.HasSuffix(verdict, "ON HOLD"), strings.HasSuffix(verdict, "LIMIT EXCEEDED"):
		ev.Kind = EventHeld
		ev.Status = "held"
		ev.Reason = "cm4all_milter: " + verdict
		if s := strings.Index(rest, "Script: "); s >= 0 {
			script := rest[s+len("Script: "):]
			if c := strings.IndexByte(script, ','); c >= 0 {
				script = script[:c]
			}
			ev.Reason += " (script " + script + ")"
		}
	default:
		ev.Kind = EventVerdict
		ev.Reason = verdict
	}
	return true, false
}
