package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mailprobe/mailprobe/internal/dnsserve"
	"github.com/mailprobe/mailprobe/internal/fakemta"

	"github.com/emersion/go-smtp"
)

// Options tune a Lab. The zero value is what tests and the demo use.
type Options struct {
	// SilentGreetingTimeout is how long mx1.silent.lab.test holds a
	// connection without greeting before it closes it. Zero holds it
	// until the client hangs up or the lab closes, so the prober's own
	// greeting timeout always decides (the silent scenario's Want).
	SilentGreetingTimeout time.Duration
	// Logf receives errors the SMTP servers report (a client that drops
	// mid-command, a failed TLS handshake). Nil discards them.
	Logf func(format string, args ...any)
	// Now is the instant the STARTTLS scenario's certificate is made
	// for (valid from an hour before to 30 days after); zero is the
	// time of Start. Labs given the same Now present certificates with
	// the same validity, which a probe reports to the second: two labs
	// started a moment apart on either side of a second differ there.
	Now time.Time
}

// Lab is a running lab: DNS on 127.0.0.1:Port, SMTP and LMTP servers on
// 127.0.0.10 and up, all on the same Port, and an LMTP unix socket.
type Lab struct {
	opts    Options
	port    int
	dir     string
	cert    *x509.Certificate
	rec     *fakemta.Recorder
	grey    greylist
	expand  *strings.Replacer
	dns     *dnsserve.Server
	smtp    []*smtp.Server
	taps    []*fakemta.TapListener // every go-smtp listener, so Close can end its connections
	scripts []*fakemta.ScriptServer
	serveWG sync.WaitGroup
	stop    func() bool // undoes the context.AfterFunc
	once    sync.Once
	err     error
}

// bindAttempts bounds the search for a port that is free on every lab
// address at once.
const bindAttempts = 20

// dnsIP is where the DNS server listens; scenario servers start at .10.
const dnsIP = "127.0.0.1"

// Start starts a lab and returns once every server accepts connections.
// It binds a free port P on 127.0.0.1 (DNS, UDP and TCP) and the same P
// on each scenario server's address, so a prober given the lab's DNS and
// --port P reaches every MX host. Cancelling ctx closes the lab, as
// Close does.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	z, err := getZone()
	if err != nil {
		return nil, err
	}
	l := &Lab{opts: opts, rec: &fakemta.Recorder{}}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	// The STARTTLS scenario's certificate: self-signed, for the MX name
	// the prober connects to (so only the authority is unknown).
	tlsCert, err := fakemta.NewCert(fakemta.CertSpec{
		CN: "mx1.tls.lab.test", Org: "mailprobe lab", DNSNames: []string{"mx1.tls.lab.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
	}, nil)
	if err != nil {
		return nil, err
	}
	l.cert = tlsCert.Leaf
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{tlsCert}, MinVersion: tls.VersionTLS12}

	scripts := make(map[string]*fakemta.Script)
	for _, spec := range labServers {
		if spec.kind != kindScript {
			continue
		}
		text := spec.script
		if text == "{silent}" {
			text = "hang"
			if d := opts.SilentGreetingTimeout; d > 0 {
				text = "sleep " + d.String() + "\nclose"
			}
		}
		if scripts[spec.ip], err = fakemta.ParseScript(spec.name, text); err != nil {
			return nil, err
		}
	}

	b, err := bindLab()
	if err != nil {
		return nil, err
	}
	l.port = b.port
	l.dir, err = os.MkdirTemp("", "mailprobe-lab-")
	if err != nil {
		b.closeAll()
		return nil, fmt.Errorf("lab: %w", err)
	}
	l.expand = strings.NewReplacer("{port}", strconv.Itoa(l.port), "{dir}", l.dir)
	unixLn, err := net.Listen("unix", l.LMTPSocket())
	if err != nil {
		b.closeAll()
		_ = os.RemoveAll(l.dir)
		return nil, fmt.Errorf("lab: LMTP socket: %w", err)
	}

	logger := smtpLogger{l.opts.Logf}
	for i := range labServers {
		spec := &labServers[i]
		ln := b.smtp[spec.ip]
		switch spec.kind {
		case kindSMTP, kindLMTP:
			srv := smtp.NewServer(&backend{lab: l, spec: spec})
			srv.Domain = spec.name
			srv.LMTP = spec.kind == kindLMTP
			srv.ErrorLog = logger
			if spec.starttls != fakemta.STARTTLSNone {
				// Only so go-smtp advertises STARTTLS; the tap answers it.
				srv.TLSConfig = tlsCfg
			}
			l.smtp = append(l.smtp, srv)
			l.serveSMTP(srv, ln, spec, tlsCfg)
			if spec.kind == kindLMTP {
				l.serveSMTP(srv, unixLn, spec, tlsCfg)
			}
		case kindScript:
			ss, err := fakemta.ServeScript(ln, scripts[spec.ip], spec.name, l.rec)
			if err != nil { // only an empty script, which ParseScript never returns
				b.closeAll()
				_ = unixLn.Close()
				_ = l.Close()
				return nil, err
			}
			l.scripts = append(l.scripts, ss)
		}
	}

	l.dns = dnsserve.Start(b.udp, b.tcp, z)
	l.stop = context.AfterFunc(ctx, func() { _ = l.Close() })
	return l, nil
}

func (l *Lab) serveSMTP(srv *smtp.Server, ln net.Listener, spec *serverSpec, tlsCfg *tls.Config) {
	t := &fakemta.TapListener{Listener: ln, Server: spec.name, Rec: l.rec, STARTTLS: spec.starttls, TLSConfig: tlsCfg}
	l.taps = append(l.taps, t)
	l.serveWG.Add(1)
	go func() {
		defer l.serveWG.Done()
		_ = srv.Serve(t)
	}()
}

// bound holds the sockets of one successful bind.
type bound struct {
	port int
	tcp  net.Listener   // 127.0.0.1:P, DNS over TCP
	udp  net.PacketConn // 127.0.0.1:P, DNS over UDP
	smtp map[string]net.Listener
}

func (b *bound) closeAll() {
	if b.tcp != nil {
		_ = b.tcp.Close()
	}
	if b.udp != nil {
		_ = b.udp.Close()
	}
	for _, ln := range b.smtp {
		_ = ln.Close()
	}
}

// bindLab finds a port P free on 127.0.0.1 (TCP and UDP) and on every
// server address: the kernel picks P for 127.0.0.1, the other addresses
// are tried with the same P, and any conflict starts over with a new P.
func bindLab() (*bound, error) {
	var last error
	for attempt := 0; attempt < bindAttempts; attempt++ {
		b := &bound{smtp: make(map[string]net.Listener)}
		tcp, err := net.Listen("tcp", net.JoinHostPort(dnsIP, "0"))
		if err != nil {
			return nil, fmt.Errorf("lab: listening on %s: %w", dnsIP, err)
		}
		b.tcp = tcp
		b.port = tcp.Addr().(*net.TCPAddr).Port
		p := strconv.Itoa(b.port)
		b.udp, err = net.ListenPacket("udp", net.JoinHostPort(dnsIP, p))
		for i := 0; err == nil && i < len(labServers); i++ {
			spec := labServers[i]
			if spec.kind == kindDead {
				continue
			}
			var ln net.Listener
			ln, err = net.Listen("tcp", net.JoinHostPort(spec.ip, p))
			if err == nil {
				b.smtp[spec.ip] = ln
			}
		}
		if err == nil {
			return b, nil
		}
		b.closeAll()
		last = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			// Not a port clash (no 127/8 beyond .1, say): another
			// port will not help.
			return nil, fmt.Errorf("lab: binding the lab addresses: %w", err)
		}
	}
	return nil, fmt.Errorf("lab: no port free on every lab address after %d attempts: %w", bindAttempts, last)
}

// Close stops every server, ends every connection and removes the socket
// directory. It waits for the servers' goroutines and may be called more
// than once.
func (l *Lab) Close() error {
	l.once.Do(func() {
		if l.stop != nil {
			l.stop()
		}
		var errs []error
		for _, t := range l.taps {
			_ = t.Close()
		}
		if l.dns != nil {
			if err := l.dns.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		// Serve has returned for every listener before go-smtp's
		// Shutdown waits on its connection goroutines.
		l.serveWG.Wait()
		l.shutdownSMTP()
		for _, ss := range l.scripts {
			_ = ss.Close()
		}
		if err := os.RemoveAll(l.dir); err != nil {
			errs = append(errs, err)
		}
		l.err = errors.Join(errs...)
	})
	return l.err
}

func (l *Lab) shutdownSMTP() {
	for _, t := range l.taps {
		t.CloseConns()
	}
	for _, srv := range l.smtp {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
}

// DNSAddr is the lab's DNS server, "127.0.0.1:P" (UDP and TCP).
func (l *Lab) DNSAddr() string { return net.JoinHostPort(dnsIP, strconv.Itoa(l.port)) }

// Port is the port every lab server listens on.
func (l *Lab) Port() int { return l.port }

// LMTPSocket is the path of the LMTP server's unix socket.
func (l *Lab) LMTPSocket() string { return filepath.Join(l.dir, "lmtp.sock") }

// Certificate is the self-signed certificate mx1.tls.lab.test presents
// after STARTTLS.
func (l *Lab) Certificate() *x509.Certificate { return l.cert }

// Expand fills in the placeholders a scenario's text may carry: {port}
// (the lab's port) and {dir} (the directory of the LMTP socket).
func (l *Lab) Expand(s string) string { return l.expand.Replace(s) }

// Scenarios returns every scenario in a fixed order. Server is filled in
// for this lab; Want.Reason keeps its placeholders (pass it to Expand), so
// output that prints it can stay the same from run to run.
func (l *Lab) Scenarios() []Scenario {
	out := make([]Scenario, len(scenarioTemplates))
	for i, sc := range scenarioTemplates {
		sc.Server = l.Expand(sc.Server)
		sc.DNS = append([]string(nil), sc.DNS...)
		out[i] = sc
	}
	return out
}

// Scenario returns the named scenario.
func (l *Lab) Scenario(name string) (Scenario, bool) {
	for _, sc := range l.Scenarios() {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

// Commands returns every command line the lab's servers received, in
// arrival order per connection.
func (l *Lab) Commands() []fakemta.Command { return l.rec.Commands() }

// SawVerb reports whether any lab server received a line with this verb
// (case-insensitive), e.g. SawVerb("DATA").
func (l *Lab) SawVerb(verb string) bool { return l.rec.SawVerb(verb) }

// ResetGreylist forgets every greylisting triplet, so the greylisted
// scenario defers again.
func (l *Lab) ResetGreylist() { l.grey.reset() }

// smtpLogger adapts Options.Logf to go-smtp's logger.
type smtpLogger struct{ logf func(string, ...any) }

func (s smtpLogger) Printf(format string, v ...any) {
	if s.logf != nil {
		s.logf("lab: "+format, v...)
	}
}

func (s smtpLogger) Println(v ...any) {
	if s.logf != nil {
		s.logf("lab: %s", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
	}
}
