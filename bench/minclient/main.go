// Command minclient is the yardstick for BenchmarkWholeProcessVsMinimal:
// the smallest honest Go program that does on the wire what `mailprobe
// probe --helo HELO` does for one recipient, exchange for exchange, so
// that what is left over in mailprobe's time is the cost of everything
// mailprobe adds (start-up, classification, report), not a difference in
// network work:
//
//   - the sender check (probe/sender.go): the HELO name's MX, then its A
//     and AAAA in parallel (it has no MX: RFC 5321 §5.1 implicit MX), as
//     mailprobe asks before choosing double-bounce@HELO as the sender;
//   - the recipient domain's MX, then the host's A and AAAA in parallel
//     (mailprobe's default --family any); mailprobe runs these while the
//     sender check's lookups are under way, this client after them, as a
//     bare client would (on loopback the difference is within the noise);
//   - connect, greeting, EHLO, and — the server offers PIPELINING —
//     MAIL, RCPT, RSET and QUIT in one write (RFC 2920 §3.1), as
//     mailprobe sends them; never DATA.
//
// It prints the RCPT reply. miekg/dns, as mailprobe.
//
//	minclient RESOLVER PORT HELO RCPT
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: minclient RESOLVER PORT HELO RCPT")
		os.Exit(64)
	}
	resolver, port, helo, rcpt := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	domain := rcpt[strings.LastIndexByte(rcpt, '@')+1:]
	c := &dns.Client{Timeout: 5 * time.Second}
	ask := func(name string, t uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), t)
		m.SetEdns0(1232, false) // as mailprobe's dnsclient asks
		r, _, err := c.Exchange(m, resolver)
		if err != nil {
			fail(err)
		}
		return r
	}
	// resolve is one MX lookup, then the target's A and AAAA at once; it
	// returns the first IPv4 address.
	resolve := func(name string) string {
		host := name
		if r := ask(name, dns.TypeMX); len(r.Answer) > 0 {
			if mx, ok := r.Answer[0].(*dns.MX); ok {
				host = mx.Mx
			}
		}
		aaaa := make(chan *dns.Msg, 1)
		go func() { aaaa <- ask(host, dns.TypeAAAA) }()
		var addr string
		for _, rr := range ask(host, dns.TypeA).Answer {
			if a, ok := rr.(*dns.A); ok {
				addr = a.A.String()
				break
			}
		}
		<-aaaa
		return addr
	}
	if resolve(helo) == "" {
		fail(fmt.Errorf("no address for %s", helo))
	}
	addr := resolve(domain)
	if addr == "" {
		fail(fmt.Errorf("no address for %s", domain))
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(addr, port), 5*time.Second)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	reply := func() string {
		var last string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				fail(err)
			}
			last = strings.TrimRight(l, "\r\n")
			if len(last) < 4 || last[3] != '-' {
				return last
			}
		}
	}
	send := func(s string) {
		if _, err := conn.Write([]byte(s)); err != nil {
			fail(err)
		}
	}
	reply()
	send("EHLO " + helo + "\r\n")
	reply()
	send("MAIL FROM:<double-bounce@" + helo + ">\r\nRCPT TO:<" + rcpt + ">\r\nRSET\r\nQUIT\r\n")
	reply()
	r := reply()
	reply()
	reply()
	fmt.Println(r)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "minclient:", err)
	os.Exit(1)
}
