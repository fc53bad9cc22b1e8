package lab

import (
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func query(t *testing.T, l *Lab, network, name string, qtype uint16, edns bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	if edns {
		m.SetEdns0(4096, false)
	}
	c := &dns.Client{Net: network}
	r, _, err := c.Exchange(m, l.DNSAddr())
	require.NoError(t, err)
	return r
}

// TestDNSServesEveryScenarioRecord asks the lab, over UDP and TCP, for
// each record a scenario lists and expects it in an authoritative answer.
func TestDNSServesEveryScenarioRecord(t *testing.T) {
	l := startLab(t, Options{})
	for _, sc := range l.Scenarios() {
		for _, text := range sc.DNS {
			want, err := dns.NewRR(text)
			require.NoError(t, err)
			for _, network := range []string{"udp", "tcp"} {
				r := query(t, l, network, want.Header().Name, want.Header().Rrtype, true)
				assert.Equal(t, dns.RcodeSuccess, r.Rcode, "%s %s", sc.Name, text)
				assert.True(t, r.Authoritative, "%s: AA", text)
				var got []string
				for _, rr := range r.Answer {
					got = append(got, rr.String())
				}
				assert.Contains(t, got, want.String(), "%s over %s", sc.Name, network)
			}
		}
	}
}

func TestDNSResponses(t *testing.T) {
	l := startLab(t, Options{})
	tests := []struct {
		name     string
		qname    string
		qtype    uint16
		rcode    int
		aa       bool
		answers  int
		soaInNs  bool
		firstAns string
	}{
		{name: "nxdomain", qname: "nxdomain.lab.test", qtype: dns.TypeMX, rcode: dns.RcodeNameError, aa: true, soaInNs: true},
		{name: "nxdomain for A too", qname: "nxdomain.lab.test", qtype: dns.TypeA, rcode: dns.RcodeNameError, aa: true, soaInNs: true},
		{name: "MX host without address", qname: "mx1.noaddr.lab.test", qtype: dns.TypeA, rcode: dns.RcodeNameError, aa: true, soaInNs: true},
		{name: "servfail", qname: "servfail.lab.test", qtype: dns.TypeMX, rcode: dns.RcodeServerFailure},
		{name: "servfail below", qname: "mx.servfail.lab.test", qtype: dns.TypeA, rcode: dns.RcodeServerFailure},
		{name: "outside the zone", qname: "example.com", qtype: dns.TypeMX, rcode: dns.RcodeRefused},
		{name: "root", qname: ".", qtype: dns.TypeNS, rcode: dns.RcodeRefused},
		{name: "implicit MX: no MX (NODATA)", qname: "implicit.lab.test", qtype: dns.TypeMX, rcode: dns.RcodeSuccess, aa: true, soaInNs: true},
		{name: "implicit MX: A", qname: "implicit.lab.test", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true, answers: 1,
			firstAns: "implicit.lab.test.\t300\tIN\tA\t127.0.0.23"},
		{name: "null MX", qname: "nullmx.lab.test", qtype: dns.TypeMX, rcode: dns.RcodeSuccess, aa: true, answers: 1,
			firstAns: "nullmx.lab.test.\t300\tIN\tMX\t0 ."},
		{name: "case does not matter", qname: "ACCEPT.Lab.Test", qtype: dns.TypeMX, rcode: dns.RcodeSuccess, aa: true, answers: 1,
			firstAns: "accept.lab.test.\t300\tIN\tMX\t10 mx1.accept.lab.test."},
		{name: "CNAME chased", qname: "alias.lab.test", qtype: dns.TypeMX, rcode: dns.RcodeSuccess, aa: true, answers: 2,
			firstAns: "alias.lab.test.\t300\tIN\tCNAME\taccept.lab.test."},
		{name: "CNAME loop ends", qname: "loop1.lab.test", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true, answers: 8,
			firstAns: "loop1.lab.test.\t300\tIN\tCNAME\tloop2.lab.test."},
		{name: "MX to an IP literal", qname: "mxip.lab.test", qtype: dns.TypeMX, rcode: dns.RcodeSuccess, aa: true, answers: 1,
			firstAns: "mxip.lab.test.\t300\tIN\tMX\t10 127.0.0.10."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := query(t, l, "udp", tt.qname, tt.qtype, false)
			assert.Equal(t, dns.RcodeToString[tt.rcode], dns.RcodeToString[r.Rcode])
			assert.Equal(t, tt.aa, r.Authoritative)
			assert.False(t, r.RecursionAvailable)
			require.Len(t, r.Answer, tt.answers)
			if tt.firstAns != "" {
				assert.Equal(t, tt.firstAns, r.Answer[0].String())
			}
			if tt.soaInNs {
				require.Len(t, r.Ns, 1)
				assert.Equal(t, dns.TypeSOA, r.Ns[0].Header().Rrtype)
			} else {
				assert.Empty(t, r.Ns)
			}
		})
	}
}

func TestDNSGlueForMXTargets(t *testing.T) {
	l := startLab(t, Options{})
	r := query(t, l, "udp", "backup.lab.test", dns.TypeMX, false)
	require.Len(t, r.Answer, 2)
	var glue []string
	for _, rr := range r.Extra {
		glue = append(glue, rr.String())
	}
	assert.ElementsMatch(t, []string{
		"mx1.backup.lab.test.\t300\tIN\tA\t127.0.0.11",
		"mx2.backup.lab.test.\t300\tIN\tA\t127.0.0.13",
	}, glue)
}

func TestDNSTruncatesLargeUDPAnswers(t *testing.T) {
	l := startLab(t, Options{})
	udp := query(t, l, "udp", "big.lab.test", dns.TypeMX, false)
	assert.True(t, udp.Truncated, "32 MX records do not fit in 512 bytes")
	assert.Less(t, len(udp.Answer), 32)

	tcp := query(t, l, "tcp", "big.lab.test", dns.TypeMX, false)
	assert.False(t, tcp.Truncated)
	assert.Len(t, tcp.Answer, 32)

	edns := query(t, l, "udp", "big.lab.test", dns.TypeMX, true)
	assert.False(t, edns.Truncated, "fits in a 4096-byte EDNS0 buffer")
	assert.Len(t, edns.Answer, 32)
}
