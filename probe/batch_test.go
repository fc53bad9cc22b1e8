package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/internal/dnsserve"
	"github.com/mailprobe/mailprobe/internal/fakemta"
)

// users answers 250 for known local parts (user1…), 550 5.1.1 for the
// rest, the way Postfix words it.
func users(addr string) string {
	if strings.HasPrefix(addr, "user") {
		return "250 2.1.5 Ok"
	}
	return "550 5.1.1 <" + addr + ">: Recipient address rejected: User unknown in virtual mailbox table"
}

func wantCode(addr string) int {
	if strings.HasPrefix(addr, "user") {
		return 250
	}
	return 550
}

// mixed is n addresses, every k-th unknown.
func mixed(n, k int) []string {
	out := make([]string, n)
	for i := range out {
		if k > 0 && i%k == k-1 {
			out[i] = fmt.Sprintf("nobody%d@lab.test", i)
		} else {
			out[i] = fmt.Sprintf("user%d@lab.test", i)
		}
	}
	return out
}

// rcptFile renders addresses as a recipient file with a comment and a
// blank line in front, so line numbers differ from positions.
func rcptFile(addrs []string) string {
	var b strings.Builder
	b.WriteString("# virtual mailbox table\n\n")
	for _, a := range addrs {
		b.WriteString(a + "  lab.test/" + a + "/\n")
	}
	return b.String()
}

func batchConfig(server string) Config {
	cfg := baseConfig(server)
	cfg.Deadline = 0
	return cfg
}

// runBatch runs a batch over addrs and checks the invariants every run
// must keep: one item per address, in input order, with its line number.
func runBatch(t *testing.T, ctx context.Context, cfg Config, opts BatchOptions, addrs []string, onEmit func(BatchItem)) ([]BatchItem, BatchStats) {
	t.Helper()
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	b, err := NewBatch(cfg, opts)
	require.NoError(t, err)
	var items []BatchItem
	err = b.Run(ctx, NewRcptReader(strings.NewReader(rcptFile(addrs))), func(it BatchItem) error {
		items = append(items, it)
		if onEmit != nil {
			onEmit(it)
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, items, len(addrs), "exactly one result per input address")
	for i, it := range items {
		require.Equal(t, i, it.Seq)
		require.Equal(t, i+3, it.Line, "line number of %s", addrs[i])
		require.NotNil(t, it.Outcome, "line %d", it.Line)
		require.Equal(t, addrs[i], it.Outcome.Recipient, "results in input order")
	}
	st := b.Stats()
	require.Equal(t, len(addrs), st.Items)
	return items, st
}

func requireCodes(t *testing.T, items []BatchItem, want func(string) int) {
	t.Helper()
	for _, it := range items {
		o := it.Outcome
		require.NotNil(t, o.Reply, "line %d %s: %v", it.Line, o.Recipient, o.Err)
		require.Equal(t, want(o.Recipient), o.Reply.Code, "line %d %s", it.Line, o.Recipient)
		require.Equal(t, PhaseRCPT, o.Phase)
		require.NoError(t, o.Err)
	}
}

func TestBatchFaults(t *testing.T) {
	tests := []struct {
		name  string
		mta   fakemta.Server
		opts  BatchOptions
		n, k  int
		check func(t *testing.T, f *fakemta.Server, st BatchStats)
	}{
		{
			name: "pipelined, mixed answers, rotating before the error limit",
			mta:  fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, a string) string { return users(a) }, HardErrors: 20},
			n:    500, k: 4,
			check: func(t *testing.T, f *fakemta.Server, st BatchStats) {
				assert.Zero(t, f.Errors421(), "the batch stays under smtpd_hard_error_limit")
				assert.Positive(t, st.ErrorRotations)
				assert.Zero(t, st.Reconnects)
			},
		},
		{
			name: "lock-step without PIPELINING",
			mta:  fakemta.Server{Rcpt: func(_, _ int, a string) string { return users(a) }},
			n:    120, k: 7,
		},
		{
			name: "connection dropped mid-batch",
			mta: fakemta.Server{Pipelining: true, Rcpt: func(conn, n int, a string) string {
				if conn == 1 && n == 37 {
					return ""
				}
				return users(a)
			}},
			opts: BatchOptions{Concurrency: 1},
			n:    300, k: 50,
			check: func(t *testing.T, f *fakemta.Server, st BatchStats) {
				assert.Equal(t, 1, st.Reconnects)
				assert.Equal(t, 2, st.Sessions)
			},
		},
		{
			name: "421 mid-batch",
			mta: fakemta.Server{Pipelining: true, Rcpt: func(conn, n int, a string) string {
				if conn == 1 && n == 60 {
					return "421 4.3.2 mx.test Service shutting down"
				}
				return users(a)
			}},
			opts: BatchOptions{Concurrency: 1},
			n:    250, k: 0,
			check: func(t *testing.T, f *fakemta.Server, st BatchStats) {
				assert.Equal(t, 1, st.Closed421)
				assert.Equal(t, 1, st.Reconnects)
			},
		},
		{
			name: "452 too many recipients per transaction",
			mta:  fakemta.Server{Pipelining: true, TxLimit: 7, Rcpt: func(_, _ int, a string) string { return users(a) }},
			n:    100, k: 0,
			check: func(t *testing.T, f *fakemta.Server, st BatchStats) {
				assert.EqualValues(t, 7, f.MaxPerTx())
			},
		},
		{
			name: "452 too many recipients per session",
			mta:  fakemta.Server{Pipelining: true, SessionLimit: 30, Rcpt: func(_, _ int, a string) string { return users(a) }},
			opts: BatchOptions{Concurrency: 1},
			n:    100, k: 0,
			check: func(t *testing.T, f *fakemta.Server, st BatchStats) {
				assert.Equal(t, 3, st.Limited)
				assert.Equal(t, 4, st.Sessions)
			},
		},
		{
			name: "Postfix 421 too many errors after 20 refusals, no error budget",
			mta:  fakemta.Server{Pipelining: true, HardErrors: 20, Rcpt: func(_, _ int, a string) string { return users(a) }},
			opts: BatchOptions{MaxSessionErrors: -1, Concurrency: 1},
			n:    200, k: 2,
			check: func(t *testing.T, f *fakemta.Server, st BatchStats) {
				assert.Positive(t, f.Errors421())
				assert.Positive(t, st.Closed421)
				assert.Positive(t, st.Reconnects)
			},
		},
		{
			name: "all unknown: the window shrinks to the error budget",
			mta:  fakemta.Server{Pipelining: true, HardErrors: 20, Rcpt: func(_, _ int, a string) string { return users(a) }},
			n:    60, k: 1,
			check: func(t *testing.T, f *fakemta.Server, st BatchStats) {
				assert.Zero(t, f.Errors421())
				assert.LessOrEqual(t, f.MaxPerTx(), int64(9))
			},
		},
	}
	for i := range tests {
		tt := &tests[i]
		t.Run(tt.name, func(t *testing.T) {
			f := fakemta.Start(t, &tt.mta)
			addrs := mixed(tt.n, tt.k)
			items, st := runBatch(t, context.Background(), batchConfig(f.Addr), tt.opts, addrs, nil)
			requireCodes(t, items, wantCode)
			requireNoDataIn(t, f.Lines())
			if tt.check != nil {
				tt.check(t, f, st)
			}
		})
	}
}

func TestBatchPoisonAddressDoesNotStopTheBatch(t *testing.T) {
	// Every session that asks for poison@ is dropped: after MaxReconnects
	// sessions without progress it alone is given the error.
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, a string) string {
		if strings.HasPrefix(a, "poison") {
			return ""
		}
		return users(a)
	}})
	addrs := mixed(40, 0)
	addrs[17] = "poison@lab.test"
	items, st := runBatch(t, context.Background(), batchConfig(f.Addr), BatchOptions{Concurrency: 1}, addrs, nil)
	for i, it := range items {
		if i == 17 {
			assert.ErrorIs(t, it.Outcome.Err, ErrLost)
			assert.Equal(t, PhaseRCPT, it.Outcome.Phase)
			continue
		}
		require.NotNil(t, it.Outcome.Reply, "line %d", it.Line)
		assert.Equal(t, 250, it.Outcome.Reply.Code)
	}
	assert.Equal(t, 1, st.GaveUp)
	requireNoDataIn(t, f.Lines())
}

func TestBatchServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	items, st := runBatch(t, context.Background(), batchConfig(addr), BatchOptions{}, mixed(300, 3), nil)
	for _, it := range items {
		assert.ErrorIs(t, it.Outcome.Err, ErrRefused, "line %d", it.Line)
		require.NotNil(t, it.Outcome.Attempt)
	}
	assert.Equal(t, 1, st.DeadHosts)
}

func TestBatchGreeting421Backoff(t *testing.T) {
	// The first two connections are turned away at the greeting.
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true,
		Greeting: func(conn int) string {
			if conn <= 2 {
				return "421 4.7.0 mx.test Too many connections from your IP, slow down"
			}
			return "220 mx.test ESMTP"
		},
		Rcpt: func(_, _ int, a string) string { return users(a) }})
	items, st := runBatch(t, context.Background(), batchConfig(f.Addr), BatchOptions{Concurrency: 1}, mixed(50, 5), nil)
	requireCodes(t, items, wantCode)
	assert.Equal(t, 2, st.Backoffs)
	assert.Equal(t, 2, st.Closed421)
}

func TestBatchVerificationInProgress(t *testing.T) {
	// reject_unverified_recipient: the first RCPT for an uncached
	// address is answered 450 4.1.1 while Postfix's verify polls.
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, a string) string {
		if strings.HasPrefix(a, "nobody") {
			return "450 4.1.1 <" + a + ">: Recipient address rejected: unverified address: Address verification in progress"
		}
		return users(a)
	}})
	items, _ := runBatch(t, context.Background(), batchConfig(f.Addr), BatchOptions{}, mixed(30, 3), nil)
	requireCodes(t, items, func(a string) int {
		if strings.HasPrefix(a, "nobody") {
			return 450
		}
		return 250
	})
}

func TestBatchCancelMidBatch(t *testing.T) {
	// The "user" presses Ctrl-C once 50 results are out.
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, a string) string { return users(a) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := mixed(2000, 10)
	var once sync.Once
	items, st := runBatch(t, ctx, batchConfig(f.Addr), BatchOptions{Concurrency: 1, Window: 25}, addrs, func(it BatchItem) {
		if it.Seq == 49 {
			once.Do(cancel)
		}
	})
	notChecked := 0
	for i, it := range items {
		if errors.Is(it.Outcome.Err, ErrNotChecked) {
			notChecked++
			continue
		}
		require.NotNil(t, it.Outcome.Reply, "line %d: %v", it.Line, it.Outcome.Err)
		assert.Equal(t, wantCode(addrs[i]), it.Outcome.Reply.Code)
	}
	for i := 50; i < len(items); i++ {
		// Nothing after the interruption is decided from a guess.
		if items[i].Outcome.Reply != nil {
			require.Equal(t, wantCode(addrs[i]), items[i].Outcome.Reply.Code)
		}
	}
	assert.Positive(t, notChecked)
	assert.Equal(t, notChecked, st.NotChecked)
	assert.True(t, st.Interrupted)
	requireNoDataIn(t, f.Lines())
}

func TestBatchCancelWhileServerHangs(t *testing.T) {
	block := make(chan struct{})
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Block: block, Rcpt: func(_, _ int, a string) string { return users(a) }})
	t.Cleanup(func() { close(block) })
	ctx, cancel := context.WithCancel(context.Background())
	b, err := NewBatch(batchConfig(f.Addr), BatchOptions{Backoff: time.Millisecond})
	require.NoError(t, err)
	var items []BatchItem
	done := make(chan error, 1)
	go func() {
		done <- b.Run(ctx, NewRcptReader(strings.NewReader(rcptFile(mixed(500, 0)))), func(it BatchItem) error {
			items = append(items, it)
			return nil
		})
	}()
	// Cancel once the server holds the first RCPT.
	require.Eventually(t, func() bool {
		for _, c := range f.Lines() {
			if strings.HasPrefix(c, "RCPT") {
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Len(t, items, 500)
	for i, it := range items {
		assert.Equal(t, i+3, it.Line)
		assert.ErrorIs(t, it.Outcome.Err, ErrNotChecked)
	}
}

func TestBatchInvalidAndSkippedLines(t *testing.T) {
	addr, rec := testServer(t, false, knownUsers("alice@lab.test"))
	in := "alice@lab.test\n@lab.test  catchall@lab.test\nalice@lab..test\r\nbob@lab.test\n" +
		"alice@lab.test\nlab.test  virtual\n" + strings.Repeat("x", MaxRcptLine+10) + "\n"
	b, err := NewBatch(batchConfig(addr), BatchOptions{})
	require.NoError(t, err)
	var items []BatchItem
	require.NoError(t, b.Run(context.Background(), NewRcptReader(strings.NewReader(in)), func(it BatchItem) error {
		items = append(items, it)
		return nil
	}))
	require.Len(t, items, 7)
	assert.Equal(t, 250, items[0].Outcome.Reply.Code)
	assert.Contains(t, items[1].Skip, "catch-all")
	assert.Equal(t, 2, items[1].Line)
	assert.ErrorIs(t, items[2].Err, ErrBadInput)
	assert.Equal(t, 550, items[3].Outcome.Reply.Code)
	// A duplicate is probed and reported again, on its own line.
	assert.Equal(t, 250, items[4].Outcome.Reply.Code)
	assert.Equal(t, 5, items[4].Line)
	assert.NotEmpty(t, items[5].Skip)
	assert.ErrorIs(t, items[6].Err, ErrRcptLineTooLong)
	assert.Equal(t, 7, items[6].Line)
	assert.Equal(t, 3, b.Stats().Probed)
	requireNoData(t, rec)
}

func TestBatchGoSMTPAndLMTPSocket(t *testing.T) {
	addrs := mixed(300, 3)
	known := func(to string) error {
		if strings.HasPrefix(to, "user") {
			return nil
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User doesn't exist"}
	}
	t.Run("smtp", func(t *testing.T) {
		addr, rec := testServer(t, false, known)
		items, st := runBatch(t, context.Background(), batchConfig(addr), BatchOptions{}, addrs, nil)
		requireCodes(t, items, wantCode)
		requireNoData(t, rec)
		assert.LessOrEqual(t, st.Sessions, 2+st.ErrorRotations+st.Reconnects)
	})
	t.Run("lmtp unix socket", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "lmtp")
		l, err := net.Listen("unix", sock)
		require.NoError(t, err)
		rec := fakemta.StartSMTP(t, &fakemta.SMTP{Listener: l, LMTP: true, Domain: "backend.test", Rcpt: known})
		t.Cleanup(func() { _ = os.Remove(sock) })
		cfg := batchConfig("unix:" + sock)
		cfg.Protocol = ProtocolLMTP
		items, st := runBatch(t, context.Background(), cfg, BatchOptions{}, addrs, nil)
		requireCodes(t, items, wantCode)
		requireNoData(t, rec)
		// LMTP keeps no error count: no rotations, two sessions.
		assert.Zero(t, st.ErrorRotations)
		assert.LessOrEqual(t, st.Sessions, 2)
		for _, c := range rec.Lines() {
			if strings.HasPrefix(c, "EHLO") {
				t.Fatalf("LMTP session sent EHLO")
			}
		}
	})
}

func TestBatchRateCapsTransactionSize(t *testing.T) {
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, a string) string { return users(a) }})
	items, _ := runBatch(t, context.Background(), batchConfig(f.Addr), BatchOptions{Rate: 1000, Window: 5000}, mixed(30, 0), nil)
	requireCodes(t, items, wantCode)
	b, err := NewBatch(batchConfig(f.Addr), BatchOptions{Rate: 5})
	require.NoError(t, err)
	assert.Equal(t, 5, b.Options().Window, "a transaction holds at most one second's worth")
}

func TestBatchEmitErrorStops(t *testing.T) {
	f := fakemta.Start(t, &fakemta.Server{Pipelining: true, Rcpt: func(_, _ int, a string) string { return users(a) }})
	b, err := NewBatch(batchConfig(f.Addr), BatchOptions{})
	require.NoError(t, err)
	stop := errors.New("stdout closed")
	n := 0
	err = b.Run(context.Background(), NewRcptReader(strings.NewReader(rcptFile(mixed(5000, 0)))), func(BatchItem) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 10, n)
}

func TestBatchReadError(t *testing.T) {
	addr, _ := testServer(t, false, knownUsers("user1@lab.test"))
	b, err := NewBatch(batchConfig(addr), BatchOptions{})
	require.NoError(t, err)
	broken := io.MultiReader(strings.NewReader("user1@lab.test\nuser2@lab.test\n"), iotestErr{})
	var items []BatchItem
	err = b.Run(context.Background(), NewRcptReader(broken), func(it BatchItem) error {
		items = append(items, it)
		return nil
	})
	require.ErrorIs(t, err, ErrRcptRead)
	require.Len(t, items, 2, "lines read before the failure are still reported")
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// fakeDNS answers MX and A queries for test domains on loopback
// (dnsserve.Zone: NODATA for a known name, NXDOMAIN for others) and
// counts the queries.
type fakeDNS struct {
	addr string
	zone *dnsserve.Zone
}

func startFakeDNS(t *testing.T, mxs map[string]string, hosts map[string]string) *fakeDNS {
	t.Helper()
	var records []string
	for name, h := range mxs {
		records = append(records, name+" 300 IN MX 10 "+h)
	}
	for name, ip := range hosts {
		records = append(records, name+" 300 IN A "+ip)
	}
	zone, err := dnsserve.NewZone(records...)
	require.NoError(t, err)
	srv, err := dnsserve.Listen("127.0.0.1", zone)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return &fakeDNS{addr: srv.Addr, zone: zone}
}

func TestBatchViaMX(t *testing.T) {
	// Two domains on two loopback addresses with one port: each domain's
	// recipients go to its own MX, its route is looked up once.
	la, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(la.Addr().String())
	lb, err := net.Listen("tcp", "127.0.0.2:"+port)
	if err != nil {
		t.Skipf("127.0.0.2:%s not available: %v", port, err)
	}
	serve := func(l net.Listener, name string) *fakemta.SMTP {
		return fakemta.StartSMTP(t, &fakemta.SMTP{Listener: l, Domain: "mx." + name, Rcpt: func(to string) error {
			if strings.HasPrefix(to, "user") && strings.HasSuffix(to, "@"+name) {
				return nil
			}
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		}})
	}
	recA, recB := serve(la, "a.test"), serve(lb, "b.test")
	d := startFakeDNS(t, map[string]string{"a.test.": "mx.a.test.", "b.test.": "mx.b.test."},
		map[string]string{"mx.a.test.": "127.0.0.1", "mx.b.test.": "127.0.0.2"})
	client, err := dnsclient.New(d.addr, 2*time.Second)
	require.NoError(t, err)
	cfg := batchConfig("127.0.0.1")
	cfg.Server, cfg.DNS, cfg.Family = nil, client, 0
	fmt.Sscan(port, &cfg.Port)

	var addrs []string
	for i := 0; i < 90; i++ {
		dom := []string{"a.test", "b.test", "nx.test"}[i%3]
		addrs = append(addrs, fmt.Sprintf("user%d@%s", i, dom))
	}
	items, _ := runBatch(t, context.Background(), cfg, BatchOptions{}, addrs, nil)
	for _, it := range items {
		o := it.Outcome
		if strings.HasSuffix(o.Recipient, "nx.test") {
			assert.Equal(t, PhaseDNS, o.Phase)
			assert.Error(t, o.Err)
			continue
		}
		require.NotNil(t, o.Reply, "%s: %v", o.Recipient, o.Err)
		assert.Equal(t, 250, o.Reply.Code, o.Recipient)
		assert.Equal(t, "mx."+o.Recipient[strings.IndexByte(o.Recipient, '@')+1:], o.Attempt.Host)
	}
	assert.Equal(t, 1, d.mxQueries("a.test."), "route looked up once per domain")
	assert.Equal(t, 1, d.mxQueries("b.test."))
	requireNoData(t, recA)
	requireNoData(t, recB)
}
