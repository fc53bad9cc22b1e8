package probe_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/mx"
	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

func TestStopOf(t *testing.T) {
	cancelled := func(cause error) context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		return ctx
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	ownDeadline, cancel2 := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), probe.ErrDeadline)
	defer cancel2()
	tests := []struct {
		name   string
		ctx    context.Context
		want   probe.Stop
		kind   error
		reason string
	}{
		{"running", context.Background(), probe.StopNone, nil, ""},
		{"probe deadline", ownDeadline, probe.StopDeadline, probe.ErrDeadline, "the probe deadline passed"},
		{"caller's deadline", expired, probe.StopDeadline, probe.ErrDeadline, "the probe deadline passed"},
		{"Ctrl-C", cancelled(probe.ErrInterrupted), probe.StopInterrupted, probe.ErrInterrupted, "interrupted"},
		{"scrape timeout", cancelled(probe.ErrScrapeTimeout), probe.StopScrapeTimeout, probe.ErrScrapeTimeout, "the scrape timeout passed"},
		// Before, any cancellation the probe had not caused itself was
		// reported as an interrupt.
		{"plain cancel", cancelled(nil), probe.StopCanceled, probe.ErrCanceled, "cancelled"},
		{"unknown cause", cancelled(errors.New("shutting down")), probe.StopCanceled, probe.ErrCanceled, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := probe.StopOf(tt.ctx)
			assert.Equal(t, tt.want, s)
			assert.Equal(t, tt.kind, s.Kind())
			assert.Equal(t, tt.reason, s.Reason())
		})
	}
	// Consumers that know only the older kinds still read them right.
	assert.ErrorIs(t, probe.ErrScrapeTimeout, probe.ErrDeadline)
	assert.ErrorIs(t, probe.ErrCanceled, probe.ErrInterrupted)
}

// startScript serves an inline script; the server goes when the test ends.
func startScript(t *testing.T, text string) *probe.Server {
	t.Helper()
	s, err := probe.ParseServer(fakemta.ServeText(t, t.Name(), text).Addr())
	require.NoError(t, err)
	return s
}

// TestDeadlineDuringTLSHandshake: the server agrees to STARTTLS and then
// never answers the ClientHello, and the probe's deadline passes first.
// Before, the handshake error was taken for a TLS failure, the probe
// retried in clear on a dead context, and the verdict was "connect to …:
// Connection timed out" (dsn 4.4.1). Now the attempt says the deadline
// stopped it during the TLS handshake, with no plaintext retry.
func TestDeadlineDuringTLSHandshake(t *testing.T) {
	srv := startScript(t, `
send 220 stall.lab.test ESMTP
expect EHLO
send 250-stall.lab.test
send 250 STARTTLS
expect STARTTLS
send 220 2.0.0 Ready to start TLS
hang
`)
	cfg := probe.Config{Server: srv, HELO: "probe.lab.test", Timeout: 5 * time.Second, Deadline: 300 * time.Millisecond}
	target, err := probe.ParseAddress("recipient", "alice@lab.test")
	require.NoError(t, err)
	start := time.Now()
	res, err := probe.Run(context.Background(), cfg, []probe.Target{{Address: target}})
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)

	require.Len(t, res.Domains, 1)
	atts := res.Domains[0].Attempts
	require.Len(t, atts, 1, "no plaintext retry after a deadline")
	assert.False(t, atts[0].PlaintextRetry)
	require.NotNil(t, atts[0].Err)
	assert.Equal(t, probe.PhaseTLS, atts[0].Err.Phase)
	assert.ErrorIs(t, atts[0].Err, probe.ErrDeadline)
	assert.NotErrorIs(t, atts[0].Err, probe.ErrTLS)
	assert.Equal(t, probe.StopDeadline, res.Stop)

	v := report.JudgeAll(res)[0]
	assert.NotContains(t, v.Reason, "Connection timed out")
	assert.NotEqual(t, "4.4.1", v.DSN)
}

// silentResolver is a UDP socket that reads queries and never answers.
func silentResolver(t *testing.T) *dnsclient.Client {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.7.1:0")
	if err != nil {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return &dnsclient.Client{Servers: []string{pc.LocalAddr().String()}, Timeout: 30 * time.Second}
}

// TestInterruptDuringMXLookup: Ctrl-C while the MX query is in flight.
// Before, mx mapped the cancellation to ErrTimeout and the verdict was
// "Host not found, try again" (dns-failure); now the recipient is not
// checked, because the run was interrupted, and the Result says so.
func TestInterruptDuringMXLookup(t *testing.T) {
	cfg := probe.Config{DNS: silentResolver(t), HELO: "probe.lab.test", Timeout: 5 * time.Second, Deadline: 20 * time.Second}
	target, err := probe.ParseAddress("recipient", "alice@lab.test")
	require.NoError(t, err)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(probe.ErrInterrupted) })
	res, err := probe.Run(ctx, cfg, []probe.Target{{Address: target}})
	require.NoError(t, err)

	o := res.Recipients[0]
	require.Error(t, o.Err)
	assert.ErrorIs(t, o.Err, probe.ErrNotChecked)
	assert.NotErrorIs(t, o.Err, mx.ErrTimeout)
	assert.ErrorIs(t, o.Err, probe.ErrInterrupted, "the cause is kept")
	assert.Equal(t, probe.StopInterrupted, res.Stop)

	v := report.JudgeAll(res)[0]
	assert.Equal(t, report.StatusNotChecked, v.Status)
	assert.NotContains(t, v.Reason, "Host not found")
	assert.Contains(t, v.Reason, "interrupted")
}

// TestScrapeTimeoutIsNotAnInterrupt: a caller that stops the probe for
// its own reason (an exporter's scrape timeout) gets that reason back,
// not "interrupted".
func TestScrapeTimeoutIsNotAnInterrupt(t *testing.T) {
	cfg := probe.Config{DNS: silentResolver(t), HELO: "probe.lab.test", Timeout: 5 * time.Second}
	target, err := probe.ParseAddress("recipient", "alice@lab.test")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeoutCause(context.Background(), 100*time.Millisecond, probe.ErrScrapeTimeout)
	defer cancel()
	res, err := probe.Run(ctx, cfg, []probe.Target{{Address: target}})
	require.NoError(t, err)
	assert.Equal(t, probe.StopScrapeTimeout, res.Stop)
	var pe *probe.Error
	require.ErrorAs(t, res.Recipients[0].Err, &pe)
	assert.Equal(t, "the scrape timeout passed", pe.Detail)
	assert.NotContains(t, report.JudgeAll(res)[0].Reason, "interrupted")
}
