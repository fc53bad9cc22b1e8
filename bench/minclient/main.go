// Command minclient is the yardstick for BenchmarkWholeProcessVsMinimal:
// the smallest honest Go program that does what `mailprobe probe` does on
// the wire for one recipient — MX and A lookups through a given resolver
// (miekg/dns, as mailprobe), connect, greeting, EHLO, MAIL, RCPT, RSET,
// QUIT (RFC 5321 §3.3, never DATA) — and prints the RCPT reply. No
// classification, no report: what is left over in mailprobe's time is the
// cost of everything mailprobe adds.
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
		r, _, err := c.Exchange(m, resolver)
		if err != nil {
			fail(err)
		}
		return r
	}
	host := domain
	if r := ask(domain, dns.TypeMX); len(r.Answer) > 0 {
		if mx, ok := r.Answer[0].(*dns.MX); ok {
			host = mx.Mx
		}
	}
	var addr string
	for _, rr := range ask(host, dns.TypeA).Answer {
		if a, ok := rr.(*dns.A); ok {
			addr = a.A.String()
			break
		}
	}
	if addr == "" {
		fail(fmt.Errorf("no address for %s", host))
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
	cmd := func(s string) string {
		if _, err := fmt.Fprintf(conn, "%s\r\n", s); err != nil {
			fail(err)
		}
		return reply()
	}
	reply()
	cmd("EHLO " + helo)
	cmd("MAIL FROM:<postmaster@" + helo + ">")
	r := cmd("RCPT TO:<" + rcpt + ">")
	cmd("RSET")
	cmd("QUIT")
	fmt.Println(r)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "minclient:", err)
	os.Exit(1)
}
