package fakemta

import (
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

// CertSpec describes a certificate NewCert creates.
type CertSpec struct {
	CN        string
	Org       string // "" leaves the subject without an organization
	DNSNames  []string
	IPs       []net.IP
	NotBefore time.Time
	NotAfter  time.Time
	IsCA      bool
}

// scriptOrg is the organization of the script certificates and of the
// lab's: a probe reports it ("O=mailprobe lab"), so the demo shows it.
const scriptOrg = "mailprobe lab"

// NewCert creates an ECDSA P-256 certificate (P-256 key generation takes
// microseconds where RSA-2048 takes tens of milliseconds — a lab's Start
// must stay fast), issued by parent, or self-signed when parent is nil.
// The result carries its parsed Leaf.
func NewCert(spec CertSpec, parent *tls.Certificate) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fakemta: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fakemta: generating serial: %w", err)
	}
	subject := pkix.Name{CommonName: spec.CN}
	if spec.Org != "" {
		subject.Organization = []string{spec.Org}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		DNSNames:              spec.DNSNames,
		IPAddresses:           spec.IPs,
		NotBefore:             spec.NotBefore,
		NotAfter:              spec.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if spec.IsCA {
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	signer, signerKey := tmpl, any(key)
	if parent != nil {
		signer, signerKey = parent.Leaf, parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fakemta: creating certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fakemta: parsing certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
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
		ca, err := NewCert(CertSpec{
			CN: "mailprobe lab script CA", Org: scriptOrg, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour), IsCA: true,
		}, nil)
		if err != nil {
			scriptPKI.err = err
			return
		}
		loop := []net.IP{net.IPv4(127, 0, 0, 1)}
		specs := map[CertKind]CertSpec{
			CertSelfSigned: {CN: scriptCertNames[0], Org: scriptOrg, DNSNames: scriptCertNames, IPs: loop, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)},
			CertValid:      {CN: scriptCertNames[0], Org: scriptOrg, DNSNames: scriptCertNames, IPs: loop, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)},
			CertExpired:    {CN: scriptCertNames[0], Org: scriptOrg, DNSNames: scriptCertNames, IPs: loop, NotBefore: now.Add(-30 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)},
			CertWrongName:  {CN: "wrong-name.invalid", Org: scriptOrg, DNSNames: []string{"wrong-name.invalid"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)},
			CertHostile: {CN: HostileCertCN, Org: "\u202eevil\u2066corp\u061c\ufeff\u009b31m", DNSNames: []string{"\x1b[31m.hostile.lab.test", "bell\x07.hostile.lab.test"},
				NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)},
		}
		scriptPKI.certs = make(map[CertKind]tls.Certificate, len(specs))
		for kind, spec := range specs {
			parent := &ca
			if kind == CertSelfSigned || kind == CertHostile {
				parent = nil
			}
			c, err := NewCert(spec, parent)
			if err != nil {
				scriptPKI.err = err
				return
			}
			scriptPKI.certs[kind] = c
		}
		scriptPKI.pool = x509.NewCertPool()
		scriptPKI.pool.AddCert(ca.Leaf)
	})
	return scriptPKI.err
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
