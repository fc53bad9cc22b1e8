package lab

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// ScriptServer is a raw TCP server on 127.0.0.1 that runs one Script on
// every connection: the misbehaving servers of the hostile-server tests.
// Like the lab's servers it records every command line it receives — a
// reader goroutine drains the connection all the time, so a line is
// recorded even while the script sleeps or floods — and Close ends every
// connection, so a test never waits on a script.
type ScriptServer struct {
	script *Script
	ln     net.Listener
	rec    *recorder
	run    *scriptRunner
}

// NewScriptServer starts serving s on 127.0.0.1 at a free port.
func NewScriptServer(s *Script) (*ScriptServer, error) {
	if s == nil || len(s.Steps) == 0 {
		return nil, fmt.Errorf("%w: empty script", ErrScriptSyntax)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lab: script server: %w", err)
	}
	ss := &ScriptServer{script: s, ln: ln, rec: &recorder{}}
	ss.run = newScriptRunner(s, "script:"+s.Name, ss.rec)
	ss.run.serve(ln)
	return ss, nil
}

// PipeScript runs s on the server end of an in-memory net.Pipe and
// returns the client end, for protocol tests that need no socket at all
// (probe.RunConn takes it). The server records commands like a listening
// one; it has no address, so Addr and Port must not be called. Close ends
// the script.
func PipeScript(s *Script) (net.Conn, *ScriptServer, error) {
	if s == nil || len(s.Steps) == 0 {
		return nil, nil, fmt.Errorf("%w: empty script", ErrScriptSyntax)
	}
	client, server := net.Pipe()
	ss := &ScriptServer{script: s, rec: &recorder{}}
	ss.run = newScriptRunner(s, "pipe:"+s.Name, ss.rec)
	ss.run.serveConn(server)
	return client, ss, nil
}

// StartScripts serves the named shipped scripts in turn: the first
// connection runs the first script, the second the second, and every
// later connection the last. It stands for a server that behaves
// differently when the client comes back, e.g. one that mishandles
// pipelined commands but answers one command at a time correctly.
func StartScripts(names ...string) (*ScriptServer, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no script", ErrScriptSyntax)
	}
	var scripts []*Script
	for _, n := range names {
		s, err := LoadScript(n)
		if err != nil {
			return nil, err
		}
		scripts = append(scripts, s)
	}
	return NewScriptServers(scripts...)
}

// NewScriptServers serves parsed scripts in turn, as StartScripts does
// for shipped ones.
func NewScriptServers(scripts ...*Script) (*ScriptServer, error) {
	if len(scripts) == 0 {
		return nil, fmt.Errorf("%w: no script", ErrScriptSyntax)
	}
	names := make([]string, len(scripts))
	for i, s := range scripts {
		if s == nil || len(s.Steps) == 0 {
			return nil, fmt.Errorf("%w: empty script", ErrScriptSyntax)
		}
		names[i] = s.Name
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lab: script server: %w", err)
	}
	ss := &ScriptServer{script: scripts[0], ln: ln, rec: &recorder{}}
	ss.run = newScriptRunner(scripts[0], "script:"+strings.Join(names, ","), ss.rec)
	ss.run.then = scripts[1:]
	ss.run.serve(ln)
	return ss, nil
}

// StartScript loads the named shipped script and serves it.
func StartScript(name string) (*ScriptServer, error) {
	s, err := LoadScript(name)
	if err != nil {
		return nil, err
	}
	return NewScriptServer(s)
}

// Addr is the "127.0.0.1:port" the server listens on.
func (s *ScriptServer) Addr() string { return s.ln.Addr().String() }

// Port is the port the server listens on.
func (s *ScriptServer) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Commands returns every command line received so far, in arrival order
// per connection.
func (s *ScriptServer) Commands() []Command { return s.rec.snapshot() }

// SawVerb reports whether any client sent a line with this verb
// (case-insensitive), e.g. SawVerb("DATA").
func (s *ScriptServer) SawVerb(verb string) bool { return s.rec.sawVerb(verb) }

// Close stops listening, closes every connection and waits for the
// script goroutines to end.
func (s *ScriptServer) Close() error {
	s.run.close()
	return nil
}

// scriptRunner serves one script on any number of listeners; the Lab uses
// it for its greeting-time misbehaviour (421, 554, silence).
type scriptRunner struct {
	script *Script
	then   []*Script // scripts for the second, third… connection (StartScripts)
	served int       // connections started, under mu
	name   string
	rec    *recorder
	conns  connSet
	lns    []net.Listener
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
}

func newScriptRunner(s *Script, name string, rec *recorder) *scriptRunner {
	return &scriptRunner{script: s, name: name, rec: rec, done: make(chan struct{})}
}

func (r *scriptRunner) serve(ln net.Listener) {
	r.mu.Lock()
	r.lns = append(r.lns, ln)
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.serveConn(c)
		}
	}()
}

// serveConn runs the script on one accepted (or piped) connection.
func (r *scriptRunner) serveConn(c net.Conn) {
	if !r.conns.add(c) {
		_ = c.Close()
		return
	}
	r.mu.Lock()
	script := r.script
	if n := r.served; n > 0 && len(r.then) > 0 {
		script = r.then[min(n, len(r.then))-1]
	}
	r.served++
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.conns.remove(c)
		defer c.Close()
		sc := newScriptConn(c, r)
		sc.steps = script.Steps
		sc.run()
	}()
}

func (r *scriptRunner) close() {
	r.once.Do(func() {
		close(r.done)
		r.mu.Lock()
		for _, ln := range r.lns {
			_ = ln.Close()
		}
		r.mu.Unlock()
		r.conns.closeAll()
		r.wg.Wait()
	})
}

// inbox buffers what a reader goroutine drained from a connection until
// the script reads it. It is bounded; beyond the bound bytes are still
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

// scriptConn runs the script on one connection.
type scriptConn struct {
	raw    net.Conn
	w      io.Writer // raw, or the TLS connection
	br     *bufio.Reader
	pump   *pump
	r      *scriptRunner
	steps  []Step
	tap    lineTap
	client string
	wg     sync.WaitGroup
}

var errScriptEnd = errors.New("script ended the connection")

func newScriptConn(c net.Conn, r *scriptRunner) *scriptConn {
	sc := &scriptConn{raw: c, w: c, r: r}
	sc.tap = lineTap{rec: r.rec, proto: Command{Server: r.name, Local: localName(c), Remote: remoteName(c)}}
	if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
		sc.client = host
	}
	sc.pump = startPump(&sc.wg, c, sc.tap)
	sc.br = bufio.NewReader(sc.pump.in)
	return sc
}

func (sc *scriptConn) run() {
	// The raw connection closes (by the deferred Close in serve) only
	// after run returns; close it here first so the pumps end.
	defer sc.wg.Wait()
	defer sc.raw.Close()
	steps := sc.steps
	for i, st := range steps {
		if i+1 < len(steps) && steps[i+1].Op == OpTLS {
			// From the next step on, the raw bytes are TLS records.
			sc.pump.stopRecording()
		}
		if err := sc.step(st); err != nil {
			return
		}
	}
}

func (sc *scriptConn) expand(s string) string {
	return strings.ReplaceAll(s, "{client}", sc.client)
}

func (sc *scriptConn) write(s string) error {
	_, err := io.WriteString(sc.w, s)
	return err
}

func (sc *scriptConn) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-sc.r.done:
		return errScriptEnd
	}
}

func (sc *scriptConn) step(st Step) error {
	switch st.Op {
	case OpSend:
		return sc.write(sc.expand(st.Text) + "\r\n")
	case OpSendRaw:
		return sc.write(st.Text)
	case OpExpect:
		return sc.expect(st.Verbs)
	case OpSleep:
		return sc.sleep(st.Delay)
	case OpTrickle:
		b := []byte(sc.expand(st.Text) + "\r\n")
		for i := range b {
			if i > 0 {
				if err := sc.sleep(st.Delay); err != nil {
					return err
				}
			}
			if _, err := sc.w.Write(b[i : i+1]); err != nil {
				return err
			}
		}
		return nil
	case OpRepeatForever:
		line := []byte(sc.expand(st.Text) + "\r\n")
		chunk := bytes.Repeat(line, max(1, 4096/len(line)))
		for {
			if _, err := sc.w.Write(chunk); err != nil {
				return err
			}
		}
	case OpBigLine:
		return sc.bigLine(st.Size)
	case OpClose:
		return errScriptEnd
	case OpHang:
		_, _ = io.Copy(io.Discard, sc.br)
		return errScriptEnd
	case OpTLS:
		return sc.startTLS(st.Cert)
	}
	return fmt.Errorf("%w: unknown operation %q", ErrScriptSyntax, st.Op)
}

func (sc *scriptConn) bigLine(n int) error {
	head := "250 "
	body := n - len(head) - 2
	chunk := bytes.Repeat([]byte{'x'}, 32<<10)
	if err := sc.write(head); err != nil {
		return err
	}
	for body > 0 {
		k := min(body, len(chunk))
		if _, err := sc.w.Write(chunk[:k]); err != nil {
			return err
		}
		body -= k
	}
	return sc.write("\r\n")
}

// expect reads command lines until one carries a listed verb, answering
// the others as a strict server would (see ParseScript).
func (sc *scriptConn) expect(verbs []string) error {
	for {
		line, err := sc.br.ReadString('\n')
		if err != nil {
			return err
		}
		v := lineVerb(strings.TrimRight(line, "\r\n"))
		if len(verbs) == 0 {
			return nil
		}
		for _, want := range verbs {
			if v == want {
				return nil
			}
		}
		switch v {
		case "QUIT":
			_ = sc.write("221 2.0.0 Bye\r\n")
			return errScriptEnd
		case "RSET", "NOOP":
			err = sc.write("250 2.0.0 Ok\r\n")
		default:
			err = sc.write("503 5.5.1 Error: bad sequence of commands\r\n")
		}
		if err != nil {
			return err
		}
	}
}

// startTLS runs the server side of a handshake over the bytes the pump
// drained (the ClientHello may already sit in the inbox), then puts a
// recording pump on the plaintext.
func (sc *scriptConn) startTLS(kind CertKind) error {
	cfg, err := scriptTLSConfig(kind)
	if err != nil {
		return err
	}
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
