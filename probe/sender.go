package probe

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mailprobe/mailprobe/mx"
)

// DoubleBounceLocal is the local part of the default sender when the
// HELO name resolves: Postfix's verify(8) probes with
// address_verify_sender = $double_bounce_sender (double-bounce) at
// $myorigin, which defaults to $myhostname — the HELO name — so real
// receivers see from mailprobe what they see from a Postfix verifying an
// address.
const DoubleBounceLocal = "double-bounce"

// NullSenderArg is how --from spells the null sender, as swaks accepts
// it: --from '<>' (or --from ”).
const NullSenderArg = "<>"

// ChooseSender settles the envelope sender and checks the probe's
// identity before anything is sent. It returns the warnings to show the
// user first (also recorded in Result.Warnings by Run).
//
//   - Sender left to mailprobe (cfg.SenderAuto): double-bounce@HELO when
//     the HELO name resolves (A, AAAA or MX — what Postfix's
//     reject_unknown_sender_domain asks of a sender domain), as Postfix's
//     verify sends; otherwise the null sender <>, which Exim's callouts
//     use and which reject_unknown_sender_domain never refuses (RFC 5321
//     §4.5.5: every server must accept <> for bounces). A made-up
//     postmaster@vm.localdomain would be refused with "450 4.1.8 …
//     Sender address rejected: Domain not found".
//   - A HELO name that does not resolve is warned about
//     (reject_unknown_helo_hostname refuses it); so is an explicit --from
//     whose domain does not resolve.
//
// Without a DNS client (a --server given as an IP address, no DNSBL) the
// names cannot be checked: the sender is then <>, and nothing is warned.
func ChooseSender(ctx context.Context, cfg *Config) []string {
	if cfg.senderChosen {
		return nil
	}
	cfg.senderChosen = true
	var r *mx.Resolver
	if cfg.DNS != nil {
		r = &mx.Resolver{DNS: cfg.DNS, Family: mx.FamilyAny}
	}
	var warns []string
	heloOK, heloChecked, heloWhy := true, false, ""
	if r != nil && !isAddressLiteral(cfg.HELO) {
		heloChecked = true
		if ok, why := resolves(ctx, r, cfg.HELO); !ok {
			heloOK, heloWhy = false, why
			warns = append(warns, fmt.Sprintf("the EHLO name %s does not resolve (%s): receivers with Postfix's reject_unknown_helo_hostname refuse it; use --helo with this host's name in DNS", cfg.HELO, why))
		}
	}
	switch {
	case cfg.SenderAuto:
		cfg.SenderAuto = false
		if r != nil && heloOK && !isAddressLiteral(cfg.HELO) {
			cfg.From = DoubleBounceLocal + "@" + cfg.HELO
		} else {
			cfg.From = ""
			if len(warns) > 0 {
				warns[len(warns)-1] += "; so the probe sends MAIL FROM:<> (the null sender, as Exim's callouts do) rather than an address at that name (use --from with an address of a domain you own to choose)"
			}
		}
	case cfg.From != "" && r != nil:
		if at := strings.LastIndexByte(cfg.From, '@'); at >= 0 {
			d := cfg.From[at+1:]
			if !isAddressLiteral(d) {
				// --from postmaster@HELO (the usual pairing) asks about the
				// name just checked: its answer stands, no second lookup.
				ok, why := heloOK, heloWhy
				if !heloChecked || !strings.EqualFold(strings.TrimSuffix(d, "."), strings.TrimSuffix(cfg.HELO, ".")) {
					ok, why = resolves(ctx, r, d)
				}
				if !ok {
					warns = append(warns, fmt.Sprintf("the sender's domain %s does not resolve (%s): receivers with Postfix's reject_unknown_sender_domain refuse MAIL FROM:<%s> (450 4.1.8 Domain not found); use --from with an address of a domain you own", d, why, cfg.From))
				}
			}
		}
	}
	return warns
}

// resolves tells whether name has MX or address records, as
// reject_unknown_sender_domain and reject_unknown_helo_hostname ask. A
// temporary failure counts as not resolving: a receiver whose lookup
// fails the same way answers "450 4.1.8 … Domain not found"
// (unknown_address_tempfail_action), and the null sender is safe either
// way.
func resolves(ctx context.Context, r *mx.Resolver, name string) (bool, string) {
	rt := r.Resolve(ctx, name)
	if rt.Err == nil {
		return true, ""
	}
	switch {
	case rt.Err.Temporary:
		return false, "the lookup failed: " + rt.Err.Error()
	case errors.Is(rt.Err, mx.ErrNoAddress):
		return true, "" // MX records, hosts without addresses: the name exists for mail
	case errors.Is(rt.Err, mx.ErrNXDomain):
		return false, "no such domain"
	case errors.Is(rt.Err, mx.ErrNoData):
		return false, "no MX, A or AAAA record"
	case errors.Is(rt.Err, mx.ErrNullMX):
		return false, "a null MX: it sends and receives no mail"
	}
	return false, rt.Err.Error()
}

func isAddressLiteral(s string) bool {
	if strings.HasPrefix(s, "[") {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// chooseSenderAndWarn runs ChooseSender and hands each warning to Warn,
// before anything is sent.
func (cfg *Config) chooseSenderAndWarn(ctx context.Context) []string {
	warns := ChooseSender(ctx, cfg)
	if cfg.From == "" && cfg.Protocol != ProtocolLMTP {
		// Postfix's reject_multi_recipient_bounce refuses <> with a
		// second RCPT ("550 5.5.3 … Multi-recipient bounce", seen from
		// our Postfix on 127.0.6.26): with the null sender every
		// recipient gets a transaction of its own. LMTP backends have no
		// such rule.
		cfg.RcptWindow = 1
	}
	if cfg.Warn != nil {
		for _, w := range warns {
			cfg.Warn(w)
		}
	}
	return warns
}
