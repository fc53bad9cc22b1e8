package blacklist

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMentioned reads real refusals, each from its public source, for the
// lists they name and the address the server says it saw (#10 item 1).
func TestMentioned(t *testing.T) {
	lab := []List{{Zone: "dnsbl.test", Kind: KindIP}}
	tests := []struct {
		name, text, source string
		zones              []string
		addrs              []string
	}{
		{"Postfix reject_rbl_client", "Service unavailable; Client host [167.89.94.22] blocked using bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?167.89.94.22",
			"https://github.com/simple-login/app/issues/497", []string{"bl.spamcop.net"}, []string{"167.89.94.22"}},
		{"Postfix zen with error text, resolver address in the URL", "Service unavailable; Client host [37.x.y.z] blocked using zen.spamhaus.org; Error: open resolver; https://www.spamhaus.org/returnc/pub/44.192.176.0",
			"https://github.com/MailScanner/v5/issues/634", []string{"zen.spamhaus.org"}, nil},
		{"Microsoft: provider name, no zone", "Service unavailable, Client host [50.31.49.41] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/50.31.49.41 (AS3130). [VE1EUR01FT062.eop-EUR01.prod.protection.outlook.com]",
			"https://github.com/sendgrid/docs/issues/6275", []string{"zen.spamhaus.org"}, []string{"50.31.49.41"}},
		{"listing in Spamhaus SBL, ip= URL", "Mail from IP 50.31.49.41 was rejected due to listing in Spamhaus SBL. For details please see http://www.spamhaus.org/query/bl?ip=50.31.49.41",
			"https://github.com/sendgrid/docs/issues/6275", []string{"zen.spamhaus.org"}, []string{"50.31.49.41"}},
		{"Barracuda, multi-line joined, host name in brackets", "Service unavailable; Client host [bl11-253-215.dsl.telepac.pt] blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?r=1&ip=85.244.xxx.yyy",
			"https://github.com/getconversio/email-deep-validator/pull/20", []string{"b.barracudacentral.org"}, nil},
		{"real Postfix on loopback, list known by URL too", "Service unavailable; Client host [127.0.2.66] blocked using dnsbl.test; Listed for testing, see https://dnsbl.test/query?ip=127.0.2.66",
			"our Postfix #1 (testdata/integration/swaks-results.txt)", []string{"dnsbl.test"}, []string{"127.0.2.66"}},
		{"1&1 greeting: address in the URL, no list named", "kundenserver.de (mxeue112) Nemesis ESMTP Service not available No SMTP service IP address is black listed. For explanation visit https://help.1and1.com/smtp-error-messages?ip=127.0.0.1&c=bl",
			"lab scenario blacklisted (seed 1&1, /work/shared/seeds)", nil, []string{"127.0.0.1"}},
		{"unknown user names no list", "5.1.1 <nobody@unknown.lab.test> User doesn't exist: nobody@unknown.lab.test",
			"Dovecot LMTP on loopback", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Mentioned(tt.text, lab)
			assert.Equal(t, tt.zones, m.Zones, tt.source)
			var want []netip.Addr
			for _, a := range tt.addrs {
				want = append(want, netip.MustParseAddr(a))
			}
			assert.Equal(t, want, m.Addrs, tt.source)
		})
	}
}

func TestListsFor(t *testing.T) {
	base := []List{{Zone: "dnsbl.test", Kind: KindIP}}
	got := ListsFor(base, []string{"dnsbl.test", "zen.spamhaus.org", "bl.lab.test", "dbl.spamhaus.org"})
	var zones []string
	for _, l := range got {
		zones = append(zones, l.Zone)
	}
	assert.Equal(t, []string{"dnsbl.test", "zen.spamhaus.org", "bl.lab.test"}, zones, "domain lists are not asked about addresses")
	assert.NotEmpty(t, got[1].ErrorCodes, "a named default list keeps its codes")
	assert.Len(t, base, 1, "the caller's slice is not modified")
}
