package report

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
)

// explainCtx carries the typed facts an explanation may branch on
// beyond the verdict: the probe's result and outcome (nil for `mailprobe
// explain`), how the failure was described, the DNS error, and for an
// explained text what was read from it.
type explainCtx struct {
	res              *probe.Result
	outcome          *probe.Outcome
	desc             described
	dns              *mx.Error
	route            *mx.Route // the route `mailprobe mx` shows, when there is no outcome
	notChecked       bool
	allConnectFailed bool
	text             *textFacts
}

// Facts, from a probe or from a text, in one place.
func (c explainCtx) phase(v *Verdict) probe.Phase {
	if v.Phase != "" {
		return v.Phase
	}
	if c.text != nil {
		return c.text.phase
	}
	return ""
}

func (c explainCtx) tlsHandshakeFailed(v *Verdict) bool {
	return c.desc.tlsHandshake || c.text != nil && c.text.phase == probe.PhaseTLS
}

func (c explainCtx) lostConnection() bool {
	return c.desc.lost || c.text != nil && c.text.lost
}

// localTLS: our own TLS policy failed (Postfix smtp_tls_security_level,
// --starttls always), not the server's requirement.
func (c explainCtx) localTLS(v *Verdict) bool {
	return c.desc.tlsLocal || v.Party == PartyLocal
}

// render writes a category's explanation: its function, or the first
// of its texts whose condition holds.
func (info categoryInfo) render(v *Verdict, c explainCtx, w words) Explanation {
	if info.explain != nil {
		return info.explain(v, c, w)
	}
	for _, t := range info.texts {
		if t.when == nil || t.when(v, c) {
			r := strings.NewReplacer("{who}", w.who, "{said}", w.said, "{reason}", v.Reason, "{rcpt}", rcptName(v), "{retry}", w.retry)
			return Explanation{What: r.Replace(t.what), Cause: r.Replace(t.cause), Next: r.Replace(t.next)}
		}
	}
	return categoryTable[CategoryOther].explain(v, c, w)
}

// words are the phrases every explanation shares.
type words struct {
	who, said, retry string
	temp             bool
}

const retryNote = "An MTA keeps the message queued and retries (Postfix for up to 5 days, maximal_queue_lifetime)."

// explain writes the what / cause / next for a verdict from the
// category's entry in categoryTable, and says who has to act. A rule's
// next step (the provider's own remedy) replaces the generic one.
func explain(v *Verdict, c explainCtx) Explanation {
	var e Explanation
	if c.notChecked {
		e = Explanation{
			What:  "This recipient was not checked: " + strings.TrimPrefix(v.Reason, "not checked: ") + ".",
			Cause: "The probe stopped before this recipient got an answer (the --deadline passed, or it was interrupted).",
			Next:  "Run the probe again, with a longer --deadline if the servers are slow.",
		}
	} else {
		w := words{who: "The server", retry: retryNote,
			temp: v.Permanence == PermanenceTemporary || v.Status == StatusDeferred && v.Permanence != PermanenceUnknown}
		if v.Relay != "" && v.Relay != "none" {
			w.who = "The server " + v.Relay
		}
		if v.Reply != nil {
			w.said = fmt.Sprintf(" (%d%s)", v.Reply.Code, enhancedSuffix(v.Reply.Enhanced))
		}
		info, ok := categoryTable[v.Category]
		if !ok {
			info = categoryTable[CategoryOther]
		}
		e = info.render(v, c, w)
		if se, ok := senderRefused(v, c, w); ok {
			e = se
			v.Party = PartyLocal
		}
	}
	e.Party = v.Party
	if e.Party == "" {
		e.Party = defaultParty(v.Category)
	}
	if v.Rule != nil && v.Rule.Next != "" {
		// The provider's remedy replaces the generic step, but not what
		// Postfix itself will do with this reply (a 5xx greeting is retried).
		e.Next = v.Rule.Next
		if v.Category == CategoryBlocklisted && c.desc.greeting5xx {
			e.Next += greeting5xxNote
		}
	}
	return e
}

func explainDeliverable(v *Verdict, c explainCtx, w words) Explanation {
	e := Explanation{
		What:  w.who + " accepted RCPT TO for " + rcptName(v) + w.said + ".",
		Cause: "The server knows this recipient, or accepts every recipient at this stage and decides later.",
		Next:  "Nothing to do. A probe stops before DATA, so a content filter can still reject the real message.",
	}
	if v.CatchAll != nil && *v.CatchAll {
		e.Cause = "The server also accepted a made-up address at the same domain: it accepts every address at RCPT (a catch-all, or accept-then-bounce), so this answer cannot tell a real mailbox from a catch-all."
		e.Next = "Confirm the mailbox another way (ask the recipient or the domain's admin); mail to a non-existent user here may be bounced later or silently land in a catch-all mailbox."
	} else if v.CatchAll != nil {
		e.Cause = "A made-up address at the same domain was rejected, so the server really checks recipients: this mailbox exists."
	}
	return e
}

func explainUserUnknown(v *Verdict, c explainCtx, w words) Explanation {
	if v.Rule != nil && v.Rule.ID == ruleUnverifiedRecipient {
		if w.temp {
			return Explanation{
				What:  w.who + " could not confirm that " + rcptName(v) + " exists: it checks each recipient against its backend mail store before accepting (Postfix reject_unverified_recipient), and that check has not succeeded yet" + w.said + ".",
				Cause: "The backend (e.g. Dovecot over LMTP, or the internal mail server) did not answer the verification probe in time or answered with a temporary error — or the check is still in progress. It can also be a user that does not exist whose negative result is not cached yet.",
				Next:  "Retry in a few minutes; an MTA does so by itself. If it persists, the receiving admin should look at the verify(8) lines in that server's maillog: they show what the backend answered.",
			}
		}
		return Explanation{
			What:  w.who + " verified " + rcptName(v) + " against its backend mail store, and the backend said the user does not exist" + w.said + ".",
			Cause: "The address is wrong or the mailbox was removed; the front server only relays its backend's answer.",
			Next:  "Check the spelling with the recipient. Retrying will not help.",
		}
	}
	if w.temp {
		return Explanation{
			What:  w.who + " could not confirm the recipient right now" + w.said + ".",
			Cause: "The server's user directory (LDAP, SQL, backend) was unavailable, so it answered with a temporary error.",
			Next:  "Retry later; " + w.retry,
		}
	}
	return Explanation{
		What:  w.who + " rejected " + rcptName(v) + ": there is no such user or mailbox" + w.said + ".",
		Cause: "A typo in the address, an account that was deleted, or an address that never existed.",
		Next:  "Check the spelling with the recipient and remove the address from your lists. Retrying will not help.",
	}
}

func explainMailboxFull(v *Verdict, c explainCtx, w words) Explanation {
	e := Explanation{
		What:  "The recipient's mailbox is full (over quota)" + w.said + ".",
		Cause: "The recipient has not cleaned up, or the mailbox quota is small.",
		Next:  "Tell the recipient by another channel to free space. " + w.retry,
	}
	if !w.temp {
		e.Next = "The server refuses permanently; tell the recipient by another channel, then send again."
	}
	return e
}

func explainBlocklisted(v *Verdict, c explainCtx, w words) Explanation {
	e := Explanation{
		What:  w.who + " refused mail from your sending IP address because it is on a blocklist" + w.said + ".",
		Cause: blocklistEvidence(c),
		Next:  "Check the address with `mailprobe blacklist IP`, remove the cause of the listing (a compromised host or script, an open relay, missing reverse DNS, a dynamic IP range), then request delisting from the list and ask the receiving provider for delisting (postmaster, or the URL in the reply). Meanwhile send through a smarthost with a clean address.",
	}
	if c.desc.greeting5xx {
		e.Next += greeting5xxNote
	}
	return e
}

// greeting5xxNote: Postfix's smtp(8) defers a 5xx greeting by default
// (smtp_skip_5xx_greeting = yes, postconf(5)), so a blocklisted greeting
// keeps the mail queued rather than bouncing it.
const greeting5xxNote = " Postfix treats a 5xx greeting as temporary (smtp_skip_5xx_greeting = yes) and keeps retrying, so mail stays queued until the block is lifted or the queue lifetime ends."

func explainNullMX(v *Verdict, c explainCtx, w words) Explanation {
	d := v.Domain
	if d == "" {
		d = "of the recipient"
	}
	return Explanation{
		What:  "The domain " + d + " publishes a null MX (RFC 7505): it states that it accepts no mail at all.",
		Cause: "The domain is used for a web site or for sending only, and its owner says so in DNS.",
		Next:  "Use another address for this recipient. Retrying will not help.",
	}
}

func explainConnectionRefused(v *Verdict, c explainCtx, w words) Explanation {
	if c.allConnectFailed {
		return port25Blocked(v, c)
	}
	if v.Party == PartyLocal {
		// Your own service: Postfix's LMTP hand-off to Dovecot, a content
		// filter on loopback, or the backend your verify(8) probe asks.
		return Explanation{
			What:  "A connection to one of your own mail services failed: " + v.Reason + ".",
			Cause: "The service (the mailbox server's LMTP socket, a content filter, the backend that recipient verification asks) is not running, or the transport points at the wrong socket path, address or port.",
			Next:  "Start the service or fix the transport (postconf -n | grep transport; check the socket exists under the queue directory, e.g. private/dovecot-lmtp). Postfix retries the deferred mail by itself once the service answers.",
		}
	}
	return Explanation{
		What:  "The connection was refused: " + v.Reason + ".",
		Cause: "No mail server is listening on that address and port (down, restarting, wrong port), or a firewall rejects the connection.",
		Next:  "An MTA tries the other MX hosts and retries later. Check the port (--port) and ask the domain's admin whether the mail server is running.",
	}
}

func explainConnectionTimeout(v *Verdict, c explainCtx, w words) Explanation {
	if c.allConnectFailed {
		return port25Blocked(v, c)
	}
	if c.phase(v) == probe.PhaseConnect {
		return Explanation{
			What:  "No answer to the connection: " + v.Reason + ".",
			Cause: "The host is down or a firewall silently drops the packets.",
			Next:  "An MTA tries the other MX hosts and retries later. If every MX times out, suspect your own network blocking outbound port 25.",
		}
	}
	return Explanation{
		What:  "The server accepted the connection, then stopped answering: " + v.Reason + ".",
		Cause: "An overloaded server, deliberate tarpitting of suspected spam senders, or a firewall or SMTP inspection box in between.",
		Next:  "The MTA retries later. Probe again with a longer --timeout; if it always stalls at the same step, ask the receiving admin.",
	}
}

func explainProtocolError(v *Verdict, c explainCtx, w words) Explanation {
	if looksLMTP(c) {
		return explainLMTPAsSMTP(v, w)
	}
	if c.tlsHandshakeFailed(v) {
		return Explanation{
			What:  "The TLS handshake after STARTTLS failed: " + v.Reason + ".",
			Cause: "No protocol version or cipher in common, a broken certificate chain, or a middlebox that interferes with TLS.",
			Next:  "Postfix at the default level (may) retries in clear text; check the server's TLS configuration (e.g. `openssl s_client -starttls smtp`).",
		}
	}
	if v.Party == PartySender {
		return Explanation{
			What:  w.who + " refused a command of this session as beyond its limits or out of order" + w.said + ".",
			Cause: "The session sent more recipients than one transaction may carry (RFC 5321 §4.5.3.1.8: the MTA sends the rest in another transaction), or made too many errors (Postfix smtpd_hard_error_limit), or sent commands the server did not expect.",
			Next:  "Nothing is wrong with the address: an MTA splits the recipients over transactions by itself. If the sender is your own software, make it follow the server's replies (and lower smtp_destination_recipient_limit if needed).",
		}
	}
	return Explanation{
		What:  w.who + " did not follow the SMTP protocol: " + v.Reason + ".",
		Cause: "A broken or non-SMTP service on the port, a firewall or proxy mangling the dialogue, or a server that dislikes a command of this session.",
		Next:  "Look at the dialogue with --transcript; tell the receiving admin if the server is at fault.",
	}
}

func explainServerError(v *Verdict, c explainCtx, w words) Explanation {
	what := w.who + " reported a problem on its side" + w.said + "."
	if w.temp {
		what = w.who + " reported a temporary problem on its side" + w.said + "."
	}
	if c.lostConnection() {
		what = "The server closed the connection unexpectedly: " + v.Reason + "."
	}
	return Explanation{
		What:  what,
		Cause: "A local problem of the receiving server (disk, backend, configuration, restart), or an anti-spam measure that drops suspected senders.",
		Next:  "The MTA retries later. If it persists for hours, contact the postmaster of the domain.",
	}
}

func explainOther(v *Verdict, c explainCtx, w words) Explanation {
	if v.Party == PartyLocal {
		return Explanation{
			What:  "Your own mail system stopped this delivery: " + v.Reason + ".",
			Cause: "A local configuration problem: the destination resolves to this very host (a mail loop: the MX points here but the domain is not listed in mydestination/virtual domains), or the relayhost cannot be found.",
			Next:  "Check mydestination, virtual_mailbox_domains, relay_domains and relayhost in your Postfix configuration (or the MX records, if they point at you by mistake).",
		}
	}
	if c.text != nil && v.Rule == nil {
		read := kindNames[c.text.kind]
		what := "mailprobe read " + read
		if v.Reply != nil {
			what += fmt.Sprintf(" with a %d%s reply", v.Reply.Code, enhancedSuffix(v.Reply.Enhanced))
		} else if c.text.dsn != "" || v.DSN != "" {
			what += " with status code " + firstNonEmpty(c.text.dsn, v.DSN)
		}
		what += ", but its words match no known cause: " + strings.TrimRight(clipText(firstNonEmpty(v.Reason, c.text.text), 200), ". ") + "."
		e := Explanation{
			What:  what,
			Cause: "The text states no cause mailprobe knows; the code alone says " + permWords(v.Permanence) + ".",
			Next:  "Read the text for a URL or a code and look it up, or ask the postmaster of the domain. If this wording is common, contribute a rule (README: Classifier rules).",
		}
		return e
	}
	e := Explanation{
		What:  w.who + " refused: " + v.Reason + ".",
		Cause: "The reply does not match a known pattern; the server's own text is the best guide.",
		Next:  "Read the reply text; if it names a URL or a code, look it up, or ask the postmaster of the domain.",
	}
	if w.temp {
		e.Next += " " + w.retry
	}
	return e
}

func permWords(p Permanence) string {
	switch p {
	case PermanencePermanent:
		return "the failure is permanent: retrying will not help"
	case PermanenceTemporary:
		return "the failure is temporary: an MTA retries"
	case PermanenceSuccess:
		return "it succeeded"
	}
	return "nothing about whether retrying helps"
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// rcptName is "<a@b>", or "the recipient" when the address is unknown
// (explaining a bare reply).
func rcptName(v *Verdict) string {
	if v.Recipient == "" {
		return "the recipient"
	}
	return "<" + v.Recipient + ">"
}

func enhancedSuffix(enh string) string {
	if enh == "" {
		return ""
	}
	return " " + enh
}

// port25Blocked explains every connection failing with a timeout or an
// unreachable network on port 25.
func port25Blocked(v *Verdict, c explainCtx) Explanation {
	n := 0
	if c.outcome != nil && c.outcome.Domain != nil {
		for _, a := range c.outcome.Domain.Attempts {
			if a.Skipped == "" {
				n++
			}
		}
	}
	what := "Every connection to port 25 failed without an answer: " + v.Reason + "."
	if n > 1 {
		what = fmt.Sprintf("All %d connection attempts to the MX hosts on port 25 failed without an answer; the last: %s.", n, v.Reason)
	}
	return Explanation{
		What:  what,
		Cause: "When every MX host is unreachable on port 25, the likely cause is on your side: outbound port 25 is probably blocked by the local network or cloud provider (most cloud providers and many ISPs block it by default).",
		Next:  "Probe from another network to confirm, ask the provider to unblock outbound port 25, or send through a smarthost (relayhost) on port 587.",
	}
}

func explainDNS(v *Verdict, c explainCtx, _ words) Explanation {
	e := c.dns
	if hosts := failedMXHosts(c.mxRoute()); len(hosts) > 0 && v.Permanence != PermanenceTemporary {
		// The domain's MX lookup worked; its MX hosts' lookups did not.
		// That is the domain's admin's problem, not a typo in the
		// recipient's domain.
		return Explanation{
			What:  "The domain " + v.Domain + " exists and has MX records, but " + strings.Join(hosts, "; ") + ", so there is nowhere to connect: " + v.Reason + ".",
			Cause: "The MX records name hosts that do not exist or have no A/AAAA records (a typo in the MX target, a removed or renamed host, or an IP address written as MX target).",
			Next:  "The domain's admin must point the MX records at host names that have A/AAAA records (`dig A` / `dig AAAA` on the MX host shows the gap). Retrying will not help until then.",
		}
	}
	switch {
	case e != nil && (errors.Is(e, mx.ErrNoHostAddress) || errors.Is(e, mx.ErrMXIsIP) || c.outcome != nil && c.outcome.Err != nil && errors.Is(c.outcome.Err, mx.ErrNoAddress)):
		return Explanation{
			What:  "None of the domain's MX hosts has a usable address: " + v.Reason + ".",
			Cause: "The MX records name hosts that have no A/AAAA records (a typo in the MX target, a removed host, or an IP address written as MX target).",
			Next:  "The domain's admin must point the MX records at existing host names (`dig MX " + v.Domain + "`, then `dig A` on each host).",
		}
	case v.Permanence == PermanenceTemporary:
		return Explanation{
			What:  "The DNS lookup failed temporarily: " + v.Reason + ".",
			Cause: "The domain's name servers did not answer properly (SERVFAIL, timeout), or your resolver is failing or refusing queries.",
			Next:  "Retry later; test with `dig MX " + v.Domain + "` against your resolver (--resolver) and against another one to see which side is broken.",
		}
	case e != nil && errors.Is(e, mx.ErrNoData), c.text != nil && c.text.noData:
		return Explanation{
			What:  "The domain exists but has neither MX nor address records, so there is nowhere to deliver: " + v.Reason + ".",
			Cause: "The domain is not set up for mail (or not at all).",
			Next:  "Check the address with the recipient; the domain's admin must publish MX records. Retrying will not help.",
		}
	}
	return Explanation{
		What:  "The domain " + v.Domain + " does not exist in DNS: " + v.Reason + ".",
		Cause: "A typo in the domain, or a registration that expired.",
		Next:  "Check the spelling of the domain with the recipient. Retrying will not help.",
	}
}

// mxRoute is the route the explanation is about: the one `mailprobe mx`
// rendered, or the probed domain's.
func (c explainCtx) mxRoute() *mx.Route {
	if c.route != nil {
		return c.route
	}
	if c.outcome != nil && c.outcome.Domain != nil {
		return c.outcome.Domain.Route
	}
	return nil
}

// failedMXHosts describes each MX host of a route whose MX lookup
// succeeded but none of whose hosts has an address, one phrase per host
// ("its MX host mx1.example.org does not exist"). It is empty when the
// route has a usable host or failed as a whole (NXDOMAIN for the domain,
// null MX, SERVFAIL).
func failedMXHosts(rt *mx.Route) []string {
	if rt == nil || rt.Err == nil || !errors.Is(rt.Err, mx.ErrNoAddress) || rt.Implicit {
		return nil
	}
	var out []string
	for _, h := range rt.Hosts {
		switch {
		case h.Err == nil:
			return nil // a host with addresses: not this case
		case errors.Is(h.Err, mx.ErrNXDomain):
			out = append(out, "its MX host "+h.Name+" does not exist")
		case errors.Is(h.Err, mx.ErrNoHostAddress):
			out = append(out, "its MX host "+h.Name+" has no A/AAAA records")
		case errors.Is(h.Err, mx.ErrMXIsIP):
			out = append(out, "its MX target "+h.Name+" is an IP address of an excluded family")
		default:
			return nil // a temporary failure: the DNS explanation applies
		}
	}
	return out
}

// blocklistEvidence cites the DNSBL answers about the address(es) the
// server saw: the local addresses the probe used, --public-ip, and any
// address the refusal itself names. Only lists that answered "not listed"
// count as clean; a list that could not be asked (REFUSED, SERVFAIL,
// timeout, an error code such as 127.255.255.254) is no evidence either
// way. A list the refusal names ("blocked using ZONE") is cited first.
func blocklistEvidence(c explainCtx) string {
	base := "The receiving provider checks the connecting IP against DNS blocklists (DNSBLs) or its own list."
	if c.res == nil {
		return base
	}
	named := c.res.DNSBLNamed
	namedNote := ""
	if len(named) > 0 {
		namedNote = " The reply names " + strings.Join(named, ", ") + "."
	}
	if c.res.DNSBL == nil {
		return base + namedNote + " The DNSBLs were not checked in this run (use --dnsbl always to see where the address is listed)."
	}
	ours := localAddresses(c.res)
	for _, a := range c.res.ServerSaw {
		ours[a] = true
	}
	var listed []string
	clean, unknown := map[string]bool{}, map[string]bool{}
	var unknownWhy []string
	addrs := map[string]bool{}
	perNamed := map[string][]string{}
	notPublic := map[string]bool{}
	for _, r := range c.res.DNSBL {
		if len(ours) > 0 && !ours[r.Address] && !ours[r.Target] {
			continue
		}
		if errors.Is(r.Err, blacklist.ErrNotPublic) {
			// Not asked, on purpose (blacklist/scope.go): no evidence,
			// and not a failure of the lists either.
			notPublic[r.Address] = true
			continue
		}
		addrs[r.Address] = true
		isNamed := slices.Contains(named, r.List)
		switch r.Status {
		case blacklist.Listed:
			s := fmt.Sprintf("%s lists %s", r.List, r.Address)
			if len(r.Codes) > 0 {
				s += " (" + strings.Join(r.Codes, ", ")
				if len(r.Meanings) > 0 {
					s += ": " + strings.Join(r.Meanings, "; ")
				}
				s += ")"
			}
			if r.Reason != "" {
				s += " — " + r.Reason
			}
			listed = append(listed, s)
		case blacklist.Clean:
			clean[r.List] = true
			if isNamed {
				perNamed[r.List] = append(perNamed[r.List], "does not list "+r.Address+" now (the listing may have expired since, or the server keeps its own copy of the list)")
			}
		default:
			unknown[r.List] = true
			why := r.Error
			if why == "" {
				why = "no usable answer"
			}
			unknownWhy = append(unknownWhy, r.List+": "+why)
			if isNamed {
				perNamed[r.List] = append(perNamed[r.List], "could not be asked about "+r.Address+" ("+why+")")
			}
		}
	}
	a := strings.Join(keys(addrs), ", ")
	note := ""
	switch {
	case len(c.res.ServerSaw) > 0:
		// The server said which address it saw: that address was
		// checked, and no guess about NAT is needed.
		if saw := strings.Join(c.res.ServerSaw, ", "); !sameSet(c.res.ServerSaw, localAddresses(c.res)) {
			note = " The reply says the server saw " + saw + "; that address was checked."
		}
	case c.res.LocalPrivate && c.res.PublicIP == "":
		note = " Note: the local address is private, so the address the server saw may differ; pass --public-ip to check that one."
	}
	if len(listed) > 0 {
		return "Listed: " + strings.Join(listed, "; ") + "." + namedEvidence(named, perNamed) + note
	}
	if len(addrs) == 0 && len(notPublic) > 0 {
		// A private or loopback address: the server saw the public
		// address of the NAT or gateway in front of this host.
		what := "not public Internet addresses"
		if len(notPublic) == 1 {
			what = "not a public Internet address"
		}
		s := base + namedNote + " The public lists were not asked about " + strings.Join(keys(notPublic), ", ") +
			": " + what + " (loopback, private or reserved), which no public list lists."
		if len(c.res.ServerSaw) > 0 {
			return s + " The reply says the server saw " + strings.Join(c.res.ServerSaw, ", ") +
				", so it is on your own network and its block comes from its own or a local list."
		}
		return s + " The server saw the address your NAT or gateway sends from; pass --public-ip ADDR to check that one."
	}
	if len(addrs) == 0 {
		return base + namedNote + " None of the DNSBL answers concern the address this probe sent from." + note
	}
	nClean, nUnknown := 0, 0
	for l := range clean {
		if !unknown[l] {
			nClean++
		}
	}
	nUnknown = len(unknown)
	var b strings.Builder
	switch {
	case nClean == 0:
		fmt.Fprintf(&b, "No list could be asked about %s (%s): the blocklist evidence is missing, which is not the same as clean. Check the lists from a resolver that may query them (`mailprobe blacklist --resolver …`).",
			a, strings.Join(unknownWhy, "; "))
	case nUnknown > 0:
		fmt.Fprintf(&b, "%s answered that %s is not listed; %s could not be asked (%s), so they say nothing either way.",
			plural(nClean, "list"), a, plural(nUnknown, "list"), strings.Join(unknownWhy, "; "))
	case len(named) > 0:
		fmt.Fprintf(&b, "None of the %d checked lists has %s.", nClean, a)
	default:
		fmt.Fprintf(&b, "None of the %d checked lists has %s, so the block is most likely the provider's own list.", nClean, a)
	}
	b.WriteString(namedEvidence(named, perNamed))
	return b.String() + note
}

// namedEvidence says what each list the refusal named answered.
func namedEvidence(named []string, per map[string][]string) string {
	var parts []string
	for _, z := range named {
		if ans := per[z]; len(ans) > 0 {
			parts = append(parts, z+" "+strings.Join(ans, ", "))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " Named in the reply: " + strings.Join(parts, "; ") + "."
}

func sameSet(a []string, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !b[x] {
			return false
		}
	}
	return true
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// localAddresses is the set of addresses the probe sent from: each
// connection's local IP and --public-ip.
func localAddresses(res *probe.Result) map[string]bool {
	out := map[string]bool{}
	if res.PublicIP != "" {
		out[res.PublicIP] = true
	}
	for _, d := range res.Domains {
		for _, a := range d.Attempts {
			if a.Local == "" {
				continue
			}
			h := a.Local
			if host, _, err := net.SplitHostPort(a.Local); err == nil {
				h = host
			}
			if ip, err := netip.ParseAddr(h); err == nil {
				out[ip.Unmap().String()] = true
			}
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
