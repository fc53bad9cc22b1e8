package report

import "github.com/mailprobe/mailprobe/probe"

// BlockLike is the classifier's answer to "could a blocklist explain this
// refusal?", the probe.BlockLikeFunc that --dnsbl auto uses: a refusal the
// classifier calls blocklisted, reputation, policy or reverse-dns; a
// refused greeting (where 1&1's "IP address is black listed" and
// postscreen's DNSBL refusals come); or an RFC 3463 X.7.x status, except
// where the classifier recognises the reply as something the lists have
// no part in (greylisting, relay, TLS, authentication, rate or size).
func BlockLike(phase probe.Phase, r *probe.Reply) bool {
	if r == nil || r.Class() < 4 {
		return false
	}
	cat, _ := Classify(r.Code, r.Enhanced, r.Text())
	switch cat {
	case CategoryBlocklisted, CategoryReputation, CategoryPolicy, CategoryReverseDNS:
		return true
	case CategoryUserUnknown, CategoryMailboxFull, CategoryMailboxDisabled, CategoryGreylisted,
		CategoryRelayDenied, CategoryTLSRequired, CategoryAuthRequired, CategoryMessageSize,
		CategoryRateLimited, CategoryConnectionLimit:
		return false
	}
	if phase == probe.PhaseGreeting {
		return true
	}
	return len(r.Enhanced) > 2 && r.Enhanced[1:3] == ".7"
}
