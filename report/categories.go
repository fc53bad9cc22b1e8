package report

import "strings"

// categoryInfo is everything report knows about one category in one
// place: who usually has to act, and how to explain it.
type categoryInfo struct {
	// party is who has to act when no rule says otherwise.
	party Party
	// texts are the explanation as data: the first variant whose
	// condition holds (or that has none) is used.
	texts []variant
	// explain, when set, writes the explanation instead: for the
	// categories whose sentences are computed (DNSBL evidence, DNS error
	// kinds, catch-all results, what was read).
	explain func(v *Verdict, c explainCtx, w words) Explanation
}

// variant is one explanation of a category. The texts may name
// {who} ("The server H[A]:P"), {said} (" (550 5.1.1)"), {reason} (the
// Postfix reason), {rcpt} ("<a@b>") and {retry} (what an MTA does with a
// temporary failure). when branches on typed facts only.
type variant struct {
	when              func(v *Verdict, c explainCtx) bool
	what, cause, next string
}

// byParty: the variant for verdicts whose party is p.
func byParty(p Party) func(v *Verdict, c explainCtx) bool {
	return func(v *Verdict, _ explainCtx) bool { return v.Party == p }
}

// noReply: the text is a delivery line whose reason is not a reply.
func noReply(_ *Verdict, c explainCtx) bool { return c.text != nil && c.text.reply == nil }

// discarded: a delivery line from Postfix's discard(8), whose reason is
// the nexthop text of the discard: transport (discard.c) and whose relay
// is none — the delivery agents that deliver (local, virtual, pipe,
// lmtp) name themselves or the host as relay.
func discarded(v *Verdict, c explainCtx) bool {
	return noReply(v, c) && (strings.HasSuffix(c.text.program, "/discard") || c.text.relay == "none" && c.text.status == "sent" ||
		strings.Contains(strings.ToLower(c.text.reason), "discard"))
}

func localTLS(v *Verdict, c explainCtx) bool { return c.localTLS(v) }

// explanationTexts are the categories explained by data alone.
var explanationTexts = map[Category][]variant{
	CategoryDelivered: {
		// A status=sent whose reason is no reply: a delivery agent of the
		// logging host finished the job itself — discard(8) logs the
		// nexthop text as its reason, local(8)/virtual(8)/pipe(8) and
		// Dovecot's LDA/LMTP say where the message went — so no
		// receiving server said anything after DATA.
		{when: discarded, what: "Postfix discarded the message on purpose and logged it as sent: {reason}.",
			cause: "A discard transport (transport_maps, a DISCARD action of an access, header or body check) threw the message away: nothing was delivered, and Postfix reports that as success.",
			next:  "If the recipient should get this mail, find the rule that sends it to discard (postconf -n | grep -i discard; transport_maps; header_checks) and change it."},
		{when: noReply, what: "The message was delivered by this host's own delivery agent: {reason}.",
			cause: "Nothing went wrong: the local, virtual, pipe, LMTP or LDA delivery finished and Postfix logged it as sent.",
			next:  "Nothing to do here. If the recipient did not get it, look at the mailbox side (filters such as Sieve, the spam folder)."},
		{what: "The message was delivered: the receiving server accepted it after DATA{said}.",
			cause: "Nothing went wrong on this hop.",
			next:  "Nothing to do here. If the recipient did not get it, look at the receiving side (spam folder, filters, later hops)."},
	},
	CategoryMailboxDisabled: {
		{what: "The mailbox {rcpt} exists but is disabled or inactive{said}.",
			cause: "The account was deactivated: the person left, the account was unused for a long time, or it was suspended.",
			next:  "Use another address for this person. Retrying will not help."},
	},
	CategoryRelayDenied: {
		{what: "{who} refused to relay: it does not consider itself a destination for this domain and will not forward mail for you{said}.",
			cause: "You are talking to the wrong server (stale MX records, or --server pointing elsewhere), the server does not yet list the domain as one of its own (relay_domains, virtual domains, qmail's rcpthosts), or it relays only for authenticated users.",
			next:  "Check that the domain's MX records point at this server and that the server lists the domain; to submit mail through it, use port 587 with authentication."},
	},
	CategoryReputation: {
		{what: "{who} does not trust mail from your IP address or domain (low reputation){said}.",
			cause: "Spam complaints, a sudden volume increase, a new IP with no history, or missing authentication (SPF, DKIM, DMARC, reverse DNS).",
			next:  "Check volume and complaint rates, set up SPF, DKIM, DMARC and reverse DNS, use the provider's postmaster tools (Google Postmaster Tools, Microsoft SNDS) and delisting forms, and warm up new IPs slowly."},
	},
	CategoryGreylisted: {
		{what: "{who} greylisted the attempt: it refuses the first try from an unknown sender, IP and recipient{said}.",
			cause: "Greylisting, an anti-spam measure: real MTAs retry, much spam software does not.",
			next:  "Nothing to do: an MTA retries after a few minutes and is then accepted. Probe again in 5–15 minutes to see the server's real answer."},
	},
	CategoryRateLimited: {
		{when: byParty(PartyLocal), what: "Your own provider, relay or account stopped the message: its sending limit is reached: {reason}.",
			cause: "Your hosting provider, smarthost or mail account allows only so many messages or recipients per hour or day, and this sender went beyond it.",
			next:  "Send fewer messages or spread them over time, or ask the provider about the limit; the message is sent once the limit allows, or has to be sent again."},
		{what: "{who} is limiting how fast you may send{said}.",
			cause: "Too many messages or recipients in a short time from your IP or domain, or the recipient is receiving too much mail.",
			next:  "Slow down (Postfix: smtp_destination_rate_delay, smtp_destination_recipient_limit). {retry}"},
	},
	CategoryPolicy: {
		{what: "{who} rejected the mail under its sender policy (SPF, DKIM, DMARC, or a rule about your envelope sender){said}.",
			cause: "The sending IP is not allowed by the sender domain's SPF record, or the mail is not DKIM-signed in alignment with the From: domain and that domain's DMARC policy says reject, or the server refuses this sender address. At RCPT this concerns the envelope sender (--from) and your IP.",
			next:  "Publish an SPF record that includes this host, sign with DKIM, align the From: domain, and probe with the sender you really use (--from)."},
	},
	CategoryReverseDNS: {
		{what: "{who} rejected you because your sending host's DNS identity does not check out (no reverse DNS / PTR record, or a HELO name that does not resolve){said}.",
			cause: "The sending IP has no PTR record, or the PTR name does not resolve back to the IP, or the EHLO name is not a resolvable fully-qualified name.",
			next:  "Ask your ISP or hosting provider to set a PTR record for the sending IP to a name that resolves back to it, and use that name as EHLO (--helo, Postfix smtp_helo_name)."},
	},
	CategoryMessageSize: {
		{what: "{who} refused the message as too large{said}.",
			cause: "The message exceeds the server's size limit (advertised with the EHLO SIZE keyword).",
			next:  "Send a smaller message (a link instead of the attachment). A probe sends no message, so at RCPT this reflects the SIZE= the sender announced."},
	},
	CategoryContentSpam: {
		{when: byParty(PartyLocal), what: "Your own provider's outbound filter stopped the message as suspected spam: {reason}.",
			cause: "Outgoing mail is checked for spam and unusual volume (many equal messages from one site or script at once); a suspicious sender is held until the provider has checked it.",
			next:  "Find the script or account that sent the mail and make sure it cannot be abused (a contact form, a shop), then ask the provider to release the outgoing mail."},
		{what: "{who} rejected the mail as spam or dangerous content{said}.",
			cause: "A content filter scored the message as spam, virus or phishing. Before DATA (as in a probe) such a verdict rests on the sender, IP or earlier mail from them.",
			next:  "Check the message content and links, the sending IP's blocklist status and authentication (SPF, DKIM, DMARC); ask the receiving postmaster if you think it is a false positive."},
	},
	CategoryConnectionLimit: {
		{when: byParty(PartySender), what: "{who} refused the session because your IP has too many connections open to it{said}.",
			cause: "Your MTA (or other hosts behind the same address) opened more parallel connections than the server allows per client (Postfix smtpd_client_connection_count_limit, Exim smtp_accept_max_per_host).",
			next:  "Lower your concurrency towards this destination (Postfix smtp_destination_concurrency_limit); the MTA retries later."},
		{what: "{who} refused the session because it has too many connections open (out of connection slots){said}.",
			cause: "A temporary overload of the receiving server, or too many parallel connections from your IP.",
			next:  "Nothing is wrong with the address: the MTA retries later. If it persists, lower your concurrency towards this destination (smtp_destination_concurrency_limit)."},
	},
	CategoryTLSRequired: {
		{when: localTLS, what: "Your own TLS policy required TLS here (Postfix smtp_tls_security_level = encrypt/verify, or --starttls always) and it could not be used: {reason}.",
			cause: "The server does not offer STARTTLS, refused it, or its certificate does not verify for the MX name.",
			next:  "Check the server's TLS set-up (certificate chain, name, expiry), or relax your policy for this destination (smtp_tls_policy_maps). Probe with --starttls auto to see how an MTA at the default opportunistic level fares."},
		{what: "{who} requires TLS before it accepts mail (\"Must issue a STARTTLS command first\"){said}.",
			cause: "The server enforces encryption, and this session did not use STARTTLS (--starttls never, or STARTTLS failed).",
			next:  "Probe with --starttls auto or always; Postfix needs smtp_tls_security_level = may (or stronger) to reach this server."},
	},
	CategoryAuthRequired: {
		{when: byParty(PartyLocal), what: "Authentication to your relay failed: {reason}.",
			cause: "The credentials your MTA uses for its relayhost (smtp_sasl_password_maps) are wrong, expired or not accepted for this mechanism.",
			next:  "Check the relay credentials and the mechanisms the relay offers (smtp_sasl_mechanism_filter); the MTA keeps the mail queued meanwhile."},
		{what: "{who} requires authentication (SMTP AUTH) before it takes mail{said}.",
			cause: "This is a submission or relay server, not an MX that accepts mail for the domain from anyone — or the sender domain is one the server only accepts from logged-in users.",
			next:  "Probe the domain's MX hosts instead of this server; to send through it, use port 587 with credentials (mailprobe does not authenticate)."},
	},
}

// categoryTable has one entry per Category; TestCategoryTable fails when
// a category in Categories has none.
var categoryTable map[Category]categoryInfo

// The table refers to explain functions that read it (for the party),
// so it is filled in init rather than in its declaration.
func init() {
	categoryTable = map[Category]categoryInfo{
		CategoryDelivered:         {party: PartyRecipient},
		CategoryDeliverable:       {party: PartyRecipient, explain: explainDeliverable},
		CategoryUserUnknown:       {party: PartyRecipient, explain: explainUserUnknown},
		CategoryMailboxFull:       {party: PartyRecipient, explain: explainMailboxFull},
		CategoryMailboxDisabled:   {party: PartyRecipient},
		CategoryRelayDenied:       {party: PartySender},
		CategoryBlocklisted:       {party: PartySender, explain: explainBlocklisted},
		CategoryReputation:        {party: PartySender},
		CategoryGreylisted:        {party: PartySender},
		CategoryRateLimited:       {party: PartySender},
		CategoryConnectionLimit:   {party: PartySender},
		CategoryPolicy:            {party: PartySender},
		CategoryReverseDNS:        {party: PartySender},
		CategoryTLSRequired:       {party: PartySender},
		CategoryAuthRequired:      {party: PartySender},
		CategoryMessageSize:       {party: PartySender},
		CategoryContentSpam:       {party: PartySender},
		CategoryDNSFailure:        {party: PartyRecipient, explain: explainDNS},
		CategoryNullMX:            {party: PartyRecipient, explain: explainNullMX},
		CategoryConnectionRefused: {party: PartyRecipient, explain: explainConnectionRefused},
		CategoryConnectionTimeout: {party: PartyRecipient, explain: explainConnectionTimeout},
		CategoryProtocolError:     {party: PartyLocal, explain: explainProtocolError},
		CategoryServerError:       {party: PartyRecipient, explain: explainServerError},
		CategoryOther:             {party: PartySender, explain: explainOther},
	}
	for c, vs := range explanationTexts {
		info := categoryTable[c]
		info.texts = vs
		categoryTable[c] = info
	}
}

// recipientSide: categories about the recipient's mailbox or domain,
// whoever logged them.
func recipientSide(c Category) bool {
	switch c {
	case CategoryUserUnknown, CategoryMailboxFull, CategoryMailboxDisabled, CategoryNullMX, CategoryDelivered, CategoryDeliverable:
		return true
	}
	return false
}

// defaultParty is who usually has to act for a category.
func defaultParty(c Category) Party {
	if i, ok := categoryTable[c]; ok {
		return i.party
	}
	return PartyRecipient
}
