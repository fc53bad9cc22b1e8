package blacklist_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/dnsclient"
)

func ExampleQueryName() {
	zen := blacklist.List{Zone: "zen.spamhaus.org", Kind: blacklist.KindIP}
	for _, a := range []string{"192.0.2.99", "::ffff:192.0.2.99", "2001:db8::1"} {
		q, _ := blacklist.QueryName(zen, netip.MustParseAddr(a), "")
		fmt.Println(q)
	}
	dbl := blacklist.List{Zone: "dbl.spamhaus.org", Kind: blacklist.KindDomain}
	q, _ := blacklist.QueryName(dbl, netip.Addr{}, "example.com")
	fmt.Println(q)
	// Output:
	// 99.2.0.192.zen.spamhaus.org
	// 99.2.0.192.zen.spamhaus.org
	// 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org
	// example.com.dbl.spamhaus.org
}

// ExampleChecker_Check asks a loopback DNSBL server, which lists
// 192.0.2.99 and answers every other address with Spamhaus's "public
// resolver" error code 127.255.255.254.
func ExampleChecker_Check() {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		code, txt := "127.255.255.254", ""
		if q.Name == "99.2.0.192.bl.example." {
			code, txt = "127.0.0.2", "listed: http://bl.example/192.0.2.99"
		}
		hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: 60}
		switch {
		case q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.ParseIP(code)})
		case q.Qtype == dns.TypeTXT && txt != "":
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{txt}})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	defer func() { _ = srv.Shutdown() }()

	lists, _ := blacklist.ParseLists("bl.example:127.0.0.2=spam source;!127.255.255.254=public resolver refused")
	c := &blacklist.Checker{
		Resolver: blacklist.DNSResolver{Client: &dnsclient.Client{Servers: []string{pc.LocalAddr().String()}, Timeout: 2 * time.Second}},
		Lists:    lists,
	}
	rs := c.Check(context.Background(), []blacklist.Target{
		blacklist.TargetIP(netip.MustParseAddr("192.0.2.99")),
		blacklist.TargetIP(netip.MustParseAddr("192.0.2.1")),
	})
	for _, r := range rs {
		fmt.Println(r.Address, r.Status, r.Codes, r.Meanings, r.Reason)
	}
	// Output:
	// 192.0.2.99 listed [127.0.0.2] [spam source] listed: http://bl.example/192.0.2.99
	// 192.0.2.1 unknown [127.255.255.254] [public resolver refused]
}
