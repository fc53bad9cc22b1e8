package probe_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/blacklist"
	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/internal/dnsserve"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/peertext"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// hostileDNS is a loopback resolver whose every answer carries hostile
// text: the MX target's first label holds ESC, a bell, a right-to-left
// override and a zero-width space (as raw octets on the wire), the CNAME
// it points through likewise, and the DNSBL TXT reason terminal escapes
// and bidi controls.
func hostileDNS(t *testing.T) *dnsclient.Client {
	t.Helper()
	evil := "\x1b[31m\x07\u202e\u200bmx.hostile.test."
	alias := "\u2066alias\u2069.hostile.test."
	mkName := func(s string) string {
		// Presentation form of arbitrary octets: \DDD each.
		var b strings.Builder
		labels := strings.Split(strings.TrimSuffix(s, "."), ".")
		for i, l := range labels {
			if i > 0 {
				b.WriteByte('.')
			}
			for j := 0; j < len(l); j++ {
				c := l[j]
				if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
					b.WriteByte(c)
				} else {
					fmt.Fprintf(&b, `\%03d`, c)
				}
			}
		}
		return b.String() + "."
	}
	evilName, aliasName := mkName(evil), mkName(alias)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := dnsserve.Start(pc, nil, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		add := func(s string) {
			rr, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		switch {
		case name == "hostile.test." && q.Qtype == dns.TypeMX:
			add("hostile.test. 60 IN MX 10 " + aliasName)
		case name == strings.ToLower(aliasName) && q.Qtype == dns.TypeA:
			add(aliasName + " 60 IN CNAME " + evilName)
			add(evilName + " 60 IN A 127.0.0.1")
		case strings.HasSuffix(name, ".bl.hostile.test.") && q.Qtype == dns.TypeA:
			add(q.Name + " 60 IN A 127.0.0.2")
		case strings.HasSuffix(name, ".bl.hostile.test.") && q.Qtype == dns.TypeTXT:
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: []string{"listed \x1b]0;pwned\x07 \u202eevil\u202c \u200b\xff"},
			})
		}
		_ = w.WriteMsg(m)
	}))
	t.Cleanup(func() { _ = srv.Close() })
	c, err := dnsclient.New(srv.Addr, time.Second)
	require.NoError(t, err)
	return c
}

// walkStrings calls fn for every string reachable from v: struct fields
// (exported or not), slice and array elements, map keys and values,
// through pointers and interfaces, and the Error() text of every error.
// Raw certificates are skipped: their bytes are never rendered, only the
// neutralised fields taken from them.
func walkStrings(v reflect.Value, path string, seen map[uintptr]bool, fn func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v.String())
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		if v.Type() == reflect.TypeFor[*x509.Certificate]() {
			return
		}
		seen[v.Pointer()] = true
		walkStrings(v.Elem(), path, seen, fn)
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.CanInterface() {
			if err, ok := v.Interface().(error); ok {
				fn(path+".Error()", err.Error())
			}
		}
		walkStrings(v.Elem(), path, seen, fn)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			walkStrings(v.Field(i), path+"."+v.Type().Field(i).Name, seen, fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), seen, fn)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			walkStrings(iter.Key(), path+"{key}", seen, fn)
			walkStrings(iter.Value(), fmt.Sprintf("%s[%v]", path, iter.Key()), seen, fn)
		}
	}
}

// assertClean checks text output: nothing unsafe but the line breaks the
// renderer itself writes.
func assertClean(t *testing.T, what, out string) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if !peertext.Clean(line) {
			t.Errorf("%s line %d carries unsafe text: %q", what, i+1, line)
		}
	}
}

// TestNoRawPeerText builds a result from a peer that is hostile
// everywhere at once — greeting, EHLO keywords, certificate subject,
// issuer and names, MAIL and RCPT replies, MX and CNAME names, the DNSBL
// TXT reason — and walks every string of it by reflection: none may hold
// a control character, an escape sequence, a bidi control, a zero-width
// character or invalid UTF-8. Then the same for every output format and
// the transcript.
func TestNoRawPeerText(t *testing.T) {
	srv := fakemta.ServeShipped(t, "hostile-text")
	dnsc := hostileDNS(t)
	var mu sync.Mutex
	var transcript []string
	cfg := probe.Config{
		HELO: "probe.lab.test", From: "postmaster@probe.lab.test",
		Port: srv.Port(), DNS: dnsc, Family: mx.FamilyIPv4,
		Timeout: 2 * time.Second, Deadline: 10 * time.Second, STARTTLS: probe.TLSAuto,
		DNSBL: blacklist.AddrChecker{Checker: &blacklist.Checker{
			Resolver: blacklist.DNSResolver{Client: dnsc},
			Lists:    []blacklist.List{{Zone: "bl.hostile.test", Kind: blacklist.KindIP}},
			Timeout:  time.Second,
		}},
		DNSBLAlways: true,
		Transcript: func(_ *probe.Attempt, dir, line string) {
			mu.Lock()
			transcript = append(transcript, dir+" "+line)
			mu.Unlock()
		},
	}
	res, err := probe.Run(context.Background(), cfg, targets(t, "alice@hostile.test"))
	require.NoError(t, err)

	// The run reached every place the server can put text.
	o := res.Recipients[0]
	require.NotNil(t, o.Reply, "err: %v", o.Err)
	assert.Equal(t, 550, o.Reply.Code)
	require.NotNil(t, o.Attempt.TLS, "STARTTLS was negotiated")
	assert.Contains(t, o.Attempt.TLS.Subject, `pwned\x07mx\u202elab.test\u200b\x1b[2J`)
	assert.Contains(t, o.Attempt.TLS.DNSNames, `\x1b[31m.hostile.lab.test`)
	assert.Contains(t, o.Attempt.Extensions, `X\X1B[31MEVIL`)
	require.NotNil(t, res.Domains[0].Route)
	h := res.Domains[0].Route.Hosts[0]
	assert.Equal(t, `\226\129\166alias\226\129\169.hostile.test`, h.Name, "the MX name's octets stay escaped")
	assert.Equal(t, []string{`\027[31m\007\226\128\174\226\128\139mx.hostile.test`}, h.CNAMEs)
	require.NotEmpty(t, res.DNSBL)
	assert.Equal(t, blacklist.Listed, res.DNSBL[0].Status)
	assert.Contains(t, res.DNSBL[0].Reason, `listed \027]0;pwned\007`)

	n := 0
	walkStrings(reflect.ValueOf(res), "Result", map[uintptr]bool{}, func(path, s string) {
		n++
		if !peertext.Clean(s) {
			t.Errorf("%s holds unsafe text: %q", path, s)
		}
	})
	assert.Greater(t, n, 50, "the walk must reach the result's strings")

	verdicts := report.JudgeAll(res)
	walkStrings(reflect.ValueOf(verdicts), "Verdicts", map[uintptr]bool{}, func(path, s string) {
		if !peertext.Clean(s) {
			t.Errorf("%s holds unsafe text: %q", path, s)
		}
	})

	var js bytes.Buffer
	require.NoError(t, report.JSON(&js, res))
	assertClean(t, "JSON", js.String())
	var doc any
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	walkStrings(reflect.ValueOf(doc), "JSON", map[uintptr]bool{}, func(path, s string) {
		if !peertext.Clean(s) {
			t.Errorf("JSON %s decodes to unsafe text: %q", path, s)
		}
	})
	for name, render := range map[string]func(*bytes.Buffer) error{
		"text": func(b *bytes.Buffer) error { return report.Text(b, res, report.TextOptions{}) },

		"postfix": func(b *bytes.Buffer) error { return report.Postfix(b, res) },
		"mx": func(b *bytes.Buffer) error {
			return report.MXText(b, []*mx.Route{res.Domains[0].Route}, report.TextOptions{})
		},
		"mx json": func(b *bytes.Buffer) error { return report.MXJSON(b, []*mx.Route{res.Domains[0].Route}) },
		"dnsbl":   func(b *bytes.Buffer) error { return report.BlacklistText(b, res.DNSBL, report.BlacklistOptions{}) },
		"dnsbl json": func(b *bytes.Buffer) error {
			return report.BlacklistJSON(b, res.DNSBL, report.BlacklistOptions{})
		},
	} {
		var out bytes.Buffer
		require.NoError(t, render(&out), name)
		assertClean(t, name, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, transcript)
	for _, l := range transcript {
		assert.True(t, peertext.Clean(l), "transcript line %q", l)
	}
	assert.False(t, srv.SawVerb("DATA"))
}

// TestNeutralisedEveryScript: for every scripted server whose text is
// hostile — escape sequences, invalid UTF-8, bidi controls, zero-width
// characters, all of them at once — no string of the result, no line of
// any output format and no JSON value holds an unsafe character.
func TestNeutralisedEveryScript(t *testing.T) {
	for _, script := range []string{"ansi-escape", "invalid-utf8", "bidi-reply", "zero-width", "hostile-text", "binary", "telnet-login"} {
		t.Run(script, func(t *testing.T) {
			srv := fakemta.ServeShipped(t, script)
			res, err := probe.Run(context.Background(), hostileConfig(t, srv), targets(t, "alice@lab.test"))
			require.NoError(t, err)
			require.NotEmpty(t, res.Domains[0].Attempts[0].Steps, "the server was talked to")
			walkStrings(reflect.ValueOf(res), "Result", map[uintptr]bool{}, func(path, s string) {
				if !peertext.Clean(s) {
					t.Errorf("%s holds unsafe text: %q", path, s)
				}
			})
			for name, render := range map[string]func(*bytes.Buffer) error{
				"text":    func(b *bytes.Buffer) error { return report.Text(b, res, report.TextOptions{}) },
				"postfix": func(b *bytes.Buffer) error { return report.Postfix(b, res) },
				"json":    func(b *bytes.Buffer) error { return report.JSON(b, res) },
			} {
				var out bytes.Buffer
				require.NoError(t, render(&out), name)
				assertClean(t, name, out.String())
			}
		})
	}
}
