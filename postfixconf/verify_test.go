package postfixconf

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/fakemta"
	"github.com/mailprobe/mailprobe/probe"
)

// TestVerifyWarnings runs Verify against a catch-all backend that answers
// slower than smtpd waits (address_verify_poll_count = 1), in a
// configuration without relay_recipient_maps: the prediction is accept,
// and the three warnings say why that means little.
func TestVerifyWarnings(t *testing.T) {
	be := fakemta.StartSMTP(t, &fakemta.SMTP{Domain: "catch.test", Rcpt: func(string) error {
		time.Sleep(20 * time.Millisecond)
		return nil
	}})
	_, port, _ := net.SplitHostPort(be.Addr)

	tools := &Tools{Dir: configDir(t, "catchall", "@PORT@", port), Timeout: 20 * time.Second}
	c, err := Load(context.Background(), tools)
	require.NoError(t, err)
	r := NewResolver(c, tools)
	o := probe.DefaultOptions()
	o.Timeout = 5 * time.Second
	var emitted []string
	rep, err := r.Verify(context.Background(), []Recipient{{Address: "a@catch.test"}, {Address: "b@catch.test"}},
		Options{Probe: o, CatchAllCheck: true, Emit: func(res *Result) { emitted = append(emitted, res.Recipient) }})
	require.NoError(t, err)
	assert.Equal(t, []string{"a@catch.test", "b@catch.test"}, emitted, "each once, in input order; not the catch-all probe")
	require.Len(t, rep.Results, 2)
	for _, res := range rep.Results {
		assert.Equal(t, "smtp:[127.0.0.1]:"+port, res.Route.String())
		assert.Equal(t, PredictAccept, res.Prediction)
		assert.Equal(t, "250 2.1.5 Ok", res.PredictedReply)
		assert.Equal(t, "450 4.1.1 <"+res.Recipient+">: Recipient address rejected: unverified address: Address verification in progress", res.FirstReply)
	}
	kinds := map[string]string{}
	for _, w := range rep.Warnings {
		kinds[w.Kind] = w.Text
	}
	assert.Contains(t, kinds, "catch-all")
	assert.Contains(t, kinds, "poll-count")
	assert.Contains(t, kinds["missing-recipient-map"], "relay_recipient_maps is empty")

	assert.False(t, be.SawVerb("DATA"), "never DATA")
	// the verify service's sender ($double_bounce_sender@$myorigin) and smtp_helo_name
	assert.Contains(t, be.Mails(), "double-bounce@mx.example.test")
	assert.Contains(t, be.Hellos(), "verify-helo.example.test")
	assert.Len(t, be.Rcpts(), 3, "two recipients and one random local part")
	require.Len(t, rep.Stats, 1)
	if rep.Stats[0].SlowRcpts > 0 {
		// A machine so loaded that 20 ms answers took probe.SlowRcpt
		// makes the batch treat the backend as a verifying front and
		// spread it over more sessions, by design (probe/batch_worker.go);
		// reuse is asserted only when the answers were fast.
		t.Logf("backend judged slow (%v for %d RCPTs): session reuse not asserted", rep.Stats[0].SlowRcptTime, rep.Stats[0].SlowRcpts)
		return
	}
	assert.Len(t, be.Hellos(), 1, "one session for the nexthop")
	assert.Equal(t, 1, rep.Stats[0].Sessions)
}

// onlyFrom closes connections that do not come from one address.
type onlyFrom struct {
	net.Listener
	from string
}

func (l onlyFrom) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if h, _, _ := net.SplitHostPort(c.RemoteAddr().String()); h == l.from {
			return c, nil
		}
		c.Close()
	}
}

// TestVerifyBindOnly: the probe connects from smtp_bind_address and is
// answered; the default source is not, and the warning says so.
func TestVerifyBindOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.5.30:0")
	require.NoError(t, err)
	fakemta.StartSMTP(t, &fakemta.SMTP{Listener: onlyFrom{ln, "127.0.5.66"}, Domain: "bind.test"})
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	tools := &Tools{Dir: configDir(t, "bindonly", "@PORT@", port), Timeout: 20 * time.Second}
	c, err := Load(context.Background(), tools)
	require.NoError(t, err)
	o := probe.DefaultOptions()
	o.Timeout = 5 * time.Second
	rep, err := NewResolver(c, tools).Verify(context.Background(), []Recipient{{Address: "a@bind.test"}}, Options{Probe: o})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	assert.Equal(t, PredictAccept, rep.Results[0].Prediction, "%+v", rep.Results[0])
	var kinds []string
	for _, w := range rep.Warnings {
		kinds = append(kinds, w.Kind)
	}
	assert.Contains(t, kinds, "bind-only")
	assert.NotContains(t, kinds, "missing-recipient-map")
}
