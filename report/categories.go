package report

// categoryInfo is everything report knows about one category in one
// place: who usually has to act, and how to explain it.
type categoryInfo struct {
	// party is who has to act when no rule says otherwise.
	party Party
	// explain writes the explanation from the verdict and the typed
	// facts in the context (phase, command, DNS error kind, TLS facts,
	// DNSBL results, the rule that matched).
	explain func(v *Verdict, c explainCtx, w words) Explanation
}

// categoryTable has one entry per Category; TestCategoryTable fails when
// a category in Categories has none.
var categoryTable map[Category]categoryInfo

// The table refers to explain functions that read it (for the party),
// so it is filled in init rather than in its declaration.
func init() {
	categoryTable = map[Category]categoryInfo{
		CategoryDelivered:         {party: PartyRecipient, explain: explainDelivered},
		CategoryDeliverable:       {party: PartyRecipient, explain: explainDeliverable},
		CategoryUserUnknown:       {party: PartyRecipient, explain: explainUserUnknown},
		CategoryMailboxFull:       {party: PartyRecipient, explain: explainMailboxFull},
		CategoryMailboxDisabled:   {party: PartyRecipient, explain: explainMailboxDisabled},
		CategoryRelayDenied:       {party: PartySender, explain: explainRelayDenied},
		CategoryBlocklisted:       {party: PartySender, explain: explainBlocklisted},
		CategoryReputation:        {party: PartySender, explain: explainReputation},
		CategoryGreylisted:        {party: PartySender, explain: explainGreylisted},
		CategoryRateLimited:       {party: PartySender, explain: explainRateLimited},
		CategoryConnectionLimit:   {party: PartySender, explain: explainConnectionLimit},
		CategoryPolicy:            {party: PartySender, explain: explainPolicy},
		CategoryReverseDNS:        {party: PartySender, explain: explainReverseDNS},
		CategoryTLSRequired:       {party: PartySender, explain: explainTLSRequired},
		CategoryAuthRequired:      {party: PartySender, explain: explainAuthRequired},
		CategoryMessageSize:       {party: PartySender, explain: explainMessageSize},
		CategoryContentSpam:       {party: PartySender, explain: explainContentSpam},
		CategoryDNSFailure:        {party: PartyRecipient, explain: explainDNS},
		CategoryNullMX:            {party: PartyRecipient, explain: explainNullMX},
		CategoryConnectionRefused: {party: PartyRecipient, explain: explainConnectionRefused},
		CategoryConnectionTimeout: {party: PartyRecipient, explain: explainConnectionTimeout},
		CategoryProtocolError:     {party: PartyLocal, explain: explainProtocolError},
		CategoryServerError:       {party: PartyRecipient, explain: explainServerError},
		CategoryOther:             {party: PartySender, explain: explainOther},
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
