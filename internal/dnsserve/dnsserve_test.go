package dnsserve

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListenServesUDPAndTCP: one handler answers on both transports of
// one port, and Close ends both.
func TestListenServesUDPAndTCP(t *testing.T) {
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		rr, _ := dns.NewRR(req.Question[0].Name + " 60 IN A 192.0.2.1")
		m.Answer = []dns.RR{rr}
		_ = w.WriteMsg(m)
	})
	s, err := Listen("127.0.0.1", h)
	require.NoError(t, err)
	for _, network := range []string{"udp", "tcp"} {
		q := new(dns.Msg)
		q.SetQuestion("host.lab.test.", dns.TypeA)
		resp, _, err := (&dns.Client{Net: network}).Exchange(q, s.Addr)
		require.NoError(t, err, network)
		require.Len(t, resp.Answer, 1, network)
		assert.Equal(t, "192.0.2.1", resp.Answer[0].(*dns.A).A.String())
	}
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "a second Close is harmless")
}

// TestZone: records of the asked type, CNAMEs followed, NODATA for a
// name with other records, NXDOMAIN for an unknown name, queries
// counted, on both transports.
func TestZone(t *testing.T) {
	z, err := NewZone("a.test. 300 IN MX 10 mx.a.test.", "mx.a.test. 300 IN A 127.0.0.1",
		"alias.a.test. 300 IN CNAME mx.a.test.")
	require.NoError(t, err)
	s, err := Listen("127.0.0.1", z)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	tests := []struct {
		name   string
		qtype  uint16
		rcode  int
		answer []string
	}{
		{"a.test.", dns.TypeMX, dns.RcodeSuccess, []string{"a.test.\t300\tIN\tMX\t10 mx.a.test."}},
		{"MX.A.test.", dns.TypeA, dns.RcodeSuccess, []string{"mx.a.test.\t300\tIN\tA\t127.0.0.1"}},
		{"alias.a.test.", dns.TypeA, dns.RcodeSuccess, []string{"alias.a.test.\t300\tIN\tCNAME\tmx.a.test.", "mx.a.test.\t300\tIN\tA\t127.0.0.1"}},
		{"a.test.", dns.TypeAAAA, dns.RcodeSuccess, nil},
		{"nowhere.test.", dns.TypeA, dns.RcodeNameError, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name+"/"+dns.TypeToString[tt.qtype], func(t *testing.T) {
				q := new(dns.Msg)
				q.SetQuestion(tt.name, tt.qtype)
				resp, _, err := (&dns.Client{Net: network}).Exchange(q, s.Addr)
				require.NoError(t, err)
				assert.Equal(t, tt.rcode, resp.Rcode)
				assert.True(t, resp.Authoritative)
				var got []string
				for _, rr := range resp.Answer {
					got = append(got, rr.String())
				}
				assert.Equal(t, tt.answer, got)
			})
		}
	}
	assert.Equal(t, 2, z.Queries("a.test.", dns.TypeMX))
	assert.Equal(t, 0, z.Queries("b.test.", dns.TypeMX))
	_, err = NewZone("not a record")
	assert.Error(t, err)
}

// TestFit: over UDP an answer larger than the client's buffer is cut
// and marked TC (512 bytes without EDNS0, the announced size with it);
// over TCP it arrives whole.
func TestFit(t *testing.T) {
	var records []string
	for i := range 60 {
		records = append(records, fmt.Sprintf("many.test. 60 IN A 127.0.1.%d", i+1))
	}
	z, err := NewZone(records...)
	require.NoError(t, err)
	s, err := Listen("127.0.0.1", z)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ask := func(network string, edns uint16) *dns.Msg {
		q := new(dns.Msg)
		q.SetQuestion("many.test.", dns.TypeA)
		if edns > 0 {
			q.SetEdns0(edns, false)
		}
		resp, _, err := (&dns.Client{Net: network, UDPSize: 65535}).Exchange(q, s.Addr)
		require.NoError(t, err)
		return resp
	}
	udp := ask("udp", 0)
	assert.True(t, udp.Truncated)
	udp.Compress = true // Len of the message as it came, compressed or not
	assert.LessOrEqual(t, udp.Len(), dns.MinMsgSize)
	assert.Less(t, len(udp.Answer), 60)
	big := ask("udp", 4096)
	assert.False(t, big.Truncated)
	assert.Len(t, big.Answer, 60)
	tcp := ask("tcp", 0)
	assert.False(t, tcp.Truncated)
	assert.Len(t, tcp.Answer, 60)
}
