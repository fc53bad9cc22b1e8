package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/peertext"
)

// tlsConfig returns a config that completes the handshake whatever the
// certificate, so that the probe can report what it saw (RFC 7435
// opportunistic security: an MTA at Postfix's "may" level does the same).
// Verification happens afterwards in verifyPeer, against the name the MX
// record gave.
func (p *prober) tlsConfig(serverName string) *tls.Config {
	return &tls.Config{
		ServerName:         serverName,
		InsecureSkipVerify: true, // verified by hand in verifyPeer, reported not enforced (unless --tls-verify)
		MinVersion:         tls.VersionTLS10,
	}
}

// handshake runs the TLS handshake on c's connection and replaces it with
// the TLS connection. phase is PhaseTLS for both SMTPS and STARTTLS. A
// failed handshake goes through the one failure mapper: a stopped probe
// or a timeout says so (and is not retried in clear), anything else is
// ErrTLS.
func (p *prober) handshake(c *conn, serverName string) *Error {
	start := time.Now()
	tc := tls.Client(c.nc, p.tlsConfig(serverName))
	_ = tc.SetDeadline(c.phaseDeadline())
	err := tc.Handshake()
	_ = tc.SetDeadline(time.Time{})
	step := Step{Phase: PhaseTLS, Start: start, Duration: time.Since(start)}
	if err != nil {
		e := c.failure(PhaseTLS, err)
		step.Err = e.Error()
		c.att.Steps = append(c.att.Steps, step)
		return e
	}
	c.att.Steps = append(c.att.Steps, step)
	info := tlsInfo(tc.ConnectionState(), serverName, p.cfg.TLSRoots, time.Now())
	if p.cfg.TLSSecure {
		matchNexthop(info, tc.ConnectionState(), c.att.nexthop, p.cfg.TLSRoots, time.Now())
	}
	c.att.TLS = info
	c.note(DirInfo, "TLS started: "+info.Version+" "+info.CipherSuite)
	c.nc = tc
	c.br.Reset(tc)
	if p.cfg.TLSVerify && !info.Verified {
		// smtp_proto.c smtp_start_tls(): at levels >= verify an untrusted
		// chain is "Server certificate not trusted"; above encrypt a name
		// that does not match is "Server certificate not verified".
		what := "server certificate not trusted: "
		if info.VerifyKind == VerifyHostname {
			what = "server certificate not verified: "
		}
		return &Error{Kind: ErrTLS, Phase: PhaseTLS, Detail: what + info.VerifyError}
	}
	return nil
}

// matchNexthop re-judges info for Postfix's "secure" level: the chain
// must verify, and the certificate must name the next-hop domain or one
// of its subdomains (smtp_tls_secure_cert_match = nexthop, dot-nexthop),
// not merely the MX host a DNS answer named.
func matchNexthop(info *TLSInfo, cs tls.ConnectionState, nexthop string, roots *x509.CertPool, now time.Time) {
	nexthop = strings.ToLower(strings.TrimSuffix(nexthop, "."))
	info.MatchNames = []string{nexthop, "." + nexthop}
	if len(cs.PeerCertificates) == 0 {
		return
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now}); err != nil {
		// The chain itself fails: that verdict (expired, unknown
		// authority…) stands, whatever the name.
		if info.Verified || info.VerifyKind == VerifyHostname {
			info.Verified, info.VerifyKind = false, VerifyOther
			info.VerifyError = peertext.Neutralise(err.Error())
		}
		return
	}
	if leaf.VerifyHostname(nexthop) == nil {
		info.Verified, info.VerifyError, info.VerifyKind = true, "", VerifyOK
		return
	}
	for _, n := range leaf.DNSNames {
		if n = strings.ToLower(n); strings.HasSuffix(n, "."+nexthop) {
			info.Verified, info.VerifyError, info.VerifyKind = true, "", VerifyOK
			return
		}
	}
	info.Verified, info.VerifyKind = false, VerifyHostname
	info.VerifyError = "certificate is not valid for the next-hop domain " + peertext.Neutralise(nexthop) + " or its subdomains (names: " + strings.Join(info.DNSNames, ", ") + ")"
}

// tlsInfo gathers the facts an admin asks about: protocol, cipher, who the
// certificate is for, who issued it, when it expires and whether it
// verifies for the MX name.
func tlsInfo(cs tls.ConnectionState, serverName string, roots *x509.CertPool, now time.Time) *TLSInfo {
	info := &TLSInfo{
		Version:     tls.VersionName(cs.Version),
		CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ServerName:  serverName,
	}
	if len(cs.PeerCertificates) == 0 {
		info.VerifyError, info.VerifyKind = "server sent no certificate", VerifyOther
		return info
	}
	leaf := cs.PeerCertificates[0]
	// The certificate is the peer's text: pkix.Name.String escapes RFC
	// 4514 specials but passes controls and bidi characters through.
	info.Subject = peertext.Neutralise(leaf.Subject.String())
	info.Issuer = peertext.Neutralise(leaf.Issuer.String())
	info.DNSNames = peertext.All(slices.Clone(leaf.DNSNames))
	info.NotBefore, info.NotAfter = leaf.NotBefore, leaf.NotAfter
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: serverName, Roots: roots, Intermediates: inter, CurrentTime: now})
	if err == nil {
		info.Verified = true
		return info
	}
	info.VerifyError = peertext.Neutralise(err.Error()) // x509 errors quote the certificate's names
	var inv x509.CertificateInvalidError
	var host x509.HostnameError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		info.VerifyKind = VerifyExpired
		if now.Before(leaf.NotBefore) {
			info.VerifyKind = VerifyNotYetValid
		}
	case errors.As(err, &host):
		info.VerifyKind = VerifyHostname
	case errors.As(err, &ua):
		info.VerifyKind = VerifyUnknownAuthority
		if leaf.Issuer.String() == leaf.Subject.String() {
			info.VerifyError = "self-signed certificate: " + info.VerifyError
		}
	default:
		info.VerifyKind = VerifyOther
	}
	return info
}

// offersSTARTTLS reports whether the EHLO reply advertised STARTTLS.
func offersSTARTTLS(ext map[string]string) bool {
	_, ok := ext["STARTTLS"]
	return ok
}

// serverNameFor is the name a certificate must carry: the MX host name
// with any trailing dot removed.
func serverNameFor(host string) string { return strings.TrimSuffix(host, ".") }
