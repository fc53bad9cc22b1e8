package lab

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func startLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	l, err := Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

// client is a minimal raw SMTP client for driving lab servers: it reads
// replies line by line so tests see exactly what a server sent.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, network, addr string) *client {
	t.Helper()
	c, err := net.Dial(network, addr)
	require.NoError(t, err)
	// A server that does not answer must fail the test, never hang it.
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	t.Cleanup(func() { _ = c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// reply reads one complete reply and returns its lines without CR LF.
func (c *client) reply() []string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.br.ReadString('\n')
		require.NoError(c.t, err, "reading a reply after %q", lines)
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return lines
		}
	}
}

func (c *client) send(line string) {
	c.t.Helper()
	_, err := c.c.Write([]byte(line + "\r\n"))
	require.NoError(c.t, err)
}

// cmd sends a command and returns the reply's lines.
func (c *client) cmd(line string) []string {
	c.t.Helper()
	c.send(line)
	return c.reply()
}

// starttls upgrades the connection after a 220 to STARTTLS.
func (c *client) starttls(cfg *tls.Config) error {
	// Bytes the server sent after its 220 (a broken server's garbage)
	// may already sit in br: the handshake must see them.
	tc := tls.Client(&readerConn{Conn: c.c, r: c.br}, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.c, c.br = tc, bufio.NewReader(tc)
	return nil
}

// readAll reads until the server closes the connection.
func (c *client) readAll() string {
	c.t.Helper()
	b, _ := io.ReadAll(c.br)
	return string(b)
}

// eventually polls cond until it holds; it fails the test only when the
// condition never comes true within a generous bound. It waits for
// events that are certain to happen (a goroutine exiting, a line
// arriving), never measures speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noGoroutineLeak fails when, after fn, more goroutines run than before
// (after a grace period for goroutines that are on their way out).
func noGoroutineLeak(t *testing.T, fn func()) {
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

func verbs(cmds []Command, server string) []string {
	var out []string
	for _, c := range cmds {
		if c.Server == server {
			out = append(out, c.Verb())
		}
	}
	return out
}
