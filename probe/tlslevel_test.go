package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseTLSLevel: #10 item 7. Postfix's level names beside the
// probe's own; dane is refused with its reason, not read as may.
func TestParseTLSLevel(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		mode    TLSMode
		verify  bool
		nexthop bool
	}{
		{"none", "none", TLSNever, false, false},
		{"never", "none", TLSNever, false, false},
		{"may", "may", TLSAuto, false, false},
		{"auto", "may", TLSAuto, false, false},
		{"encrypt", "encrypt", TLSAlways, false, false},
		{"always", "encrypt", TLSAlways, false, false},
		{"verify", "verify", TLSAlways, true, false},
		{"secure", "secure", TLSAlways, true, true},
	}
	for _, tt := range tests {
		l, err := ParseTLSLevel(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, TLSLevel{Name: tt.name, Mode: tt.mode, Verify: tt.verify, Nexthop: tt.nexthop}, l, tt.in)
	}
	_, err := ParseTLSLevel("dane")
	assert.ErrorIs(t, err, ErrDANE)
	_, err = ParseTLSLevel("bogus")
	assert.Error(t, err)

	o := DefaultOptions()
	o.Server, o.DNSBL, o.STARTTLS = "127.0.0.1", "never", "dane"
	_, err = NewConfig(o)
	require.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), "DANE is not checked yet")
}

// TestTLSLevels: #10 item 7 with Postfix's semantics (smtp_proto.c
// smtp_start_tls): encrypt takes any certificate; verify needs a trusted
// one for the MX host name ("Server certificate not trusted" otherwise);
// secure needs one for the next-hop domain or a subdomain ("Server
// certificate not verified" for a trusted certificate of another name).
func TestTLSLevels(t *testing.T) {
	now := time.Now()
	ca := testCert(t, "Lab CA", now.Add(-time.Hour), now.Add(24*time.Hour), nil)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Leaf)
	own := testCert(t, "mx.lab.test", now.Add(-time.Hour), now.Add(time.Hour), &ca)         // under the recipient domain
	hosted := testCert(t, "mx.provider.test", now.Add(-time.Hour), now.Add(time.Hour), &ca) // the MX is a provider's
	self := testCert(t, "mx.provider.test", now.Add(-time.Hour), now.Add(time.Hour), nil)   // self-signed
	tests := []struct {
		name, level, host string
		cert              tls.Certificate
		ok                bool
		detail            string
	}{
		{"encrypt takes a self-signed certificate", "encrypt", "mx.provider.test", self, true, ""},
		{"verify refuses an untrusted one", "verify", "mx.provider.test", self, false, "server certificate not trusted"},
		{"verify takes a trusted one for the MX name", "verify", "mx.provider.test", hosted, true, ""},
		{"secure refuses the MX name when it is not under the domain", "secure", "mx.provider.test", hosted, false, "server certificate not verified"},
		{"secure takes a subdomain of the next hop", "secure", "mx.lab.test", own, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := testServer(t, false, knownUsers("a@lab.test"), func(s *smtp.Server) {
				s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{tt.cert}}
			})
			_, port, _ := net.SplitHostPort(addr)
			o := DefaultOptions()
			o.Server, o.DNSBL, o.STARTTLS, o.HELO, o.From = "127.0.0.1:"+port, "never", tt.level, "probe.lab.test", "postmaster@probe.lab.test"
			cfg, err := NewConfig(o)
			require.NoError(t, err)
			cfg.TLSRoots = roots
			p := newProber(cfg)
			a := mustTarget(t, "a@lab.test").Address
			out := &Outcome{Recipient: a.String()}
			g := &group{dom: &DomainResult{Domain: "lab.test"}, rcpts: []*pending{{addr: a, out: out}}}
			p.probeInOrder(context.Background(), g, []target{{host: tt.host, address: "127.0.0.1", port: cfg.Server.Port, network: "tcp", nexthop: "lab.test"}})
			r := g.rcpts[0].res
			if tt.ok {
				require.NotNil(t, r.Reply, "%v", r.Err)
				assert.Equal(t, 250, r.Reply.Code)
				return
			}
			require.NotNil(t, r.Err)
			assert.ErrorIs(t, r.Err, ErrTLS)
			assert.Contains(t, r.Err.Error(), tt.detail)
		})
	}
}
