package fakemta

import (
	"errors"
	"io"
	"net"
	"sync"

	"github.com/emersion/go-smtp"
)

// SMTP is a well-behaved server: go-smtp (SMTP or LMTP) on 127.0.0.1
// behind a TapListener, answering RCPT from a callback (model: go-smtp's
// server_test.go testServer). It records every line below go-smtp, and
// the HELO name, sender and recipient of every session as go-smtp parsed
// them. It never accepts message content, and the test fails if a client
// sent DATA or BDAT: every user of it is a probe that must never send
// either. Set the fields, then StartSMTP it.
type SMTP struct {
	// Listener, when set, is served instead of a new 127.0.0.1 listener:
	// a unix socket, a tls.Listen listener (implicit TLS), a filter.
	Listener net.Listener
	Domain   string // the name go-smtp greets with; default "mx.test"
	LMTP     bool
	// Rcpt answers RCPT TO for an address as sent, without angle
	// brackets; nil accepts every recipient. Return an *smtp.SMTPError
	// for an exact reply.
	Rcpt func(to string) error
	// Mail, when set, answers MAIL FROM the same way.
	Mail func(from string) error
	// Configure, when set, changes any other go-smtp setting (TLSConfig,
	// EnableSMTPUTF8…) before the server starts. With a TLSConfig the
	// TapListener terminates STARTTLS (STARTTLSOffer).
	Configure func(*smtp.Server)

	Addr      string // the listener's address ("127.0.0.1:port", a socket path), set by StartSMTP
	*Recorder        // every line received, set by StartSMTP

	mu                  sync.Mutex
	hellos, mails, rcpt []string
}

// StartSMTP serves s until the test ends.
func StartSMTP(tb TB, s *SMTP) *SMTP {
	tb.Helper()
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = listenLoopback(); err != nil {
			tb.Fatalf("%v", err)
		}
	}
	s.Addr = ln.Addr().String()
	s.Recorder = &Recorder{}
	srv := smtp.NewServer(smtpBackend{s})
	srv.Domain = "mx.test"
	if s.Domain != "" {
		srv.Domain = s.Domain
	}
	srv.LMTP = s.LMTP
	srv.AllowInsecureAuth = true
	if s.Configure != nil {
		s.Configure(srv)
	}
	tap := &TapListener{Listener: ln, Server: srv.Domain, Rec: s.Recorder}
	if srv.TLSConfig != nil {
		// go-smtp then only advertises STARTTLS; the tap answers it, so
		// that the recorder stays on the plaintext side (and go-smtp's
		// handshake would meet the line tap).
		tap.STARTTLS, tap.TLSConfig = STARTTLSOffer, srv.TLSConfig
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(tap)
	}()
	tb.Cleanup(func() {
		_ = srv.Close()
		// go-smtp's Close closes only the listeners Serve has registered:
		// when the test ends before Serve ran, Serve would accept forever.
		_ = tap.Close()
		tap.CloseConns()
		<-done
		for _, v := range []string{"DATA", "BDAT"} {
			if s.SawVerb(v) {
				tb.Errorf("fakemta: the client sent %s: %q", v, s.Lines())
			}
		}
	})
	return s
}

// Hellos are the HELO/EHLO/LHLO names, one per session.
func (s *SMTP) Hellos() []string { return s.list(&s.hellos) }

// Mails are the reverse paths of every MAIL FROM, without brackets.
func (s *SMTP) Mails() []string { return s.list(&s.mails) }

// Rcpts are the forward paths of every RCPT TO, without brackets,
// whatever the answer.
func (s *SMTP) Rcpts() []string { return s.list(&s.rcpt) }

func (s *SMTP) list(l *[]string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), *l...)
}

func (s *SMTP) add(l *[]string, v string) {
	s.mu.Lock()
	*l = append(*l, v)
	s.mu.Unlock()
}

type smtpBackend struct{ s *SMTP }

func (b smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.add(&b.s.hellos, c.Hostname())
	return smtpSession(b), nil
}

type smtpSession struct{ s *SMTP }

func (smtpSession) Reset()        {}
func (smtpSession) Logout() error { return nil }

func (ss smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.add(&ss.s.mails, from)
	if ss.s.Mail != nil {
		return ss.s.Mail(from)
	}
	return nil
}

func (ss smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.add(&ss.s.rcpt, to)
	if ss.s.Rcpt != nil {
		return ss.s.Rcpt(to)
	}
	return nil
}

func (smtpSession) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	return errors.New("fakemta: DATA must never arrive")
}
