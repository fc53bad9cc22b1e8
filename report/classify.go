package report

import (
	"strconv"
	"strings"
)

// Status is the verdict for one recipient, in Postfix's words where
// Postfix has one.
type Status string

const (
	// StatusDeliverable: the server accepted RCPT TO (2xx). Postfix's
	// verify(8) logs the same word.
	StatusDeliverable Status = "deliverable"
	// StatusUndeliverable: a permanent failure (5xx, or a permanent DNS
	// answer such as NXDOMAIN or null MX).
	StatusUndeliverable Status = "undeliverable"
	// StatusDeferred: a temporary failure; an MTA would retry. Postfix's
	// verify(8) would log "undeliverable" here and leave the difference
	// to the dsn; mailprobe uses the delivery agents' word so the status
	// alone says whether retrying can help.
	StatusDeferred Status = "deferred"
	// StatusNotChecked: the probe never reached a decision for this
	// recipient (deadline, interrupted, never attempted).
	StatusNotChecked Status = "not-checked"
)

// Category is what kind of outcome a reply or failure is. The vocabulary
// is fixed and documented; scripts may match on it.
type Category string

const (
	CategoryDelivered         Category = "delivered"   // a maillog status=sent line
	CategoryDeliverable       Category = "deliverable" // 2xx at RCPT
	CategoryUserUnknown       Category = "user-unknown"
	CategoryMailboxFull       Category = "mailbox-full"
	CategoryMailboxDisabled   Category = "mailbox-disabled"
	CategoryRelayDenied       Category = "relay-denied"
	CategoryBlocklisted       Category = "blocklisted"
	CategoryReputation        Category = "reputation"
	CategoryGreylisted        Category = "greylisted"
	CategoryRateLimited       Category = "rate-limited"
	CategoryConnectionLimit   Category = "connection-limit"
	CategoryPolicy            Category = "policy-spf-dmarc-dkim"
	CategoryReverseDNS        Category = "reverse-dns" // the sending host's DNS identity: PTR, HELO name
	CategoryTLSRequired       Category = "tls-required"
	CategoryAuthRequired      Category = "auth-required"
	CategoryMessageSize       Category = "message-size"
	CategoryContentSpam       Category = "content-spam"
	CategoryDNSFailure        Category = "dns-failure"
	CategoryNullMX            Category = "null-mx"
	CategoryConnectionRefused Category = "connection-refused" // refused, or unreachable (ICMP): actively turned away
	CategoryConnectionTimeout Category = "connection-timeout" // no answer: connect or conversation timed out
	CategoryProtocolError     Category = "protocol-error"
	CategoryServerError       Category = "server-error"
	CategoryOther             Category = "other"
)

// Categories lists the whole vocabulary in a stable order.
var Categories = []Category{
	CategoryDelivered, CategoryDeliverable, CategoryUserUnknown, CategoryMailboxFull,
	CategoryMailboxDisabled, CategoryRelayDenied, CategoryBlocklisted, CategoryReputation,
	CategoryGreylisted, CategoryRateLimited, CategoryConnectionLimit, CategoryPolicy,
	CategoryReverseDNS, CategoryTLSRequired, CategoryAuthRequired, CategoryMessageSize,
	CategoryContentSpam, CategoryDNSFailure, CategoryNullMX, CategoryConnectionRefused,
	CategoryConnectionTimeout, CategoryProtocolError, CategoryServerError, CategoryOther,
}

// Permanence says whether retrying can change the answer (RFC 5321
// §4.2.1: 2yz success, 4yz transient, 5yz permanent).
type Permanence string

const (
	PermanenceSuccess   Permanence = "success"
	PermanenceTemporary Permanence = "temporary"
	PermanencePermanent Permanence = "permanent"
	PermanenceUnknown   Permanence = "unknown"
)

// Explanation is the plain-language part of a verdict.
type Explanation struct {
	What  string `json:"what"`  // what happened
	Cause string `json:"cause"` // the likely cause
	Next  string `json:"next"`  // what to do next
}

// permanenceOf takes the class from the reply code, or from the
// enhanced code / dsn when there is no reply code (Postfix's own
// reasons: "connect to …", DNS errors).
func permanenceOf(code int, enhanced string) Permanence {
	class := code / 100
	if code == 0 && enhanced != "" {
		class = int(enhanced[0] - '0')
	}
	switch class {
	case 2:
		return PermanenceSuccess
	case 4:
		return PermanenceTemporary
	case 5:
		return PermanencePermanent
	}
	return PermanenceUnknown
}

// rule is one text pattern of the classifier. Rules are tried in order;
// the first match wins, so specific wordings come before general ones
// (Spamhaus before "spam", "too many messages" before "421 … too many").
type rule struct {
	cat Category
	re  pattern
	// codes, when set, restricts the rule to these reply classes (4, 5).
	classes string
	// enhanced, when set, restricts the rule to these RFC 3463 codes.
	enhanced []string
}

// rx compiles a pattern that is matched against lower-cased text
// (lower-casing once is much cheaper than (?i) in every pattern).
func rx(s string) pattern { return newPattern(s) }

// textRules are matched against the reply text (all lines, codes kept).
// Sources of the wordings: Postfix smtpd/postscreen reject texts,
// Dovecot LMTP, Exim, Gmail, Microsoft 365/Outlook.com, 1&1/IONOS, GMX,
// web.de, T-Online and Spamhaus's published responses.
var textRules = []rule{
	// Recipient verification by the receiving Postfix
	// (reject_unverified_recipient): the backend could not confirm the
	// user. See isAddressVerification for the explanation; the category
	// is user-unknown because the question asked was "does this user
	// exist", with temporary permanence when the answer was 4xx.
	{cat: CategoryUserUnknown, re: rx(`unverified address|address verification in progress|undeliverable address`)},

	// TLS / authentication requirements come first: their texts often
	// carry 5.7.0 or 5.7.1, which would otherwise look like policy.
	{cat: CategoryTLSRequired, re: rx(`must issue a starttls|starttls (is )?required|tls (is )?required|encryption (is )?required|requires? (a )?(secure|encrypted|tls) connection|must use tls|secure connection required`)},
	{cat: CategoryAuthRequired, re: rx(`authentication (is )?required|auth(entication)? required|must authenticate|not logged in|client not authenticated|authentication credentials invalid|relaying requires authentication|smtp auth(entication)? is required`)},

	// Blocklists: explicit list names and the providers' own wordings.
	{cat: CategoryBlocklisted, re: rx(`black ?list(ed)?|block ?list(ed)?|blocked using|\blisted (at|on|in|by)\b|spamhaus|spamcop|barracuda(central)?|\bsorbs\b|dnsbl|\brbl\b|\bsbl\b|\bxbl\b|\bpbl\b|banned sending ip|c=bl\b|\(bl\)|on our block list|ip address is black listed|client host \[[^\]]*\] blocked`)},

	// Reputation: the provider distrusts the sending IP or domain.
	{cat: CategoryReputation, re: rx(`reputation|unusual rate of unsolicited|not authorized to send email directly|traffic not accepted from this ip|suspicious activity from|has been temporarily deferred due to|low reputation|sender score`)},

	// Greylisting: explicit, or "try again later" with the codes
	// greylisting servers use (postgrey 450 4.2.0, rspamd/Exim 451 4.7.1).
	{cat: CategoryGreylisted, re: rx(`gr[ae]y-?list(ed|ing)?|greylisted|deferred for greylisting|grey ?listing in action`)},
	{cat: CategoryGreylisted, re: rx(`try again later|please try later|retry later|come back later`), classes: "4", enhanced: []string{"4.7.1", "4.2.0"}},

	// Rate limits before connection limits: "too many messages" and
	// "too many recipients" are about volume, not connections.
	{cat: CategoryRateLimited, re: rx(`rate ?limit(ed)?|rate-limit|too many (messages|mails|emails|recipients|rcpt)|sending rate|receiving mail at a rate|message rate|throttl|slow down|server busy\. please try again later|exceeded the (rate|sending) limit|sending limit|daily limit|quota of messages`)},
	{cat: CategoryConnectionLimit, re: rx(`too many (open |concurrent |simultaneous |parallel )?(smtp )?connections|out of connection slots|connection limit|maximum number of (concurrent )?(server )?connections|too many sessions|concurrent server connections|connection count|too many connections from`)},

	// Mailbox states.
	{cat: CategoryMailboxFull, re: rx(`mailbox (is )?full|mail ?box full|over ?quota|quota (exceeded|exceed|full)|exceeded (its|the|their)? ?(storage|quota|mailbox)|exceeded storage allocation|out of storage space|storage space|mailbox size limit|user is over|inbox is full|disk quota`)},
	{cat: CategoryMailboxDisabled, re: rx(`(mailbox|account|user|address) (is |has been )?(disabled|deactivated|suspended|inactive|locked|blocked|closed)|account that you tried to reach is (disabled|inactive)|mailbox (is )?unavailable.*disabled|recipient (is )?inactive`)},

	// Relaying.
	{cat: CategoryRelayDenied, re: rx(`relay access denied|relaying denied|relay(ing)? not permitted|not permitted to relay|unable to relay|relay denied|we do not relay|relaying (is )?not allowed|relay not allowed|not a (valid )?relay|no relaying|relaying prohibited|non-accepted domain|(isn't|is not|not) allowed to be relayed|relayed thru`)},

	// Sender authentication.
	{cat: CategoryPolicy, re: rx(`\bspf\b|sender policy framework|\bdmarc\b|\bdkim\b|domainkeys|unauthenticated (email|mail|sender)|sender is unauthenticated|this mail is unauthenticated|does not pass dmarc|authentication (check|results) failed`)},

	// Sending host identity.
	{cat: CategoryReverseDNS, re: rx(`reverse (dns|lookup|hostname|host name|name)|\bptr\b|\brdns\b|cannot find your (reverse )?hostname|client host rejected: cannot find|helo command rejected: (host not found|need fully-qualified)|need fully-qualified hostname|does not have a ptr|no ptr record|hostname does not match`)},

	// Size.
	{cat: CategoryMessageSize, re: rx(`message (size|too large|too big|length)|size limit|exceeds? (the )?(fixed |maximum |message )?size|too large|message exceeds|maximum message size`)},

	// User unknown: the commonest permanent answer.
	{cat: CategoryUserUnknown, re: rx(`user unknown|unknown user|user (doesn't|does not|dont|don't) exist|(mailbox|address|user|recipient|account)[^.;:]{0,40}(does not|doesn't) exist|no such (user|mailbox|recipient|address|account)|mailbox (not found|unavailable)|recipient (not found|unknown)|unknown recipient|user not found|invalid (recipient|mailbox|address)|recipientnotfound|address not present|not our customer|no mailbox here|unrouteable address|address unknown|bad recipient|recipient address rejected: access denied|addressee unknown|mailbox does not exist|no such person`)},

	// Content.
	{cat: CategoryContentSpam, re: rx(`\bspam\b|unsolicited|junk mail|bulk mail|content (rejected|filter|policy)|message content|\bvirus\b|malware|phish|potential security issue|rejected as spam|looks like spam|spam message|high probability of being spam|message (was )?(rejected|refused) (due to|because of) content`)},

	// Connection limit wording that only says "421 … too many".
	{cat: CategoryConnectionLimit, re: rx(`too many`), classes: "4", enhanced: nil},
}

// localRules match Postfix's own (non-server) reasons, for explain and
// maillog reading: "connect to …", DNS errors, TLS failures (wordings
// from smtp_connect.c, smtp_proto.c, smtp_trouble.c, dns_lookup.c).
var localRules = []rule{
	{cat: CategoryNullMX, re: rx(`does not accept mail \(nullmx\)`)},
	{cat: CategoryDNSFailure, re: rx(`host or domain name not found|name service error|unable to look up host|no mx host for .* has a valid address record|malformed (or unexpected )?name server reply`)},
	{cat: CategoryConnectionRefused, re: rx(`connect to .*: (connection refused|no route to host|network is unreachable|no such file or directory|permission denied)`)},
	{cat: CategoryConnectionTimeout, re: rx(`connect to .*: connection timed out|conversation with .* timed out while|timed out while`)},
	{cat: CategoryServerError, re: rx(`lost connection with .* while`)},
	{cat: CategoryTLSRequired, re: rx(`tls is required|server certificate not verified|requiretls failure`)},
	{cat: CategoryProtocolError, re: rx(`cannot start tls|protocol error|malformed reply|non-smtp response|message requires smtputf8`)},
	{cat: CategoryOther, re: rx(`loops back to myself|unable to find primary relay`)},
}

// enhancedCategory maps RFC 3463 codes (and the registry additions of
// RFC 5248, RFC 7372, RFC 8689) to a category when the text said nothing
// more specific. Microsoft's 5.7.5xx–7xx extensions are included because
// they are common and well documented.
func enhancedCategory(enh string) (Category, bool) {
	if enh == "" {
		return "", false
	}
	parts := strings.Split(enh, ".")
	if len(parts) != 3 {
		return "", false
	}
	class, subject := parts[0], parts[1]
	detail, _ := strconv.Atoi(parts[2])
	switch subject + "." + parts[2] {
	case "1.1", "1.10", "1.6":
		return CategoryUserUnknown, true
	case "1.2":
		return CategoryDNSFailure, true // bad destination system address
	case "1.0":
		if class == "5" {
			return CategoryOther, true
		}
	case "2.1":
		return CategoryMailboxDisabled, true
	case "2.2":
		return CategoryMailboxFull, true
	case "2.3", "3.4":
		return CategoryMessageSize, true
	case "4.1", "4.2":
		return CategoryConnectionTimeout, true
	case "4.3", "4.4":
		return CategoryDNSFailure, true
	case "4.5":
		return CategoryServerError, true
	case "4.6", "4.7":
		return CategoryOther, true
	case "7.4", "7.10", "7.11", "7.30":
		return CategoryTLSRequired, true
	case "7.5":
		return CategoryProtocolError, true // cryptographic failure (Postfix 4.7.5 TLS)
	case "7.8", "7.57":
		return CategoryAuthRequired, true
	case "7.20", "7.21", "7.22", "7.23", "7.24", "7.26":
		return CategoryPolicy, true
	case "7.25":
		return CategoryReverseDNS, true
	case "7.54":
		return CategoryRelayDenied, true
	case "7.708", "7.750":
		return CategoryReputation, true
	}
	switch {
	case subject == "3":
		return CategoryServerError, true
	case subject == "5":
		return CategoryProtocolError, true
	case subject == "7" && class == "4" && detail >= 500 && detail <= 699:
		return CategoryRateLimited, true // Microsoft 4.7.500–699: throttling
	case subject == "7" && class == "5" && detail >= 500 && detail <= 699:
		return CategoryBlocklisted, true // Microsoft 5.7.5xx/6xx: banned or blocked sender IP
	}
	return "", false
}

// Classify classifies one reply: the code (0 when there is none, e.g. a
// Postfix-generated reason), the RFC 3463 enhanced code or dsn ("" when
// none) and the text (a whole reply with codes, or a Postfix reason).
// Text patterns come first, then the enhanced code, then the reply code.
func Classify(code int, enhanced, text string) (Category, Permanence) {
	perm := permanenceOf(code, enhanced)
	if code/100 == 2 || (code == 0 && perm == PermanenceSuccess) {
		return CategoryDeliverable, PermanenceSuccess
	}
	if code/100 == 3 || (code != 0 && (code < 200 || code > 599)) {
		return CategoryProtocolError, PermanenceUnknown
	}
	text = strings.ToLower(text)
	if code == 0 {
		for _, r := range localRules {
			if r.re.MatchString(text) {
				return r.cat, perm
			}
		}
	}
	class := strconv.Itoa(code / 100)
	if code == 0 && enhanced != "" {
		class = enhanced[:1]
	}
	for _, r := range textRules {
		if r.classes != "" && !strings.Contains(r.classes, class) {
			continue
		}
		if len(r.enhanced) > 0 && !contains(r.enhanced, enhanced) {
			continue
		}
		if r.re.MatchString(text) {
			return r.cat, perm
		}
	}
	if c, ok := enhancedCategory(enhanced); ok {
		return c, perm
	}
	switch {
	case code == 0:
		return CategoryOther, perm
	case code/100 == 4:
		// A generic 4xx: the server could not take the mail now.
		return CategoryServerError, perm
	case code == 555 || code >= 500 && code <= 504:
		// RFC 5321 §4.2.2 x0z: syntax, unrecognised command; Postfix
		// flags these as protocol errors too (smtp_trouble.c
		// smtp_check_code).
		return CategoryProtocolError, perm
	}
	return CategoryOther, perm
}

// isAddressVerification recognises the receiving Postfix's
// reject_unverified_recipient answers ("450 4.1.1 <a@b>: Recipient
// address rejected: unverified address: …", "Address verification in
// progress"), which get their own explanation.
func isAddressVerification(text string) bool {
	return reAddrVerify.MatchString(strings.ToLower(text))
}

var reAddrVerify = rx(`unverified address|address verification in progress|undeliverable address`)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
