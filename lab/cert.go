package lab

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"
)

// CertKind selects the certificate a script's "tls" step presents. Each
// kind fails verification in exactly one way, so a probe's TLS report can
// be checked for precision ("expired" rather than just "does not verify").
type CertKind string

const (
	// CertSelfSigned is issued by itself for localhost, 127.0.0.1 and
	// mx.script.lab.test: right name, current, unknown authority. It is
	// what "tls" without an argument uses.
	CertSelfSigned CertKind = "self-signed"
	// CertValid is issued by the script CA (ScriptRootCAs) for the same
	// names: it verifies when the CA is trusted.
	CertValid CertKind = "valid"
	// CertExpired is issued by the script CA for the same names, but its
	// validity ended a day ago.
	CertExpired CertKind = "expired"
	// CertWrongName is issued by the script CA, current, for
	// wrong-name.invalid only (RFC 2606 reserves .invalid).
	CertWrongName CertKind = "wrong-name"
	// CertHostile is self-signed, with a subject, issuer and names full
	// of what a hostile peer would put there: terminal escapes, a bell,
	// a right-to-left override, a zero-width space. It tests that a
	// certificate's text never reaches the user raw.
	CertHostile CertKind = "hostile"
)

// HostileCertCN is the common name of CertHostile, raw.
const HostileCertCN = "\x1b]0;pwned\x07mx\u202elab.test\u200b\x1b[2J"

// certKinds lists the kinds in the order the script syntax documents them.
var certKinds = []CertKind{CertSelfSigned, CertValid, CertExpired, CertWrongName, CertHostile}

// scriptCertNames are the names the script certificates (but wrong-name)
// are valid for: what a test dials a ScriptServer by.
var scriptCertNames = []string{"localhost", "mx.script.lab.test"}

type certSpec struct {
	cn        string
	org       string // "" means "mailprobe lab"
	dnsNames  []string
	ips       []net.IP
	notBefore time.Time
	notAfter  time.Time
	isCA      bool
}

// newCert creates an ECDSA P-256 certificate (P-256 key generation takes
// microseconds where RSA-2048 takes tens of milliseconds — Start must stay
// fast). A nil parent makes it self-signed.
func newCert(spec certSpec, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("lab: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("lab: generating serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.cn, Organization: []string{cmp.Or(spec.org, "mailprobe lab")}},
		DNSNames:              spec.dnsNames,
		IPAddresses:           spec.ips,
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if spec.isCA {
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("lab: creating certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("lab: parsing certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf, nil
}

// scriptPKI is created once per process: scripts may start TLS in many
// tests, and the certificates carry no per-test state.
var scriptPKI struct {
	once  sync.Once
	err   error
	pool  *x509.CertPool
	certs map[CertKind]tls.Certificate
}

func initScriptPKI() error {
	scriptPKI.once.Do(func() {
		now := time.Now()
		_, ca, err := newCertWithKey(certSpec{
			cn: "mailprobe lab script CA", notBefore: now.Add(-time.Hour), notAfter: now.Add(30 * 24 * time.Hour), isCA: true,
		})
		if err != nil {
			scriptPKI.err = err
			return
		}
		loop := []net.IP{net.IPv4(127, 0, 0, 1)}
		specs := map[CertKind]certSpec{
			CertSelfSigned: {cn: scriptCertNames[0], dnsNames: scriptCertNames, ips: loop, notBefore: now.Add(-time.Hour), notAfter: now.Add(30 * 24 * time.Hour)},
			CertValid:      {cn: scriptCertNames[0], dnsNames: scriptCertNames, ips: loop, notBefore: now.Add(-time.Hour), notAfter: now.Add(30 * 24 * time.Hour)},
			CertExpired:    {cn: scriptCertNames[0], dnsNames: scriptCertNames, ips: loop, notBefore: now.Add(-30 * 24 * time.Hour), notAfter: now.Add(-24 * time.Hour)},
			CertWrongName:  {cn: "wrong-name.invalid", dnsNames: []string{"wrong-name.invalid"}, notBefore: now.Add(-time.Hour), notAfter: now.Add(30 * 24 * time.Hour)},
			CertHostile: {cn: HostileCertCN, org: "\u202eevil\u2066corp\u061c\ufeff\u009b31m", dnsNames: []string{"\x1b[31m.hostile.lab.test", "bell\x07.hostile.lab.test"},
				notBefore: now.Add(-time.Hour), notAfter: now.Add(30 * 24 * time.Hour)},
		}
		scriptPKI.certs = make(map[CertKind]tls.Certificate, len(specs))
		for kind, spec := range specs {
			var c tls.Certificate
			if kind == CertSelfSigned || kind == CertHostile {
				c, _, err = newCert(spec, nil, nil)
			} else {
				c, _, err = newCert(spec, ca.leaf, ca.key)
			}
			if err != nil {
				scriptPKI.err = err
				return
			}
			scriptPKI.certs[kind] = c
		}
		scriptPKI.pool = x509.NewCertPool()
		scriptPKI.pool.AddCert(ca.leaf)
	})
	return scriptPKI.err
}

type keyedCert struct {
	leaf *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCertWithKey(spec certSpec) (tls.Certificate, keyedCert, error) {
	c, leaf, err := newCert(spec, nil, nil)
	if err != nil {
		return c, keyedCert{}, err
	}
	return c, keyedCert{leaf: leaf, key: c.PrivateKey.(*ecdsa.PrivateKey)}, nil
}

// ScriptRootCAs returns a pool holding the CA that issued the valid,
// expired and wrong-name script certificates, for tests that want
// verification to fail for one reason only.
func ScriptRootCAs() (*x509.CertPool, error) {
	if err := initScriptPKI(); err != nil {
		return nil, err
	}
	return scriptPKI.pool.Clone(), nil
}

func scriptTLSConfig(kind CertKind) (*tls.Config, error) {
	if err := initScriptPKI(); err != nil {
		return nil, err
	}
	c, ok := scriptPKI.certs[kind]
	if !ok {
		return nil, fmt.Errorf("%w: unknown certificate kind %q", ErrScriptSyntax, kind)
	}
	return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}, nil
}
