package dnsclient

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// query is the message Query sends for name/qtype.
func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.Id = 4242
	return m
}

// reply builds an answer to q with the given RCODE and records, then lets
// edit spoil it.
func reply(t testing.TB, q *dns.Msg, rcode int, rrs []string, edit func(*dns.Msg)) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetReply(q)
	m.Rcode = rcode
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		require.NoError(t, err)
		m.Answer = append(m.Answer, rr)
	}
	if edit != nil {
		edit(m)
	}
	return m
}

// TestValidate: one table over every way an answer can fail to answer, for
// an MX question and for a DNSBL A question, which go through the same
// function.
func TestValidate(t *testing.T) {
	dnsbl := "2.0.0.127.zen.spamhaus.org."
	tests := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		rrs   []string
		edit  func(*dns.Msg)
		bad   error    // the error expected, nil when the answer is valid
		keep  []string // the answer records kept, as "owner TYPE"
	}{
		{name: "MX answer", qname: "example.test.", qtype: dns.TypeMX,
			rrs:  []string{"example.test. 60 MX 10 mx.example.test."},
			keep: []string{"example.test. MX"}},
		{name: "DNSBL listing", qname: dnsbl, qtype: dns.TypeA,
			rrs:  []string{dnsbl + " 60 A 127.0.0.2"},
			keep: []string{dnsbl + " A"}},
		{name: "question name in another case (0x20)", qname: "example.test.", qtype: dns.TypeMX,
			rrs:  []string{"EXAMPLE.test. 60 MX 10 mx.example.test."},
			edit: func(m *dns.Msg) { m.Question[0].Name = "ExAmPlE.TeSt." },
			keep: []string{"EXAMPLE.test. MX"}},
		{name: "CNAME chain then the records", qname: "alias.test.", qtype: dns.TypeMX,
			rrs:  []string{"alias.test. 60 CNAME a2.test.", "a2.test. 60 CNAME example.test.", "example.test. 60 MX 10 mx.example.test."},
			keep: []string{"alias.test. CNAME", "a2.test. CNAME", "example.test. MX"}},
		{name: "NODATA", qname: "example.test.", qtype: dns.TypeMX},
		{name: "NXDOMAIN", qname: dnsbl, qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{name: "NXDOMAIN carrying MX records keeps none", qname: "example.test.", qtype: dns.TypeMX, rcode: dns.RcodeNameError,
			rrs: []string{"example.test. 60 MX 10 mx.example.test."}},
		{name: "NXDOMAIN carrying a DNSBL listing keeps none", qname: dnsbl, qtype: dns.TypeA, rcode: dns.RcodeNameError,
			rrs: []string{dnsbl + " 60 A 127.0.0.2"}},
		{name: "NXDOMAIN after a CNAME keeps the chain (RFC 6604)", qname: "alias.test.", qtype: dns.TypeMX, rcode: dns.RcodeNameError,
			rrs:  []string{"alias.test. 60 CNAME gone.test."},
			keep: []string{"alias.test. CNAME"}},
		{name: "SERVFAIL keeps no records", qname: dnsbl, qtype: dns.TypeA, rcode: dns.RcodeServerFailure,
			rrs: []string{dnsbl + " 60 A 127.0.0.2"}},
		{name: "SERVFAIL without question section", qname: dnsbl, qtype: dns.TypeA, rcode: dns.RcodeServerFailure,
			edit: func(m *dns.Msg) { m.Question = nil }},
		{name: "REFUSED without question section", qname: "example.test.", qtype: dns.TypeMX, rcode: dns.RcodeRefused,
			edit: func(m *dns.Msg) { m.Question = nil }},
		{name: "records for another name beside ours are dropped", qname: dnsbl, qtype: dns.TypeA,
			rrs:  []string{dnsbl + " 60 A 127.0.0.2", "other.zen.spamhaus.org. 60 A 127.0.0.4"},
			keep: []string{dnsbl + " A"}},
		{name: "RRSIG beside the answer is ignored", qname: "example.test.", qtype: dns.TypeMX,
			rrs: []string{"example.test. 60 MX 10 mx.example.test.",
				"example.test. 60 RRSIG MX 8 2 60 20270101000000 20260101000000 1 example.test. AAAA"},
			keep: []string{"example.test. MX"}},

		{name: "echoed query (QR clear, no answer)", qname: dnsbl, qtype: dns.TypeA,
			edit: func(m *dns.Msg) { m.Response = false }, bad: ErrBadAnswer},
		{name: "echoed query with an answer", qname: dnsbl, qtype: dns.TypeA,
			rrs:  []string{dnsbl + " 60 A 127.0.0.2"},
			edit: func(m *dns.Msg) { m.Response = false }, bad: ErrBadAnswer},
		{name: "wrong ID", qname: dnsbl, qtype: dns.TypeA,
			edit: func(m *dns.Msg) { m.Id++ }, bad: ErrIDMismatch},
		{name: "another opcode", qname: "example.test.", qtype: dns.TypeMX,
			rrs:  []string{"example.test. 60 MX 10 mx.example.test."},
			edit: func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }, bad: ErrBadAnswer},
		{name: "another question name", qname: dnsbl, qtype: dns.TypeA,
			rrs:  []string{"3.0.0.127.zen.spamhaus.org. 60 A 127.0.0.2"},
			edit: func(m *dns.Msg) { m.Question[0].Name = "3.0.0.127.zen.spamhaus.org." }, bad: ErrBadAnswer},
		{name: "another question type", qname: "example.test.", qtype: dns.TypeMX,
			rrs:  []string{"example.test. 60 A 192.0.2.1"},
			edit: func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeA }, bad: ErrBadAnswer},
		{name: "another question class", qname: "example.test.", qtype: dns.TypeMX,
			edit: func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }, bad: ErrBadAnswer},
		{name: "two questions", qname: "example.test.", qtype: dns.TypeMX,
			edit: func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }, bad: ErrBadAnswer},
		{name: "no question in a NOERROR answer", qname: dnsbl, qtype: dns.TypeA,
			rrs:  []string{dnsbl + " 60 A 127.0.0.2"},
			edit: func(m *dns.Msg) { m.Question = nil }, bad: ErrBadAnswer},
		{name: "no question in an NXDOMAIN answer", qname: dnsbl, qtype: dns.TypeA, rcode: dns.RcodeNameError,
			edit: func(m *dns.Msg) { m.Question = nil }, bad: ErrBadAnswer},
		{name: "A record owned by another name only", qname: dnsbl, qtype: dns.TypeA,
			rrs: []string{"3.0.0.127.zen.spamhaus.org. 60 A 127.0.0.2"}, bad: ErrBadAnswer},
		{name: "MX records owned by another name only", qname: "example.test.", qtype: dns.TypeMX,
			rrs: []string{"evil.test. 60 MX 10 mx.evil.test."}, bad: ErrBadAnswer},
		{name: "CNAME owned by another name, then its records", qname: dnsbl, qtype: dns.TypeA,
			rrs: []string{"x.test. 60 CNAME y.test.", "y.test. 60 A 127.0.0.2"}, bad: ErrBadAnswer},
		{name: "AAAA where A was asked", qname: dnsbl, qtype: dns.TypeA,
			rrs: []string{dnsbl + " 60 AAAA ::1"}, bad: ErrBadAnswer},
		{name: "record of class CHAOS", qname: dnsbl, qtype: dns.TypeA,
			rrs: []string{dnsbl + " 60 CH A 127.0.0.2"}, bad: ErrBadAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := query(tt.qname, tt.qtype)
			resp := reply(t, q, tt.rcode, tt.rrs, tt.edit)
			before := resp.String()
			got, err := Validate(q, resp)
			assert.Equal(t, before, resp.String(), "Validate must not modify its input")
			if tt.bad != nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, tt.bad)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			var kept []string
			for _, rr := range got.Answer {
				kept = append(kept, rr.Header().Name+" "+dns.TypeToString[rr.Header().Rrtype])
			}
			assert.Equal(t, tt.keep, kept)
			assert.Equal(t, tt.rcode, got.Rcode)
		})
	}
}

// TestQueryEchoedQuery: a "resolver" that sends every query back is never
// believed. The echo is skipped like a wrong-ID answer (a real answer
// could still follow), and when none does the error says what came.
func TestQueryEchoedQuery(t *testing.T) {
	addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg { return []*dns.Msg{req} })
	c := &Client{Servers: []string{addr}, Timeout: 200 * time.Millisecond}
	_, err := c.Query(context.Background(), "2.0.0.127.zen.spamhaus.org", dns.TypeA)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadAnswer)
	assert.Contains(t, err.Error(), "QR bit not set")
}

// TestQuerySpoofedThenReal: an answer to another question arriving first
// (a spoofer racing the resolver) does not hide the real answer.
func TestQuerySpoofedThenReal(t *testing.T) {
	addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg {
		spoof := answerA(req, "127.0.0.2")
		spoof.Question[0].Name = "other.test."
		return []*dns.Msg{spoof, answerA(req, "192.0.2.5")}
	})
	c := &Client{Servers: []string{addr}, Timeout: 2 * time.Second}
	resp, err := c.Query(context.Background(), "host.test", dns.TypeA)
	require.NoError(t, err)
	require.Len(t, resp.Answer, 1)
	assert.Equal(t, "192.0.2.5", resp.Answer[0].(*dns.A).A.String())
}

// TestQueryAnswerFromAnotherAddress: an answer sent from another port than
// the one asked is not taken (the connected UDP socket drops it), so a
// query to a silent resolver ends as a timeout, never with that answer.
func TestQueryAnswerFromAnotherAddress(t *testing.T) {
	other, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { other.Close() })
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := new(dns.Msg)
			if req.Unpack(buf[:n]) != nil {
				continue
			}
			out, _ := answerA(req, "127.0.0.2").Pack()
			_, _ = other.WriteTo(out, from) // from the wrong socket
		}
	}()
	c := &Client{Servers: []string{pc.LocalAddr().String()}, Timeout: 200 * time.Millisecond}
	_, err = c.Query(context.Background(), "2.0.0.127.zen.spamhaus.org", dns.TypeA)
	assert.ErrorIs(t, err, ErrTimeout)
}

// TestQueryBadAnswerOverTCP: over TCP there is one answer per exchange, so
// a bad one is final at once.
func TestQueryBadAnswerOverTCP(t *testing.T) {
	addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Truncated = true
		return []*dns.Msg{m}
	})
	tcpServer(t, addr, func(w dns.ResponseWriter, req *dns.Msg) {
		m := answerA(req, "127.0.0.2")
		m.Answer[0].Header().Name = "elsewhere.test."
		_ = w.WriteMsg(m)
	})
	c := &Client{Servers: []string{addr}, Timeout: time.Second}
	start := time.Now()
	_, err := c.Query(context.Background(), "host.test", dns.TypeA)
	assert.ErrorIs(t, err, ErrBadAnswer)
	assert.Less(t, time.Since(start), 900*time.Millisecond)
}

// FuzzValidate: whatever the message, Validate must not panic, and what it
// returns must answer the question: QR set, the query's ID and question,
// and only records owned by the name or its CNAME chain, of the asked
// type or CNAME; none at all for a failure RCODE, CNAMEs only for
// NXDOMAIN. Seeds are in testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	q := query("2.0.0.127.zen.spamhaus.org.", dns.TypeA)
	for _, m := range []*dns.Msg{
		reply(f, q, dns.RcodeSuccess, []string{"2.0.0.127.zen.spamhaus.org. 60 A 127.0.0.2"}, nil),
		reply(f, q, dns.RcodeNameError, []string{"2.0.0.127.zen.spamhaus.org. 60 A 127.0.0.2"}, nil),
		reply(f, q, dns.RcodeSuccess, []string{"other.test. 60 A 127.0.0.2"}, nil),
		reply(f, q, dns.RcodeSuccess, nil, func(m *dns.Msg) { m.Response = false }),
	} {
		b, err := m.Pack()
		require.NoError(f, err)
		f.Add(b, uint16(dns.TypeA))
	}
	f.Fuzz(func(t *testing.T, packed []byte, qtype uint16) {
		resp := new(dns.Msg)
		if resp.Unpack(packed) != nil {
			return
		}
		q := query("2.0.0.127.zen.spamhaus.org.", qtype)
		if len(resp.Question) > 0 {
			// Also exercise the question-matches path with fuzzed names.
			q.Question[0].Name = dns.CanonicalName(resp.Question[0].Name)
			q.Id = resp.Id
		}
		got, err := Validate(q, resp)
		if err != nil {
			require.Nil(t, got)
			return
		}
		require.True(t, got.Response)
		require.Equal(t, q.Id, got.Id)
		require.Equal(t, q.Opcode, got.Opcode)
		if len(got.Question) > 0 {
			require.True(t, strings.EqualFold(got.Question[0].Name, q.Question[0].Name))
			require.Equal(t, q.Question[0].Qtype, got.Question[0].Qtype)
		}
		owners := chainOwners(got.Answer, dns.CanonicalName(q.Question[0].Name))
		for _, rr := range got.Answer {
			h := rr.Header()
			require.True(t, owners[dns.CanonicalName(h.Name)], "record for another name kept: %s", rr)
			require.Equal(t, uint16(dns.ClassINET), h.Class)
			switch got.Rcode {
			case dns.RcodeSuccess:
				require.True(t, h.Rrtype == qtype || h.Rrtype == dns.TypeCNAME, "record of another type kept: %s", rr)
			case dns.RcodeNameError:
				require.Equal(t, dns.TypeCNAME, h.Rrtype, "NXDOMAIN kept data: %s", rr)
			default:
				t.Fatalf("RCODE %d kept records", got.Rcode)
			}
		}
	})
}
