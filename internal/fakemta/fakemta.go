// Package fakemta is the raw, programmable SMTP server of the protocol
// and batch tests: it drops connections, answers 421, limits recipients
// per transaction or per session, counts refused RCPTs the way Postfix's
// smtpd does (smtpd_hard_error_limit), or plays canned replies byte for
// byte for golden transcripts. It answers commands one by one in order,
// so pipelined groups work as RFC 2920 requires, and records every line
// it receives. It listens on loopback only. (The lab's ScriptServer plays
// text scripts of hostile servers; go-smtp serves well-behaved ones.)
package fakemta

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is a fake MTA; set the fields, then Start it.
type Server struct {
	Addr string // "127.0.0.1:port", set by Start

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
	// Block, when set, holds every RCPT reply until it is closed.
	Block chan struct{}

	// canned, when set, replaces the dialogue: the greeting is sent,
	// then one reply per line read, then whatever comes is recorded.
	canned []string

	conns     atomic.Int64
	maxPerTx  atomic.Int64
	errors421 atomic.Int64

	mu    sync.Mutex
	lines []string
}

// Start serves s on 127.0.0.1 until the test ends.
func Start(tb testing.TB, s *Server) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("fakemta: %v", err)
	}
	s.Addr = l.Addr().String()
	var wg sync.WaitGroup
	tb.Cleanup(func() { _ = l.Close(); wg.Wait() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := int(s.conns.Add(1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if s.canned != nil {
					s.playCanned(c)
					return
				}
				s.serve(c, n)
			}()
		}
	}()
	return s
}

// StartCanned serves golden transcripts: the greeting, then for each
// line read the next of replies, exact bytes (CRLF included) as given.
func StartCanned(tb testing.TB, greeting string, replies []string) *Server {
	tb.Helper()
	return Start(tb, &Server{canned: append([]string{greeting}, replies...)})
}

// Commands returns every line received so far, without CRLF, in arrival
// order.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// Conns is the number of connections accepted.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// MaxPerTx is the largest number of RCPTs one transaction carried.
func (s *Server) MaxPerTx() int64 { return s.maxPerTx.Load() }

// Errors421 counts sessions ended with "421 … too many errors".
func (s *Server) Errors421() int64 { return s.errors421.Load() }

func (s *Server) record(line string) {
	s.mu.Lock()
	s.lines = append(s.lines, strings.TrimRight(line, "\r\n"))
	s.mu.Unlock()
}

func (s *Server) playCanned(c net.Conn) {
	if _, err := io.WriteString(c, s.canned[0]); err != nil {
		return
	}
	br := bufio.NewReader(c)
	for _, r := range s.canned[1:] {
		line, err := br.ReadString('\n')
		if line != "" {
			s.record(line)
		}
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, r); err != nil {
			return
		}
	}
	// Drain whatever else comes, so that it is recorded.
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			s.record(line)
		}
		if err != nil {
			return
		}
	}
}

func (s *Server) serve(c net.Conn, conn int) {
	greet := "220 mx.test ESMTP fake"
	if s.Greeting != nil {
		greet = s.Greeting(conn)
	}
	w := bufio.NewWriter(c)
	say := func(l string) { _, _ = w.WriteString(l + "\r\n") }
	say(greet)
	_ = w.Flush()
	if !strings.HasPrefix(greet, "2") {
		return
	}
	br := bufio.NewReader(c)
	inTx, tx, session, refused := false, 0, 0, 0
	for {
		if br.Buffered() == 0 {
			_ = w.Flush()
		}
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		s.record(line)
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
				<-s.Block
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
			r := s.Rcpt(conn, session, addr)
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
