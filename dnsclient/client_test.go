package dnsclient

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/dnsserve"
)

// udpResponder is a raw UDP "resolver" on loopback: for each query it
// sends whatever packets reply returns, byte for byte, so tests can send
// what miekg/dns's server never would (a wrong ID, several answers).
func udpResponder(t *testing.T, reply func(req *dns.Msg) []*dns.Msg) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := new(dns.Msg)
			if req.Unpack(buf[:n]) != nil {
				continue
			}
			for _, m := range reply(req) {
				out, err := m.Pack()
				if err != nil {
					panic(err)
				}
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func answerA(req *dns.Msg, ip string) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	rr, err := dns.NewRR(req.Question[0].Name + " 60 IN A " + ip)
	if err != nil {
		panic(err)
	}
	m.Answer = []dns.RR{rr}
	return m
}

func withID(m *dns.Msg, id uint16) *dns.Msg {
	m.Id = id
	return m
}

func TestQueryUDP(t *testing.T) {
	var gotEDNS uint16
	var mu sync.Mutex
	addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg {
		mu.Lock()
		if opt := req.IsEdns0(); opt != nil {
			gotEDNS = opt.UDPSize()
		}
		mu.Unlock()
		return []*dns.Msg{answerA(req, "192.0.2.1")}
	})
	c := &Client{Servers: []string{addr}, Timeout: time.Second}
	resp, err := c.Query(context.Background(), "host.test", dns.TypeA)
	require.NoError(t, err)
	require.Len(t, resp.Answer, 1)
	assert.Equal(t, "192.0.2.1", resp.Answer[0].(*dns.A).A.String())
	assert.True(t, resp.Response)
	mu.Lock()
	defer mu.Unlock()
	assert.EqualValues(t, 1232, gotEDNS, "EDNS0 buffer size advertised")
}

// TestQueryWrongID: a resolver that only ever answers with another ID must
// be reported as such, not as a timeout. miekg/dns drops such UDP answers
// silently, which is why exchangeUDP exists.
func TestQueryWrongID(t *testing.T) {
	addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg {
		return []*dns.Msg{withID(answerA(req, "192.0.2.1"), req.Id^0xffff)}
	})
	c := &Client{Servers: []string{addr}, Timeout: 200 * time.Millisecond}
	_, err := c.Query(context.Background(), "host.test", dns.TypeA)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrIDMismatch)
	assert.NotErrorIs(t, err, ErrTimeout)
}

// TestQueryStaleAnswerSkipped: an answer with a foreign ID (say, a late
// answer to an earlier query) is skipped and the right one still taken.
func TestQueryStaleAnswerSkipped(t *testing.T) {
	addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg {
		return []*dns.Msg{
			withID(answerA(req, "192.0.2.66"), req.Id+1),
			answerA(req, "192.0.2.1"),
		}
	})
	c := &Client{Servers: []string{addr}, Timeout: 2 * time.Second}
	resp, err := c.Query(context.Background(), "host.test", dns.TypeA)
	require.NoError(t, err)
	require.Len(t, resp.Answer, 1)
	assert.Equal(t, "192.0.2.1", resp.Answer[0].(*dns.A).A.String())
}

func TestQueryTimeout(t *testing.T) {
	addr := udpResponder(t, func(*dns.Msg) []*dns.Msg { return nil })
	c := &Client{Servers: []string{addr}, Timeout: 200 * time.Millisecond}
	_, err := c.Query(context.Background(), "host.test", dns.TypeA)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.NotErrorIs(t, err, ErrIDMismatch)
}

// TestQueryCancel: cancelling the context ends a query stuck on a silent
// resolver even when the per-query timeout is long.
func TestQueryCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := udpResponder(t, func(*dns.Msg) []*dns.Msg {
		cancel() // the query is in flight: give up on it now
		return nil
	})
	// Long enough that a query which ignored ctx would fail the test
	// with ErrTimeout instead of context.Canceled.
	c := &Client{Servers: []string{addr}, Timeout: 30 * time.Second}
	_, err := c.Query(ctx, "host.test", dns.TypeA)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestQueryCancelCause: the caller's cause comes back, so it can tell an
// interrupt from a deadline of its own (before, only context.Canceled did,
// and a deadline cause came back as ErrTimeout, the resolver's fault).
func TestQueryCancelCause(t *testing.T) {
	stopped := errors.New("stopped by the caller")
	for _, deadline := range []bool{false, true} {
		var ctx context.Context
		var cancel func()
		if deadline {
			ctx, cancel = context.WithTimeoutCause(context.Background(), 100*time.Millisecond, stopped)
		} else {
			cctx, ccancel := context.WithCancelCause(context.Background())
			ctx, cancel = cctx, func() { ccancel(stopped) }
			time.AfterFunc(50*time.Millisecond, cancel)
		}
		addr := udpResponder(t, func(*dns.Msg) []*dns.Msg { return nil })
		c := &Client{Servers: []string{addr}, Timeout: 30 * time.Second}
		_, err := c.Query(ctx, "host.test", dns.TypeA)
		assert.ErrorIs(t, err, stopped, "deadline=%v", deadline)
		assert.NotErrorIs(t, err, ErrTimeout, "deadline=%v", deadline)
		cancel()
	}
}

// TestQueryNextServer: a silent first resolver does not stop the second
// from answering.
func TestQueryNextServer(t *testing.T) {
	dead := udpResponder(t, func(*dns.Msg) []*dns.Msg { return nil })
	live := udpResponder(t, func(req *dns.Msg) []*dns.Msg { return []*dns.Msg{answerA(req, "192.0.2.2")} })
	c := &Client{Servers: []string{dead, live}, Timeout: 200 * time.Millisecond}
	resp, err := c.Query(context.Background(), "host.test", dns.TypeA)
	require.NoError(t, err)
	assert.Equal(t, "192.0.2.2", resp.Answer[0].(*dns.A).A.String())
}

// tcpServer serves handler over TCP on the UDP responder's port.
func tcpServer(t *testing.T, udpAddr string, handler dns.HandlerFunc) {
	t.Helper()
	l, err := net.Listen("tcp", udpAddr)
	if err != nil {
		t.Skipf("TCP port of %s taken by another process: %v", udpAddr, err)
	}
	srv := dnsserve.Start(nil, l, handler)
	t.Cleanup(func() { _ = srv.Close() })
}

// TestQueryTruncatedRetriesTCP: RFC 7766 §5, a TC answer is asked again
// over TCP and the TCP answer is the one returned.
func TestQueryTruncatedRetriesTCP(t *testing.T) {
	addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Truncated = true
		return []*dns.Msg{m}
	})
	tcpServer(t, addr, func(w dns.ResponseWriter, req *dns.Msg) {
		_ = w.WriteMsg(answerA(req, "192.0.2.3"))
	})
	c := &Client{Servers: []string{addr}, Timeout: time.Second}
	resp, err := c.Query(context.Background(), "host.test", dns.TypeA)
	require.NoError(t, err)
	assert.False(t, resp.Truncated)
	require.Len(t, resp.Answer, 1)
	assert.Equal(t, "192.0.2.3", resp.Answer[0].(*dns.A).A.String())
}

// TestQueryTruncatedOverTCP: a TCP answer that says it was truncated is
// incomplete by its own word: neither its records (part of an MX set) nor
// its emptiness (which would read as "no such record") are believed.
func TestQueryTruncatedOverTCP(t *testing.T) {
	for _, withData := range []bool{true, false} {
		addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Truncated = true
			return []*dns.Msg{m}
		})
		tcpServer(t, addr, func(w dns.ResponseWriter, req *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(req)
			if withData {
				m = answerA(req, "192.0.2.3")
			}
			m.Truncated = true
			_ = w.WriteMsg(m)
		})
		c := &Client{Servers: []string{addr}, Timeout: time.Second}
		resp, err := c.Query(context.Background(), "host.test", dns.TypeA)
		assert.ErrorIs(t, err, ErrBadAnswer, "with data: %v", withData)
		assert.Contains(t, err.Error(), "TC (truncated) set on an answer over TCP")
		assert.Nil(t, resp)
	}
}

func TestQueryWrongIDOverTCP(t *testing.T) {
	addr := udpResponder(t, func(req *dns.Msg) []*dns.Msg {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Truncated = true
		return []*dns.Msg{m}
	})
	tcpServer(t, addr, func(w dns.ResponseWriter, req *dns.Msg) {
		_ = w.WriteMsg(withID(answerA(req, "192.0.2.3"), req.Id^0xffff))
	})
	c := &Client{Servers: []string{addr}, Timeout: time.Second}
	_, err := c.Query(context.Background(), "host.test", dns.TypeA)
	assert.ErrorIs(t, err, ErrIDMismatch)
}

func TestQueryNoServers(t *testing.T) {
	_, err := (&Client{}).Query(context.Background(), "host.test", dns.TypeA)
	assert.ErrorIs(t, err, ErrNoServers)
}

func TestNormalizeServer(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "127.0.0.1", want: "127.0.0.1:53"},
		{in: "127.0.0.1:5353", want: "127.0.0.1:5353"},
		{in: "::1", want: "[::1]:53"},
		{in: "[::1]:5353", want: "[::1]:5353"},
		{in: "resolver.test", bad: true},
		{in: "127.0.0.1:0", bad: true},
		{in: "127.0.0.1:65536", bad: true},
		{in: "127.0.0.1:dns", bad: true},
	}
	for _, tt := range tests {
		got, err := NormalizeServer(tt.in)
		if tt.bad {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}
