package dnsserve

import (
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
