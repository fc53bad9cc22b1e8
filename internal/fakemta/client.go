package fakemta

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"strings"
	"time"
)

// TB is the part of testing.TB the helpers need. fakemta does not import
// package testing: the lab, and with it `mailprobe demo`, links fakemta
// into the command.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Client is a minimal raw SMTP client for driving fake and lab servers in
// tests: it reads replies line by line so a test sees exactly what a
// server sent.
type Client struct {
	t  TB
	c  net.Conn
	BR *bufio.Reader // what the server sent and the client has not read
}

// Dial connects to addr ("tcp" or "unix"); the connection closes when
// the test ends.
func Dial(t TB, network, addr string) *Client {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatalf("fakemta: %v", err)
	}
	// A server that does not answer must fail the test, never hang it.
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return &Client{t: t, c: c, BR: bufio.NewReader(c)}
}

// Reply reads one complete reply and returns its lines without CR LF.
func (c *Client) Reply() []string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.BR.ReadString('\n')
		if err != nil {
			c.t.Fatalf("fakemta: reading a reply after %q: %v", lines, err)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return lines
		}
	}
}

// Send sends one line, CR LF appended.
func (c *Client) Send(line string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("fakemta: sending %q: %v", line, err)
	}
}

// Write sends bytes as they are, e.g. a BDAT command and its chunk in
// one write.
func (c *Client) Write(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatalf("fakemta: sending %q: %v", raw, err)
	}
}

// Cmd sends a command and returns the reply's lines.
func (c *Client) Cmd(line string) []string {
	c.t.Helper()
	c.Send(line)
	return c.Reply()
}

// StartTLS upgrades the connection after a 220 to STARTTLS.
func (c *Client) StartTLS(cfg *tls.Config) error {
	// Bytes the server sent after its 220 (a broken server's garbage)
	// may already sit in BR: the handshake must see them.
	tc := tls.Client(&readerConn{Conn: c.c, r: c.BR}, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.c, c.BR = tc, bufio.NewReader(tc)
	return nil
}

// ReadAll reads until the server closes the connection.
func (c *Client) ReadAll() string {
	c.t.Helper()
	b, _ := io.ReadAll(c.BR)
	return string(b)
}

// NoGoroutineLeak fails when, after fn, more goroutines run than before
// (after a grace period for goroutines that are on their way out): what
// a server's Close promises.
func NoGoroutineLeak(t TB, fn func()) {
	t.Helper()
	before := runtime.NumGoroutine()
	fn()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Verbs lists the verbs of the commands server received, in order.
func Verbs(cmds []Command, server string) []string {
	var out []string
	for _, c := range cmds {
		if c.Server == server {
			out = append(out, c.Verb())
		}
	}
	return out
}
