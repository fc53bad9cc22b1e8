package fakemta

import (
	"bufio"
	"strings"
	"sync/atomic"
)

// Server is the fake MTA programmed with Go hooks: it drops connections,
// answers 421, limits recipients per transaction or per session, counts
// refused RCPTs the way Postfix's smtpd does (smtpd_hard_error_limit).
// It answers commands one by one in order, so pipelined groups work as
// RFC 2920 requires, and flushes its replies when no more input waits.
// Set the fields, then Start it.
type Server struct {
	Addr      string // "127.0.0.1:port", set by Start
	*Recorder        // every line received, set by Start

	Pipelining bool
	// Rcpt answers one RCPT: conn is the 1-based connection number, n
	// the 1-based RCPT number within the session. "" means: drop the
	// connection without answering.
	Rcpt func(conn, n int, addr string) string
	// TxLimit answers 452 4.5.3 beyond this many RCPTs per transaction;
	// SessionLimit beyond this many per session. 0: no limit.
	TxLimit, SessionLimit int
	// HardErrors ends the session with Postfix's 421 after this many
	// refused RCPTs; 0: no limit.
	HardErrors int
	// Greeting answers a connection, by connection number; default 220.
	Greeting func(conn int) string
	// Block, when set, holds every RCPT reply until it is closed (or
	// the server closes at the end of the test).
	Block chan struct{}

	eng       *engine
	maxPerTx  atomic.Int64
	errors421 atomic.Int64
}

// Start serves s on 127.0.0.1 until the test ends.
func Start(tb TB, s *Server) *Server {
	tb.Helper()
	ln, err := listenLoopback()
	if err != nil {
		tb.Fatalf("%v", err)
	}
	s.Addr = ln.Addr().String()
	s.Recorder = &Recorder{}
	s.eng = newEngine("fakemta", s.Recorder, s.serve)
	s.eng.serve(ln)
	tb.Cleanup(s.eng.close)
	return s
}

// StartCanned serves golden transcripts: the greeting, then for each
// line read the next of replies, exact bytes (CRLF included) as given;
// then it reads, and records, whatever else comes. It is a script
// (sendraw, expect, hang) written in Go.
func StartCanned(tb TB, greeting string, replies []string) *ScriptServer {
	tb.Helper()
	sc := &Script{Name: "canned", Steps: []Step{{Op: OpSendRaw, Text: greeting}}}
	for _, r := range replies {
		sc.Steps = append(sc.Steps, Step{Op: OpExpect}, Step{Op: OpSendRaw, Text: r})
	}
	sc.Steps = append(sc.Steps, Step{Op: OpHang})
	s, err := NewScriptServer(sc)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Conns is the number of connections accepted.
func (s *Server) Conns() int { return s.eng.count() }

// MaxPerTx is the largest number of RCPTs one transaction carried.
func (s *Server) MaxPerTx() int64 { return s.maxPerTx.Load() }

// Errors421 counts sessions ended with "421 … too many errors".
func (s *Server) Errors421() int64 { return s.errors421.Load() }

func (s *Server) serve(c *conn, n int) {
	greet := "220 mx.test ESMTP fake"
	if s.Greeting != nil {
		greet = s.Greeting(n)
	}
	w := bufio.NewWriter(c.w)
	say := func(l string) { _, _ = w.WriteString(l + "\r\n") }
	say(greet)
	_ = w.Flush()
	if !strings.HasPrefix(greet, "2") {
		return
	}
	br := c.br
	inTx, tx, session, refused := false, 0, 0, 0
	for {
		if c.idle() {
			_ = w.Flush()
		}
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.Fields(cmd + " x")[0])
		switch {
		case verb == "EHLO" || verb == "LHLO":
			if s.Pipelining {
				say("250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME")
			} else {
				say("250-mx.test\r\n250 8BITMIME")
			}
		case verb == "MAIL":
			inTx, tx = true, 0
			say("250 2.1.0 Ok")
		case verb == "RCPT":
			if !inTx {
				say("503 5.5.1 Error: need MAIL command")
				continue
			}
			if s.Block != nil {
				_ = w.Flush()
				select {
				case <-s.Block:
				case <-s.eng.done:
					return
				}
			}
			if (s.TxLimit > 0 && tx >= s.TxLimit) || (s.SessionLimit > 0 && session >= s.SessionLimit) {
				say("452 4.5.3 Error: too many recipients")
				continue
			}
			tx++
			session++
			if int64(tx) > s.maxPerTx.Load() {
				s.maxPerTx.Store(int64(tx))
			}
			addr := strings.TrimSuffix(strings.TrimPrefix(cmd[len("RCPT TO:"):], "<"), ">")
			r := s.Rcpt(n, session, addr)
			if r == "" {
				_ = w.Flush()
				return // drop
			}
			say(r)
			if r[0] == '4' || r[0] == '5' {
				refused++
			}
			if strings.HasPrefix(r, "421") {
				_ = w.Flush()
				return
			}
			if s.HardErrors > 0 && refused >= s.HardErrors {
				// Postfix smtpd.c: the next command after the hard
				// limit gets 421 and the session ends. (The refusal
				// goes out first: a client in lock-step waits for it.)
				_ = w.Flush()
				if _, err := br.ReadString('\n'); err == nil {
					s.errors421.Add(1)
					say("421 4.7.0 mx.test Error: too many errors")
					_ = w.Flush()
				}
				return
			}
		case verb == "RSET":
			inTx = false
			say("250 2.0.0 Ok")
		case verb == "QUIT":
			say("221 2.0.0 Bye")
			_ = w.Flush()
			return
		default:
			say("502 5.5.2 Error: command not recognized")
		}
	}
}
