package fakemta

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// STARTTLSPolicy says what a go-smtp server behind a TapListener does
// with STARTTLS. The tap, not go-smtp, answers STARTTLS: go-smtp would run
// TLS on the raw connection, below the tap, and every command after the
// handshake — including a DATA the probe must never send — would reach
// the recorder as ciphertext. Terminating TLS inside the tap keeps the
// recorder on the plaintext side.
type STARTTLSPolicy int

// The STARTTLS policies. With STARTTLSOffer or STARTTLSRefuse the go-smtp
// server needs a TLSConfig, only so that it advertises the extension.
const (
	STARTTLSNone   STARTTLSPolicy = iota // not advertised (go-smtp must have no TLSConfig); go-smtp answers 502
	STARTTLSOffer                        // 220 and a handshake with TapListener.TLSConfig
	STARTTLSRefuse                       // 454 4.7.0, as Postfix says when its TLS setup failed
)

// connSet tracks live connections so a close can end them all, including
// ones accepted but not yet registered with go-smtp (or a handler).
type connSet struct {
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

// TapListener hands a go-smtp server connections whose read side is
// recorded, below the SMTP engine, so the recorder sees what the client
// sent whether or not the server acted on it.
type TapListener struct {
	net.Listener
	Server    string // Command.Server of what is recorded
	Rec       *Recorder
	STARTTLS  STARTTLSPolicy
	TLSConfig *tls.Config // the certificate STARTTLSOffer presents
	conns     connSet
}

// CloseConns ends every connection the listener accepted, and every one
// it accepts from now on: go-smtp's Shutdown waits for them otherwise.
func (l *TapListener) CloseConns() { l.conns.closeAll() }

func (l *TapListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.conns.add(c) {
			_ = c.Close()
			continue
		}
		t := &tapConn{
			raw:      c,
			cur:      c,
			br:       bufio.NewReader(c),
			starttls: l.STARTTLS,
			tlsCfg:   l.TLSConfig,
			conns:    &l.conns,
			lineHead: true,
		}
		t.tap = lineTap{rec: l.Rec, proto: Command{Server: l.Server, Local: localName(c), Remote: remoteName(c)}}
		return t, nil
	}
}

func localName(c net.Conn) string {
	if a, ok := c.LocalAddr().(*net.UnixAddr); ok {
		return a.Name
	}
	return c.LocalAddr().String()
}

func remoteName(c net.Conn) string {
	if _, ok := c.RemoteAddr().(*net.UnixAddr); ok {
		return "unix"
	}
	return c.RemoteAddr().String()
}

// tapConn passes the client's bytes to go-smtp unchanged, recording each
// line, and handles STARTTLS itself (see STARTTLSPolicy). Read and Write
// are only called from go-smtp's connection goroutine; Close may come from
// any goroutine and only touches raw.
type tapConn struct {
	raw      net.Conn
	cur      net.Conn // raw, or the *tls.Conn after STARTTLS
	br       *bufio.Reader
	pending  []byte
	lineHead bool // the next byte read starts a line
	inTLS    bool
	starttls STARTTLSPolicy
	tlsCfg   *tls.Config
	tap      lineTap
	conns    *connSet
	once     sync.Once
}

var (
	replyTLSReady   = []byte("220 2.0.0 Ready to start TLS\r\n")
	replyTLSRefused = []byte("454 4.7.0 TLS not available due to local problem\r\n")
	ehloSTARTTLS    = []byte("250-STARTTLS\r\n")
)

func (c *tapConn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		chunk, err := c.br.ReadSlice('\n')
		if len(chunk) > 0 {
			complete := chunk[len(chunk)-1] == '\n'
			c.tap.write(chunk)
			if complete && c.lineHead && c.starttls != STARTTLSNone && !c.inTLS &&
				lineVerb(string(bytes.TrimRight(chunk, "\r\n"))) == "STARTTLS" {
				if herr := c.handleSTARTTLS(); herr != nil {
					return 0, herr
				}
				continue
			}
			c.lineHead = complete
			c.pending = append(c.pending[:0], chunk...)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if len(c.pending) > 0 {
				break
			}
			return 0, err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// handleSTARTTLS answers the STARTTLS command the tap swallowed. go-smtp
// never sees it, so its session simply continues: after a handshake the
// client must send EHLO again (RFC 3207 §4.2), which go-smtp treats as a
// reset.
func (c *tapConn) handleSTARTTLS() error {
	if c.starttls == STARTTLSRefuse {
		_, err := c.cur.Write(replyTLSRefused)
		return err
	}
	if _, err := c.cur.Write(replyTLSReady); err != nil {
		return err
	}
	// Plaintext pipelined after STARTTLS must not survive into the TLS
	// session (the CVE-2011-0411 command injection); drop it.
	_, _ = c.br.Discard(c.br.Buffered())
	tc := tls.Server(c.raw, c.tlsCfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.cur, c.inTLS, c.lineHead = tc, true, true
	c.br = bufio.NewReader(tc)
	c.tap.partial = c.tap.partial[:0]
	return nil
}

func (c *tapConn) Write(p []byte) (int, error) {
	// go-smtp decides whether to advertise STARTTLS by looking for a
	// *tls.Conn, which it never gets; hide the keyword once TLS is on
	// (RFC 3207 §4.2: not offered again after a successful handshake).
	if c.inTLS && bytes.Equal(p, ehloSTARTTLS) {
		return len(p), nil
	}
	return c.cur.Write(p)
}

func (c *tapConn) Close() error {
	var err error
	c.once.Do(func() {
		c.conns.remove(c.raw)
		err = c.raw.Close()
	})
	return err
}

func (c *tapConn) LocalAddr() net.Addr  { return c.raw.LocalAddr() }
func (c *tapConn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

func (c *tapConn) SetDeadline(t time.Time) error      { return c.raw.SetDeadline(t) }
func (c *tapConn) SetReadDeadline(t time.Time) error  { return c.raw.SetReadDeadline(t) }
func (c *tapConn) SetWriteDeadline(t time.Time) error { return c.raw.SetWriteDeadline(t) }

var _ net.Conn = (*tapConn)(nil)
