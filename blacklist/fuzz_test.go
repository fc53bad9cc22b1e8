package blacklist

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// fuzzSeed packs a real-shaped answer for the fuzz corpus.
func fuzzSeed(rcode int, as ...string) []byte {
	m := new(dns.Msg)
	m.SetQuestion("99.2.0.192.zen.spamhaus.org.", dns.TypeA)
	m.Response, m.RecursionAvailable, m.Rcode = true, true, rcode
	for _, a := range as {
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: m.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A:   net.ParseIP(a),
		})
	}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzDecode feeds arbitrary DNS messages through AnswerFromMsg and Decode
// against every default list, and checks the rules that keep error
// answers from ever becoming listings. Seeds (here and in
// testdata/fuzz/FuzzDecode) are packed answers as real lists send them.
func FuzzDecode(f *testing.F) {
	f.Add(fuzzSeed(dns.RcodeSuccess, "127.0.0.2"), uint8(0))
	f.Add(fuzzSeed(dns.RcodeSuccess, "127.0.0.2", "127.0.0.4", "127.0.0.10"), uint8(0))
	f.Add(fuzzSeed(dns.RcodeNameError), uint8(0))
	f.Add(fuzzSeed(dns.RcodeServerFailure), uint8(1))
	f.Add(fuzzSeed(dns.RcodeSuccess, "127.255.255.254"), uint8(0))
	f.Add(fuzzSeed(dns.RcodeSuccess, "127.0.1.255"), uint8(5))
	f.Add(fuzzSeed(dns.RcodeSuccess, "127.0.0.1"), uint8(6))
	f.Add(fuzzSeed(dns.RcodeSuccess, "127.0.0.14"), uint8(6))
	f.Add(fuzzSeed(dns.RcodeSuccess, "198.51.100.10"), uint8(2))
	lists := DefaultLists()
	f.Fuzz(func(t *testing.T, packed []byte, which uint8) {
		m := new(dns.Msg)
		if err := m.Unpack(packed); err != nil {
			return
		}
		l := lists[int(which)%len(lists)]
		a := AnswerFromMsg(m)
		v := Decode(l, a)

		if len(v.Codes) != len(v.Meanings) {
			t.Fatalf("codes %v and meanings %v differ in length", v.Codes, v.Meanings)
		}
		if (v.Status == Unknown) != (v.Err != nil) {
			t.Fatalf("status %s with error %v", v.Status, v.Err)
		}
		if a.Rcode != dns.RcodeSuccess && a.Rcode != dns.RcodeNameError && v.Status != Unknown {
			t.Fatalf("RCODE %d decoded as %s", a.Rcode, v.Status)
		}
		if a.Rcode == dns.RcodeNameError && v.Status != Clean {
			t.Fatalf("NXDOMAIN decoded as %s", v.Status)
		}
		for _, addr := range a.Addrs {
			bad := !addr.Is4() || !loopback.Contains(addr) || l.ErrorCodes[addr] != ""
			if bad && a.Rcode == dns.RcodeSuccess && v.Status != Unknown {
				t.Fatalf("%s: answer %s decoded as %s", l.Zone, addr, v.Status)
			}
		}
		if v.Status == Listed && len(v.Codes) == 0 {
			t.Fatal("listed without codes")
		}
	})
}
