package report

import (
	"github.com/mailprobe/mailprobe/probe"
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
	Party Party  `json:"party"` // who has to act: sender | recipient | local
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

// enhancedCategory maps RFC 3463 codes (and the registry additions of
// RFC 5248, RFC 7372, RFC 8689) to a category when the text said nothing
// more specific. Microsoft's 5.7.5xx–7xx extensions are included because
// they are common and well documented.
func enhancedCategory(enh string) (Category, bool) {
	code, ok := probe.ParseEnhancedCode(enh)
	if !ok {
		return "", false
	}
	class, subject, detail := code.Class(), code.Subject(), code.Detail()
	type sd struct{ subject, detail int }
	switch (sd{subject, detail}) {
	case sd{1, 1}, sd{1, 10}, sd{1, 6}:
		return CategoryUserUnknown, true
	case sd{1, 2}:
		return CategoryDNSFailure, true // bad destination system address
	case sd{1, 0}:
		if class == 5 {
			return CategoryOther, true
		}
	case sd{2, 1}:
		return CategoryMailboxDisabled, true
	case sd{2, 2}:
		return CategoryMailboxFull, true
	case sd{2, 3}, sd{3, 4}:
		return CategoryMessageSize, true
	case sd{4, 1}, sd{4, 2}:
		return CategoryConnectionTimeout, true
	case sd{4, 3}, sd{4, 4}:
		return CategoryDNSFailure, true
	case sd{4, 5}:
		return CategoryServerError, true
	case sd{4, 6}, sd{4, 7}:
		return CategoryOther, true
	case sd{7, 4}, sd{7, 10}, sd{7, 11}, sd{7, 30}:
		return CategoryTLSRequired, true
	case sd{7, 5}:
		return CategoryProtocolError, true // cryptographic failure (Postfix 4.7.5 TLS)
	case sd{7, 8}, sd{7, 57}:
		return CategoryAuthRequired, true
	case sd{7, 20}, sd{7, 21}, sd{7, 22}, sd{7, 23}, sd{7, 24}, sd{7, 26}:
		return CategoryPolicy, true
	case sd{7, 25}:
		return CategoryReverseDNS, true
	case sd{7, 54}:
		return CategoryRelayDenied, true
	case sd{7, 708}, sd{7, 750}:
		return CategoryReputation, true
	}
	switch {
	case subject == 3:
		return CategoryServerError, true
	case subject == 5:
		return CategoryProtocolError, true
	case subject == 7 && class == 4 && detail >= 500 && detail <= 699:
		return CategoryRateLimited, true // Microsoft 4.7.500–699: throttling
	case subject == 7 && class == 5 && detail >= 500 && detail <= 699:
		return CategoryBlocklisted, true // Microsoft 5.7.5xx/6xx: banned or blocked sender IP
	}
	return "", false
}

// maxCachedText bounds the texts the cache keeps, so its memory stays
// below classCacheSize × 2 × maxCachedText.
const maxCachedText = 2048

// Classification is what the classifier decided about one text.
type Classification struct {
	Category   Category   `json:"category"`
	Permanence Permanence `json:"permanence"`
	Party      Party      `json:"party"`
	// Rule is the rule that matched, nil when the codes alone decided.
	Rule *Rule `json:"-"`
}

// Classify classifies one reply: the code (0 when there is none, e.g. a
// Postfix-generated reason), the RFC 3463 enhanced code or dsn ("" when
// none) and the text (a whole reply with codes, or a Postfix reason).
func Classify(code int, enhanced, text string) (Category, Permanence) {
	c := ClassifyText(code, enhanced, text)
	return c.Category, c.Permanence
}

// ClassifyText is Classify with the party and the rule that decided.
// The rules (report/rules/*.yaml and --rules) come first, in precedence
// order; then the enhanced code (enhancedCategory), then the reply code.
// Results are cached: maillogs and batches repeat the same texts.
func ClassifyText(code int, enhanced, text string) Classification {
	// Success and intermediate replies need no rules: a probe that was
	// accepted never builds the automaton.
	if code/100 == 2 || code/100 == 3 || code != 0 && (code < 200 || code > 599) || code == 0 && permanenceOf(0, enhanced) == PermanenceSuccess {
		return classify(nil, code, enhanced, text)
	}
	rs := active()
	if len(text) > maxCachedText {
		// A whole bounce or an odd giant line: not worth keeping.
		return classify(rs, code, enhanced, text)
	}
	key := cacheKey(code, enhanced, text)
	if c, ok := rs.cache.get(key); ok {
		return c
	}
	c := classify(rs, code, enhanced, text)
	rs.cache.add(key, c)
	return c
}

func classify(rs *ruleSet, code int, enhanced, text string) Classification {
	perm := permanenceOf(code, enhanced)
	if code/100 == 2 || (code == 0 && perm == PermanenceSuccess) {
		return Classification{Category: CategoryDeliverable, Permanence: PermanenceSuccess, Party: PartyRecipient}
	}
	if code/100 == 3 || (code != 0 && (code < 200 || code > 599)) {
		return Classification{Category: CategoryProtocolError, Permanence: PermanenceUnknown, Party: PartyRecipient}
	}
	class := code / 100
	if code == 0 && enhanced != "" {
		class = int(enhanced[0] - '0')
	}
	if r := rs.match(text, class, enhanced, code == 0); r != nil {
		return Classification{Category: r.Category, Permanence: perm, Party: r.Party, Rule: r}
	}
	cat := CategoryOther
	if c, ok := enhancedCategory(enhanced); ok {
		cat = c
	} else if code/100 == 4 {
		// A generic 4xx: the server could not take the mail now.
		cat = CategoryServerError
	} else if code == 555 || code >= 500 && code <= 504 {
		// RFC 5321 §4.2.2 x0z: syntax, unrecognised command; Postfix
		// flags these as protocol errors too (smtp_trouble.c
		// smtp_check_code).
		cat = CategoryProtocolError
	}
	return Classification{Category: cat, Permanence: perm, Party: defaultParty(cat)}
}

// ruleUnverifiedRecipient is the rule for the receiving Postfix's
// reject_unverified_recipient answers ("450 4.1.1 <a@b>: Recipient
// address rejected: unverified address: …"), which get their own
// explanation.
const ruleUnverifiedRecipient = "postfix-unverified-recipient"
