package blacklist

import (
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = ip(s)
	}
	return out
}

func defaultList(zone string) List {
	for _, l := range DefaultLists() {
		if l.Zone == zone {
			return l
		}
	}
	panic("no default list " + zone)
}

func TestDecode(t *testing.T) {
	zen, dbl := defaultList("zen.spamhaus.org"), defaultList("dbl.spamhaus.org")
	uribl, surbl := defaultList("multi.uribl.com"), defaultList("multi.surbl.org")
	spamcop := defaultList("bl.spamcop.net")
	tests := []struct {
		name     string
		list     List
		ans      Answer
		status   Status
		codes    []string
		meanings []string
		err      error
	}{
		{"NXDOMAIN is clean", zen, Answer{Rcode: dns.RcodeNameError}, Clean, nil, nil, nil},
		{"NODATA is clean", zen, Answer{Rcode: dns.RcodeSuccess}, Clean, nil, nil, nil},
		{"SERVFAIL is unknown", zen, Answer{Rcode: dns.RcodeServerFailure}, Unknown, nil, nil, ErrResolver},
		{"REFUSED is unknown", zen, Answer{Rcode: dns.RcodeRefused}, Unknown, nil, nil, ErrResolver},
		{"odd RCODE is unknown", zen, Answer{Rcode: 23}, Unknown, nil, nil, ErrResolver},
		{"zen SBL", zen, Answer{Addrs: addrs("127.0.0.2")}, Listed, []string{"127.0.0.2"},
			[]string{"SBL: Spamhaus Block List, known spam source or spam operation"}, nil},
		{"zen several codes sorted, duplicates dropped", zen, Answer{Addrs: addrs("127.0.0.11", "127.0.0.4", "127.0.0.4")}, Listed,
			[]string{"127.0.0.4", "127.0.0.11"},
			[]string{"XBL: exploited host (malware, botnet, open proxy)", "PBL: end-user address range that should not send mail directly (Spamhaus-maintained)"}, nil},
		{"zen DROP", zen, Answer{Addrs: addrs("127.0.0.9")}, Listed, []string{"127.0.0.9"},
			[]string{"DROP: hijacked or spammer-controlled netblock (Don't Route Or Peer)"}, nil},
		{"zen CSS", zen, Answer{Addrs: addrs("127.0.0.3")}, Listed, []string{"127.0.0.3"},
			[]string{"SBL CSS: low-reputation or snowshoe spam source"}, nil},
		{"zen undocumented code still listed", zen, Answer{Addrs: addrs("127.0.0.8")}, Listed, []string{"127.0.0.8"},
			[]string{"listed (code not documented for this list)"}, nil},
		{"Spamhaus public resolver", zen, Answer{Addrs: addrs("127.255.255.254")}, Unknown, []string{"127.255.255.254"},
			[]string{"error: query through a public/open resolver, refused by Spamhaus"}, ErrErrorCode},
		{"Spamhaus typo", dbl, Answer{Addrs: addrs("127.255.255.252")}, Unknown, []string{"127.255.255.252"},
			[]string{"error: typo in the DNSBL zone name, or zone not served to this resolver"}, ErrErrorCode},
		{"Spamhaus excessive", zen, Answer{Addrs: addrs("127.255.255.255")}, Unknown, []string{"127.255.255.255"},
			[]string{"error: excessive number of queries from this resolver"}, ErrErrorCode},
		{"error code among listings poisons the answer", zen, Answer{Addrs: addrs("127.0.0.2", "127.255.255.254")}, Unknown,
			[]string{"127.0.0.2", "127.255.255.254"},
			[]string{"SBL: Spamhaus Block List, known spam source or spam operation", "error: query through a public/open resolver, refused by Spamhaus"}, ErrErrorCode},
		{"DBL spam domain", dbl, Answer{Addrs: addrs("127.0.1.2")}, Listed, []string{"127.0.1.2"}, []string{"spam domain"}, nil},
		{"DBL abused legit", dbl, Answer{Addrs: addrs("127.0.1.103")}, Listed, []string{"127.0.1.103"},
			[]string{"abused legitimate domain: spammed redirector or URL shortener"}, nil},
		{"DBL IP asked", dbl, Answer{Addrs: addrs("127.0.1.255")}, Unknown, []string{"127.0.1.255"},
			[]string{"error: an IP address was asked of a domain list"}, ErrErrorCode},
		{"URIBL refused", uribl, Answer{Addrs: addrs("127.0.0.1")}, Unknown, []string{"127.0.0.1"},
			[]string{"error: query refused (public resolver or over the free-use limit)"}, ErrErrorCode},
		{"URIBL black+grey+red", uribl, Answer{Addrs: addrs("127.0.0.14")}, Listed, []string{"127.0.0.14"},
			[]string{"URIBL black: domain seen in spam, high confidence; URIBL grey: domain in bulk or grey-area mail; URIBL red: domain in newly observed spam"}, nil},
		{"SURBL phishing+malware", surbl, Answer{Addrs: addrs("127.0.0.24")}, Listed, []string{"127.0.0.24"},
			[]string{"SURBL PH: phishing; SURBL MW: malware"}, nil},
		{"SURBL blocked", surbl, Answer{Addrs: addrs("127.0.0.1")}, Unknown, []string{"127.0.0.1"},
			[]string{"error: query blocked (public resolver or over the free-use limit)"}, ErrErrorCode},
		{"bitmask list, answer outside 127.0.0.x", uribl, Answer{Addrs: addrs("127.0.1.2")}, Listed, []string{"127.0.1.2"},
			[]string{"listed (code not documented for this list)"}, nil},
		{"127.0.0.1 on a list without error codes is a listing", spamcop, Answer{Addrs: addrs("127.0.0.1")}, Listed,
			[]string{"127.0.0.1"}, []string{"listed (code not documented for this list)"}, nil},
		{"NXDOMAIN rewritten to a web server", spamcop, Answer{Addrs: addrs("198.51.100.10")}, Unknown, []string{"198.51.100.10"},
			[]string{"error: not a DNSBL answer (outside 127.0.0.0/8): the resolver rewrites answers"}, ErrOutsideLoopback},
		// #10 item 2: 127.255.255.0/24 is the error range on every list,
		// not only on lists named spamhaus.
		{"error range on a list with no error codes", List{Zone: "zen.lab.test", Kind: KindIP}, Answer{Addrs: addrs("127.255.255.254")}, Unknown,
			[]string{"127.255.255.254"}, []string{"error: 127.255.255.0/24 is the DNSBL error range (typo'd zone, query through a public resolver, or over quota), not a listing"}, ErrErrorCode},
		{"error range on SpamCop", spamcop, Answer{Addrs: addrs("127.255.255.252")}, Unknown,
			[]string{"127.255.255.252"}, []string{"error: 127.255.255.0/24 is the DNSBL error range (typo'd zone, query through a public resolver, or over quota), not a listing"}, ErrErrorCode},
		{"error range declared a listing by the list spec", List{Zone: "odd.lab.test", Kind: KindIP, Codes: map[netip.Addr]string{ip("127.255.255.2"): "odd listing"}},
			Answer{Addrs: addrs("127.255.255.2")}, Listed, []string{"127.255.255.2"}, []string{"odd listing"}, nil},
		{"AAAA in an A answer", spamcop, Answer{Addrs: addrs("127.0.0.2", "2001:db8::1")}, Unknown, []string{"127.0.0.2", "2001:db8::1"},
			[]string{"reported as a spam source by SpamCop users", "error: not a DNSBL answer (outside 127.0.0.0/8): the resolver rewrites answers"}, ErrOutsideLoopback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Decode(tt.list, tt.ans)
			assert.Equal(t, tt.status, v.Status)
			assert.Equal(t, tt.codes, v.Codes)
			assert.Equal(t, tt.meanings, v.Meanings)
			if tt.err != nil {
				assert.ErrorIs(t, v.Err, tt.err)
			} else {
				assert.NoError(t, v.Err)
			}
		})
	}
}

// TestDecodeErrorRangeFromSpec: a --lists spec can declare a code in the
// error range a listing; without the declaration it stays an error.
func TestDecodeErrorRangeFromSpec(t *testing.T) {
	declared, err := ParseLists("odd.lab.test:127.255.255.2=odd listing")
	require.NoError(t, err)
	plain, err := ParseLists("odd.lab.test")
	require.NoError(t, err)
	ans := Answer{Addrs: addrs("127.255.255.2")}
	assert.Equal(t, Listed, Decode(declared[0], ans).Status)
	assert.Equal(t, Unknown, Decode(plain[0], ans).Status)
}

func TestAnswerFromMsg(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("2.0.0.127.bl.test.", dns.TypeA)
	m.Rcode = dns.RcodeSuccess
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: "2.0.0.127.bl.test.", Rrtype: t, Class: dns.ClassINET, Ttl: 60}
	}
	m.Answer = []dns.RR{
		&dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: "x.bl.test."},
		&dns.A{Hdr: hdr(dns.TypeA), A: net.ParseIP("127.0.0.2")},
		&dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.ParseIP("2001:db8::1")},
		&dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{"split ", "string"}},
		&dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{"second"}},
	}
	a := AnswerFromMsg(m)
	assert.Equal(t, 0, a.Rcode)
	require.Equal(t, addrs("127.0.0.2", "2001:db8::1"), a.Addrs)
	assert.True(t, a.Addrs[0].Is4(), "A records are plain IPv4, not mapped")
	assert.Equal(t, []string{"split string", "second"}, a.TXT)
}
