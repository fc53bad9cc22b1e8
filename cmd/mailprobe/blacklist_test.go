package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/dnsserve"
)

// startBlacklistLab serves, over UDP only like rbldnsd, an IP list
// (ip.lab.test: lists 192.0.2.99 and its test point), a domain list
// (dom.lab.test: lists spam.example), a list that answers SERVFAIL, a list
// that answers Spamhaus's public-resolver code, and the host
// mail.lab.test → 192.0.2.99. It returns the resolver address.
func startBlacklistLab(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := dnsserve.Start(pc, nil, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: 60}
		answer := func(a, txt string) {
			switch q.Qtype {
			case dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.ParseIP(a)})
			case dns.TypeTXT:
				if txt != "" {
					m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{txt}})
				}
			}
		}
		switch {
		case name == "99.2.0.192.ip.lab.test.", name == "2.0.0.127.ip.lab.test.":
			answer("127.0.0.2", "listed: http://lab.test/"+name)
		case name == "spam.example.dom.lab.test.", name == "test.dom.lab.test.":
			answer("127.0.1.2", "spam domain")
		case strings.HasSuffix(name, ".servfail.lab.test."):
			m.Rcode = dns.RcodeServerFailure
		case strings.HasSuffix(name, ".public.lab.test."):
			answer("127.255.255.254", "")
		case name == "mail.lab.test.":
			if q.Qtype == dns.TypeA {
				answer("192.0.2.99", "")
			} // AAAA: NOERROR, no data
		default:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	}))
	t.Cleanup(func() { _ = srv.Close() })
	return srv.Addr
}

const blacklistLabLists = "ip.lab.test:127.0.0.2=lab listing,dom.lab.test=domain:127.0.1.2=spam domain"

type blacklistJSONDoc struct {
	Warnings []string `json:"warnings"`
	Results  []struct {
		Target   string   `json:"target"`
		Address  string   `json:"address"`
		List     string   `json:"list"`
		Status   string   `json:"status"`
		Codes    []string `json:"codes"`
		Meanings []string `json:"meanings"`
		Reason   string   `json:"reason"`
		Error    string   `json:"error"`
	} `json:"results"`
	Summary struct {
		Targets, Checks, Listed, Clean, Unknown int
		Verdict                                 string
	} `json:"summary"`
}

func TestBlacklistCommandExitCodes(t *testing.T) {
	resolver := startBlacklistLab(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // substring expected on stderr
	}{
		{"clean", []string{"192.0.2.1"}, ExitOK, ""},
		{"listed", []string{"192.0.2.99"}, ExitUndeliverable, ""},
		{"domain listed", []string{"spam.example"}, ExitUndeliverable, ""},
		{"host resolved and listed", []string{"mail.lab.test"}, ExitUndeliverable, ""},
		{"unknown and none listed", []string{"--lists", "ip.lab.test,x.servfail.lab.test", "192.0.2.1"}, ExitDeferred, ""},
		{"error code is unknown, not listed", []string{"--lists", "zen.public.lab.test:!127.255.255.254=public resolver", "192.0.2.1"}, ExitDeferred, ""},
		{"listed beats unknown", []string{"--lists", "ip.lab.test,x.servfail.lab.test", "192.0.2.1", "192.0.2.99"}, ExitUndeliverable, ""},
		{"health ok", []string{"--health"}, ExitOK, ""},
		{"health with an unusable list", []string{"--health", "--lists", "ip.lab.test,x.servfail.lab.test"}, ExitDeferred, ""},
		{"bad IP", []string{"192.0.2"}, ExitUsage, "incomplete IP"},
		{"bad list spec", []string{"--lists", "bl.example:10.0.0.2=x", "192.0.2.1"}, ExitUsage, "--lists"},
		{"no target", nil, ExitUsage, "TARGET"},
		{"health with target", []string{"--health", "192.0.2.1"}, ExitUsage, "--health"},
		{"bad concurrency", []string{"--concurrency", "0", "192.0.2.1"}, ExitUsage, "--concurrency"},
		{"bad timeout", []string{"--timeout", "-1s", "192.0.2.1"}, ExitUsage, "--timeout"},
		{"bad output", []string{"-o", "postfix", "192.0.2.1"}, ExitUsage, "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"blacklist", "--resolver", resolver, "--lists", blacklistLabLists}
			args = append(args, tt.args...)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			if tt.stderr != "" {
				assert.Contains(t, stderr.String(), tt.stderr)
				assert.Empty(t, stdout.String(), "nothing is reported on bad input")
			} else {
				assert.Empty(t, stderr.String())
			}
		})
	}
}

func TestBlacklistCommandJSON(t *testing.T) {
	resolver := startBlacklistLab(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"blacklist", "--resolver", resolver, "--lists", blacklistLabLists,
		"--output", "json", "192.0.2.99", "::ffff:192.0.2.1", "mail.lab.test"}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, ExitUndeliverable, code, stderr.String())
	var doc blacklistJSONDoc
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &doc), stdout.String())
	type row struct{ target, address, list, status string }
	var got []row
	for _, r := range doc.Results {
		got = append(got, row{r.Target, r.Address, r.List, r.Status})
		assert.NotNil(t, r.Codes)
		assert.NotNil(t, r.Meanings)
	}
	assert.Equal(t, []row{
		{"192.0.2.99", "192.0.2.99", "ip.lab.test", "listed"},
		{"192.0.2.1", "192.0.2.1", "ip.lab.test", "clean"},
		{"mail.lab.test", "mail.lab.test", "dom.lab.test", "clean"},
		{"mail.lab.test", "192.0.2.99", "ip.lab.test", "listed"},
	}, got)
	assert.Equal(t, []string{"127.0.0.2"}, doc.Results[0].Codes)
	assert.Equal(t, []string{"lab listing"}, doc.Results[0].Meanings)
	assert.Equal(t, "listed: http://lab.test/99.2.0.192.ip.lab.test.", doc.Results[0].Reason)
	assert.Equal(t, 3, doc.Summary.Targets)
	assert.Equal(t, 2, doc.Summary.Listed)
	assert.Equal(t, "listed", doc.Summary.Verdict)
	assert.Empty(t, doc.Warnings, "loopback resolver is not public")
}

func TestBlacklistCommandText(t *testing.T) {
	resolver := startBlacklistLab(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"blacklist", "--resolver", resolver, "--lists", blacklistLabLists,
		"192.0.2.99"}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, ExitUndeliverable, code, stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "192.0.2.99\n  ip.lab.test  listed   127.0.0.2 lab listing\n")
	assert.Contains(t, out, "reason: listed: http://lab.test/")
	assert.Contains(t, out, "1 target, 1 check: 1 listed, 0 clean, 0 unknown.")
	assert.NotContains(t, out, "\x1b[", "no colour when stdout is not a terminal")
}
