package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
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

// ErrDataBeforeTLS: the server sent bytes together with (or right
// after) its 220 reply to STARTTLS. RFC 3207 §4 has the client start the
// handshake on the 220; anything already there is either a server out of
// step or text injected by someone in the path, to be read as if it came
// over TLS afterwards. It is never fed to the handshake.
var ErrDataBeforeTLS = fmt.Errorf("%w: the server sent data after its 220 reply to STARTTLS, before the TLS handshake", ErrProtocol)

// plaintextFallback reports whether a failed attempt at the "may" level is
// retried in clear, as Postfix does (PLAINTEXT_FALLBACK_OK_AFTER_STARTTLS_
// FAILURE, smtp_proto.c): whatever went wrong after the server accepted
// STARTTLS — a handshake that failed (a fatal alert, plaintext where the
// ServerHello belongs, a peer that hung up), one that stalled until the
// timeout, or data that came with the 220 — the next attempt talks
// without TLS and is labelled so. Not at encrypt or above (TLSAlways,
// --tls-verify), not for SMTPS (there is no clear text on that port),
// and not when the probe itself was stopped (its deadline, Ctrl-C).
func (p *prober) plaintextFallback(att *Attempt, mode TLSMode) bool {
	if att.Err == nil || mode != TLSAuto || p.cfg.TLSVerify || p.cfg.Protocol == ProtocolSMTPS {
		return false
	}
	e := att.Err
	for _, stop := range []error{ErrDeadline, ErrInterrupted} {
		if errors.Is(e.Kind, stop) {
			return false
		}
	}
	switch {
	case e.Phase == PhaseTLS:
		return errors.Is(e.Kind, ErrTLS) || errors.Is(e.Kind, ErrTimeout) || errors.Is(e.Kind, ErrLost) || errors.Is(e.Kind, ErrProtocol)
	case e.Phase == PhaseSTARTTLS:
		return errors.Is(e, ErrDataBeforeTLS)
	}
	return false
}
