package fakemta

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// engine is the connection engine every raw fake server runs on: it
// accepts on any number of listeners (or takes piped connections),
// numbers the connections from 1, records every line the client sends
// through a pump that drains the connection all the time, and ends every
// connection on close. What a connection is answered is the handler's
// business: a script (ScriptServer) or Go hooks (Server).
type engine struct {
	name   string // Command.Server of what is recorded
	rec    *Recorder
	handle func(c *conn, n int)
	served int // connections started, under mu
	conns  connSet
	lns    []net.Listener
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
}

func newEngine(name string, rec *Recorder, handle func(c *conn, n int)) *engine {
	return &engine{name: name, rec: rec, handle: handle, done: make(chan struct{})}
}

// listenLoopback listens on a free port of 127.0.0.1: fake servers never
// listen beyond loopback.
func listenLoopback() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakemta: %w", err)
	}
	return ln, nil
}

func (e *engine) serve(ln net.Listener) {
	e.mu.Lock()
	e.lns = append(e.lns, ln)
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.serveConn(c)
		}
	}()
}

// serveConn runs the handler on one accepted (or piped) connection.
func (e *engine) serveConn(c net.Conn) {
	if !e.conns.add(c) {
		_ = c.Close()
		return
	}
	e.mu.Lock()
	e.served++
	n := e.served
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.conns.remove(c)
		defer c.Close()
		sc := newConn(c, e)
		// The raw connection must close before the pumps are waited
		// for: closing it is what ends them.
		defer sc.wg.Wait()
		defer sc.raw.Close()
		e.handle(sc, n)
	}()
}

// close stops listening, closes every connection and waits for the
// handlers to end.
func (e *engine) close() {
	e.once.Do(func() {
		close(e.done)
		e.mu.Lock()
		for _, ln := range e.lns {
			_ = ln.Close()
		}
		e.mu.Unlock()
		e.conns.closeAll()
		e.wg.Wait()
	})
}

// inbox buffers what a reader goroutine drained from a connection until
// the handler reads it. It is bounded; beyond the bound bytes are still
// recorded but dropped, which only a client flooding a server that does
// not read could notice.
type inbox struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error
}

const maxInbox = 1 << 20

func newInbox() *inbox {
	b := &inbox{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *inbox) put(p []byte) {
	b.mu.Lock()
	if room := maxInbox - len(b.buf); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		b.buf = append(b.buf, p...)
	}
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *inbox) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *inbox) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) == 0 && b.err == nil {
		b.cond.Wait()
	}
	if len(b.buf) == 0 {
		return 0, b.err
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *inbox) buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf)
}

// pump drains src into an inbox, recording lines while record is set.
type pump struct {
	in     *inbox
	mu     sync.Mutex
	tap    lineTap
	record bool
}

func startPump(wg *sync.WaitGroup, src io.Reader, tap lineTap) *pump {
	p := &pump{in: newInbox(), tap: tap, record: true}
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				if p.record {
					p.tap.write(buf[:n])
				}
				p.mu.Unlock()
				p.in.put(buf[:n])
			}
			if err != nil {
				p.in.fail(err)
				return
			}
		}
	}()
	return p
}

func (p *pump) stopRecording() {
	p.mu.Lock()
	p.record = false
	p.mu.Unlock()
}

// conn is one connection as a handler sees it: it reads from br (the
// drained, recorded input) and writes to w.
type conn struct {
	raw    net.Conn
	w      io.Writer // raw, or the TLS connection
	br     *bufio.Reader
	pump   *pump
	e      *engine
	tap    lineTap
	client string // the client's IP address
	wg     sync.WaitGroup
}

var errConnEnd = errors.New("the fake server ended the connection")

func newConn(c net.Conn, e *engine) *conn {
	sc := &conn{raw: c, w: c, e: e}
	sc.tap = lineTap{rec: e.rec, proto: Command{Server: e.name, Local: localName(c), Remote: remoteName(c)}}
	if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
		sc.client = host
	}
	sc.pump = startPump(&sc.wg, c, sc.tap)
	sc.br = bufio.NewReader(sc.pump.in)
	return sc
}

func (sc *conn) write(s string) error {
	_, err := io.WriteString(sc.w, s)
	return err
}

// idle reports whether no input waits to be read: the moment a server
// flushes the replies to a pipelined group (RFC 2920 §3.1).
func (sc *conn) idle() bool { return sc.br.Buffered() == 0 && sc.pump.in.buffered() == 0 }

func (sc *conn) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-sc.e.done:
		return errConnEnd
	}
}

// startTLS runs the server side of a handshake over the bytes the pump
// drained (the ClientHello may already sit in the inbox), then puts a
// recording pump on the plaintext.
func (sc *conn) startTLS(cfg *tls.Config) error {
	// Close ends a stuck handshake: closing raw ends the pump, which
	// fails the inbox the handshake reads from.
	tc := tls.Server(&readerConn{Conn: sc.raw, r: sc.br}, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	sc.w = tc
	sc.pump = startPump(&sc.wg, tc, sc.tap)
	sc.br = bufio.NewReader(sc.pump.in)
	return nil
}

// readerConn reads from r (the drained inbox) and writes to the conn.
type readerConn struct {
	net.Conn
	r io.Reader
}

func (c *readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (e *engine) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.served
}
