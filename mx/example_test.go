package mx_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/mx"
)

// exampleZone is served by a tiny resolver on loopback, so the example runs
// without a network.
const exampleZone = `
$TTL 300
example.test.        MX 20 backup.example.test.
example.test.        MX 10 mail.example.test.
mail.example.test.   A     192.0.2.25
mail.example.test.   AAAA  2001:db8::25
backup.example.test. A     192.0.2.26
nomail.test.         MX 0  .
`

func ExampleResolver_Resolve() {
	addr, stop := serveZone(exampleZone)
	defer stop()

	r := &mx.Resolver{DNS: &dnsclient.Client{Servers: []string{addr}, Timeout: time.Second}}
	for _, domain := range []string{"example.test", "nomail.test"} {
		route := r.Resolve(context.Background(), domain)
		if route.Err != nil {
			fmt.Printf("%s: %v (temporary: %v)\n", domain, route.Err, route.Err.Temporary)
			continue
		}
		for _, h := range route.Hosts {
			fmt.Println(domain, h.Preference, h.Name, h.Addresses)
		}
	}
	// Output:
	// example.test 10 mail.example.test [192.0.2.25 2001:db8::25]
	// example.test 20 backup.example.test [192.0.2.26]
	// nomail.test: nomail.test type=MX: domain does not accept mail (null MX) (temporary: false)
}

// serveZone answers UDP questions from zone text on 127.0.0.1 until stop.
func serveZone(zone string) (addr string, stop func()) {
	records := map[string][]dns.RR{}
	zp := dns.NewZoneParser(strings.NewReader(zone), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		key := dns.CanonicalName(rr.Header().Name) + "/" + dns.TypeToString[rr.Header().Rrtype]
		records[key] = append(records[key], rr)
	}
	if err := zp.Err(); err != nil {
		panic(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		m.Answer = records[dns.CanonicalName(q.Name)+"/"+dns.TypeToString[q.Qtype]]
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	return pc.LocalAddr().String(), func() { _ = srv.Shutdown() }
}
