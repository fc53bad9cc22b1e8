package fakemta

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
)

// ScriptServer is a raw TCP server on 127.0.0.1 that runs one Script on
// every connection: the misbehaving servers of the hostile-server tests.
// It records every command line it receives — a reader goroutine drains
// the connection all the time, so a line is recorded even while the
// script sleeps or floods — and Close ends every connection, so a test
// never waits on a script.
type ScriptServer struct {
	*Recorder
	ln  net.Listener
	eng *engine
}

// scripted returns the handler that runs scripts[0] on the first
// connection, scripts[1] on the second, and the last on every later one.
func scripted(scripts []*Script) func(c *conn, n int) {
	return func(c *conn, n int) {
		runScript(c, scripts[min(n, len(scripts))-1].Steps)
	}
}

func checkScripts(scripts []*Script) error {
	if len(scripts) == 0 {
		return fmt.Errorf("%w: no script", ErrScriptSyntax)
	}
	for _, s := range scripts {
		if s == nil || len(s.Steps) == 0 {
			return fmt.Errorf("%w: empty script", ErrScriptSyntax)
		}
	}
	return nil
}

// NewScriptServer starts serving s on 127.0.0.1 at a free port.
func NewScriptServer(s *Script) (*ScriptServer, error) {
	return NewScriptServers(s)
}

// ServeScript serves s on ln as the server named name, recording into
// rec: the lab's greeting-time misbehaviour (421, 554, silence) on its
// own addresses, in its own recorder. Close stops it.
func ServeScript(ln net.Listener, s *Script, name string, rec *Recorder) (*ScriptServer, error) {
	if err := checkScripts([]*Script{s}); err != nil {
		return nil, err
	}
	ss := &ScriptServer{Recorder: rec, ln: ln, eng: newEngine(name, rec, scripted([]*Script{s}))}
	ss.eng.serve(ln)
	return ss, nil
}

// PipeScript runs s on the server end of an in-memory net.Pipe and
// returns the client end, for protocol tests that need no socket at all
// (probe.RunConn takes it). The server records commands like a listening
// one; it has no address, so Addr and Port must not be called. Close ends
// the script.
func PipeScript(s *Script) (net.Conn, *ScriptServer, error) {
	if err := checkScripts([]*Script{s}); err != nil {
		return nil, nil, err
	}
	client, server := net.Pipe()
	rec := &Recorder{}
	ss := &ScriptServer{Recorder: rec, eng: newEngine("pipe:"+s.Name, rec, scripted([]*Script{s}))}
	ss.eng.serveConn(server)
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
	if err := checkScripts(scripts); err != nil {
		return nil, err
	}
	names := make([]string, len(scripts))
	for i, s := range scripts {
		names[i] = s.Name
	}
	ln, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	rec := &Recorder{}
	ss := &ScriptServer{Recorder: rec, ln: ln, eng: newEngine("script:"+strings.Join(names, ","), rec, scripted(scripts))}
	ss.eng.serve(ln)
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

// Conns is the number of connections accepted so far.
func (s *ScriptServer) Conns() int { return s.eng.count() }

// Close stops listening, closes every connection and waits for the
// script goroutines to end.
func (s *ScriptServer) Close() error {
	s.eng.close()
	return nil
}

// runScript runs steps on one connection.
func runScript(sc *conn, steps []Step) {
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

func (sc *conn) expand(s string) string {
	return strings.ReplaceAll(s, "{client}", sc.client)
}

func (sc *conn) step(st Step) error {
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
		return errConnEnd
	case OpHang:
		_, _ = io.Copy(io.Discard, sc.br)
		return errConnEnd
	case OpTLS:
		return sc.scriptTLS(st.Cert)
	}
	return fmt.Errorf("%w: unknown operation %q", ErrScriptSyntax, st.Op)
}

func (sc *conn) bigLine(n int) error {
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
func (sc *conn) expect(verbs []string) error {
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
			return errConnEnd
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

// scriptTLS runs a script's tls step with the certificate it names.
func (sc *conn) scriptTLS(kind CertKind) error {
	cfg, err := scriptTLSConfig(kind)
	if err != nil {
		return err
	}
	return sc.startTLS(cfg)
}

// ServeShipped serves the named shipped scripts (in turn, as
// StartScripts does) until the test ends.
func ServeShipped(tb TB, names ...string) *ScriptServer {
	tb.Helper()
	s, err := StartScripts(names...)
	return closeAtEnd(tb, s, err)
}

// ServeText parses text as a script called name and serves it until the
// test ends.
func ServeText(tb TB, name, text string) *ScriptServer {
	tb.Helper()
	sc, err := ParseScript(name, text)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	s, err := NewScriptServer(sc)
	return closeAtEnd(tb, s, err)
}

func closeAtEnd(tb TB, s *ScriptServer, err error) *ScriptServer {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
