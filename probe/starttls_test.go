package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCert makes a certificate for name valid from notBefore to notAfter,
// signed by ca (self-signed when ca is nil).
func testCert(t *testing.T, name string, notBefore, notAfter time.Time, ca *tls.Certificate) tls.Certificate {
	t.Helper()
	c, err := fakemta.NewCert(fakemta.CertSpec{CN: name, DNSNames: []string{name}, NotBefore: notBefore, NotAfter: notAfter, IsCA: ca == nil}, ca)
	require.NoError(t, err)
	return c
}

func TestSTARTTLSFacts(t *testing.T) {
	now := time.Now()
	ca := testCert(t, "Lab CA", now.Add(-time.Hour), now.Add(24*time.Hour), nil)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Leaf)

	tests := []struct {
		name     string
		cert     tls.Certificate
		verified bool
		kind     string
	}{
		{"valid for the MX name", testCert(t, "mx.lab.test", now.Add(-time.Hour), now.Add(time.Hour), &ca), true, ""},
		{"expired", testCert(t, "mx.lab.test", now.Add(-48*time.Hour), now.Add(-24*time.Hour), &ca), false, "expired"},
		{"wrong name", testCert(t, "other.lab.test", now.Add(-time.Hour), now.Add(time.Hour), &ca), false, "hostname"},
		{"self-signed", testCert(t, "mx.lab.test", now.Add(-time.Hour), now.Add(time.Hour), nil), false, "unknown-authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, rec := testServer(t, false, knownUsers("a@lab.test"), func(s *smtp.Server) {
				s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{tt.cert}}
			})
			_, port, _ := net.SplitHostPort(addr)
			cfg := baseConfig("mx.lab.test:" + port)
			cfg.Server.Host = "127.0.0.1"
			cfg.STARTTLS = TLSAuto
			cfg.TLSRoots = roots
			// The certificate is checked against the MX name, so probe
			// a literal address but name the host.
			res, err := runNamed(t, cfg, "mx.lab.test", "a@lab.test")
			require.NoError(t, err)
			o := res.Recipients[0]
			require.NotNil(t, o.Reply)
			assert.Equal(t, 250, o.Reply.Code, "a bad certificate is reported, not fatal, unless --tls-verify")
			tlsInfo := o.Attempt.TLS
			require.NotNil(t, tlsInfo)
			assert.Equal(t, tt.verified, tlsInfo.Verified, tlsInfo.VerifyError)
			assert.Equal(t, VerifyKind(tt.kind), tlsInfo.VerifyKind)
			assert.NotEmpty(t, tlsInfo.Version)
			assert.Contains(t, tlsInfo.Subject, "CN=")
			requireNoData(t, rec)
			assert.Contains(t, rec.Lines(), "STARTTLS")
		})
	}
}

// runNamed probes through a target whose host name differs from its
// address, as an MX host's does.
func runNamed(t *testing.T, cfg Config, host, rcpt string) (*Result, error) {
	t.Helper()
	p := &prober{cfg: cfg, from: cfg.From}
	if p.cfg.Port == 0 {
		p.cfg.Port = 25
	}
	if p.cfg.MaxAddresses == 0 {
		p.cfg.MaxAddresses, p.cfg.MaxSessions = 5, 2
	}
	port := cfg.Server.Port
	a := mustTarget(t, rcpt).Address
	o := &Outcome{Recipient: rcpt}
	g := &group{dom: &DomainResult{Domain: a.ASCIIDomain}, rcpts: []*pending{{addr: a, out: o}}}
	p.probeInOrder(context.Background(), g, []target{{host: host, address: cfg.Server.Host, port: port, network: "tcp"}})
	r := g.rcpts[0]
	o.Phase, o.Reply = r.res.Phase, r.res.Reply
	return &Result{Recipients: []*Outcome{o}, Domains: []*DomainResult{g.dom}}, nil
}

func TestSTARTTLSAlwaysWithoutOffer(t *testing.T) {
	addr, rec := testServer(t, false, knownUsers("a@lab.test"))
	cfg := baseConfig(addr)
	cfg.STARTTLS = TLSAlways
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test")})
	require.NoError(t, err)
	o := res.Recipients[0]
	assert.ErrorIs(t, o.Err, ErrTLSRequired)
	assert.Equal(t, PhaseSTARTTLS, o.Phase)
	assert.NotContains(t, rec.Lines(), "MAIL FROM:<postmaster@probe.example.net>")
}

func TestSTARTTLSVerifyFatal(t *testing.T) {
	now := time.Now()
	cert := testCert(t, "mx.lab.test", now.Add(-time.Hour), now.Add(time.Hour), nil)
	addr, _ := testServer(t, false, knownUsers("a@lab.test"), func(s *smtp.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	cfg := baseConfig(addr)
	cfg.STARTTLS = TLSAuto
	cfg.TLSVerify = true
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test")})
	require.NoError(t, err)
	o := res.Recipients[0]
	assert.ErrorIs(t, o.Err, ErrTLS)
	assert.Equal(t, PhaseTLS, o.Phase)
}

// TestSMTPS: implicit TLS (RFC 8314) — the handshake comes before the
// greeting, and no STARTTLS is sent.
func TestSMTPS(t *testing.T) {
	now := time.Now()
	cert := testCert(t, "mx.lab.test", now.Add(-time.Hour), now.Add(time.Hour), nil)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	rec := fakemta.StartSMTP(t, &fakemta.SMTP{Listener: l, Domain: "mx.lab.test", Rcpt: knownUsers("a@lab.test")})

	cfg := baseConfig(l.Addr().String())
	cfg.Protocol = ProtocolSMTPS
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test")})
	require.NoError(t, err)
	o := res.Recipients[0]
	require.NotNil(t, o.Reply, "err: %v", o.Err)
	assert.Equal(t, 250, o.Reply.Code)
	require.NotNil(t, o.Attempt.TLS)
	assert.False(t, o.Attempt.TLS.Verified, "a self-signed certificate for another name")
	assert.NotEmpty(t, o.Attempt.TLS.Version)
	assert.Equal(t, PhaseTLS, o.Attempt.Steps[1].Phase, "the handshake precedes the greeting")
	assert.NotContains(t, rec.Lines(), "STARTTLS")
	requireNoData(t, rec)
}
