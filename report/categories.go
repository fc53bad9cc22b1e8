package report

// categoryInfo is everything report knows about one category in one
// place: who usually has to act, and how to explain it.
type categoryInfo struct {
	// party is who has to act when no rule says otherwise.
	party Party
}

// categoryTable has one entry per Category; TestCategoryTable fails when
// a category in Categories has none.
var categoryTable = map[Category]categoryInfo{
	CategoryDelivered:         {party: PartyRecipient},
	CategoryDeliverable:       {party: PartyRecipient},
	CategoryUserUnknown:       {party: PartyRecipient},
	CategoryMailboxFull:       {party: PartyRecipient},
	CategoryMailboxDisabled:   {party: PartyRecipient},
	CategoryRelayDenied:       {party: PartyRecipient},
	CategoryBlocklisted:       {party: PartySender},
	CategoryReputation:        {party: PartySender},
	CategoryGreylisted:        {party: PartySender},
	CategoryRateLimited:       {party: PartySender},
	CategoryConnectionLimit:   {party: PartyRecipient},
	CategoryPolicy:            {party: PartySender},
	CategoryReverseDNS:        {party: PartySender},
	CategoryTLSRequired:       {party: PartySender},
	CategoryAuthRequired:      {party: PartySender},
	CategoryMessageSize:       {party: PartySender},
	CategoryContentSpam:       {party: PartySender},
	CategoryDNSFailure:        {party: PartyRecipient},
	CategoryNullMX:            {party: PartyRecipient},
	CategoryConnectionRefused: {party: PartyRecipient},
	CategoryConnectionTimeout: {party: PartyRecipient},
	CategoryProtocolError:     {party: PartyRecipient},
	CategoryServerError:       {party: PartyRecipient},
	CategoryOther:             {party: PartyRecipient},
}

// defaultParty is who usually has to act for a category.
func defaultParty(c Category) Party {
	if i, ok := categoryTable[c]; ok {
		return i.party
	}
	return PartyRecipient
}
