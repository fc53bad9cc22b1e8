package probe

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/blacklist"
)

// fakeDNSBL records what probe asked; it answers "clean" for everything.
type fakeDNSBL struct {
	mu    sync.Mutex
	calls int
	addrs []netip.Addr
	named []string
}

func (f *fakeDNSBL) CheckAddrs(_ context.Context, addrs []netip.Addr, named []string) []blacklist.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.addrs, f.named = addrs, named
	var out []blacklist.Result
	for _, a := range addrs {
		out = append(out, blacklist.Result{Target: a.String(), Address: a.String(), List: "bl.test", Status: blacklist.Clean})
	}
	return out
}

func (f *fakeDNSBL) Lists() []blacklist.List {
	return []blacklist.List{{Zone: "bl.test", Kind: blacklist.KindIP}}
}

func rcptError(code int, enh smtp.EnhancedCode, msg string) func(string) error {
	return func(string) error { return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg} }
}

// TestDNSBLAutoOnlyAfterBlockLikeRefusal: #10 item 3. --dnsbl auto asks
// the lists after a block-like refusal only, and asks the list and the
// address the refusal names too (item 1).
func TestDNSBLAutoOnlyAfterBlockLikeRefusal(t *testing.T) {
	tests := []struct {
		name  string
		lmtp  bool
		rcpt  func(string) error
		asked bool
		named []string
		saw   []string
	}{
		{"user unknown", false, knownUsers(), false, nil, nil},
		{"greylisted", false, rcptError(450, smtp.EnhancedCode{4, 2, 0}, "<a@lab.test>: Recipient address rejected: Greylisted"), false, nil, nil},
		{"mailbox full", false, rcptError(452, smtp.EnhancedCode{4, 2, 2}, "<a@lab.test>: Recipient address rejected: Mailbox full"), false, nil, nil},
		{"LMTP backend refusal", true, rcptError(550, smtp.EnhancedCode{5, 7, 1}, "Service unavailable; Client host [127.0.0.1] blocked using bl.lab.test"), false, nil, nil},
		{"Postfix reject_rbl_client", false, rcptError(554, smtp.EnhancedCode{5, 7, 1}, "Service unavailable; Client host [192.0.2.200] blocked using bl.lab.test; see https://bl.test/q?ip=192.0.2.200"), true,
			[]string{"bl.lab.test", "bl.test"}, []string{"192.0.2.200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := testServer(t, tt.lmtp, tt.rcpt)
			cfg := baseConfig(addr)
			if tt.lmtp {
				cfg.Protocol = ProtocolLMTP
			}
			f := &fakeDNSBL{}
			cfg.DNSBL = f
			res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test")})
			require.NoError(t, err)
			if !tt.asked {
				assert.Zero(t, f.calls, "no DNSBL lookups after this refusal")
				assert.Nil(t, res.DNSBL)
				return
			}
			assert.Equal(t, 1, f.calls)
			assert.Equal(t, tt.named, f.named)
			assert.Equal(t, tt.named, res.DNSBLNamed)
			assert.Equal(t, tt.saw, res.ServerSaw)
			assert.Contains(t, f.addrs, netip.MustParseAddr("192.0.2.200"), "the address the server saw is asked")
		})
	}
}

// TestDNSBLPeerNamedBounded: a refusal's text decides which lists and
// addresses are asked too; a hostile one naming hundreds of each (every
// address is asked of every list) adds MaxNamedLists lists and
// MaxServerSawAddrs addresses, the first named.
func TestDNSBLPeerNamedBounded(t *testing.T) {
	var msg strings.Builder
	msg.WriteString("Service unavailable;")
	for i := range 300 {
		if i%10 == 9 {
			msg.WriteString("\n") // a multi-line reply, each line under the length limit
		}
		fmt.Fprintf(&msg, " Client host [192.0.2.%d] blocked using z%d.lab.test;", i%250+1, i)
	}
	addr, _ := testServer(t, false, rcptError(554, smtp.EnhancedCode{5, 7, 1}, msg.String()))
	cfg := baseConfig(addr)
	f := &fakeDNSBL{}
	cfg.DNSBL = f
	// go-smtp sends the enhanced code on no line of a multi-line reply:
	// count the refusal as block-like whatever its code.
	cfg.BlockLike = func(Phase, *Reply) bool { return true }
	res, err := Run(context.Background(), cfg, []Target{mustTarget(t, "a@lab.test")})
	require.NoError(t, err)
	require.Equal(t, 1, f.calls, "outcome: %v %v", res.Recipients[0].Err, res.Recipients[0].Reply)
	assert.Len(t, f.named, MaxNamedLists)
	assert.Equal(t, "z0.lab.test", f.named[0], "the first named win")
	assert.Len(t, res.ServerSaw, MaxServerSawAddrs)
	assert.LessOrEqual(t, len(f.addrs), MaxServerSawAddrs+2, "the server's addresses, plus the probe's own local and remote")
}
