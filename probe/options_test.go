package probe

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/mx"
)

func TestNewConfigDefaults(t *testing.T) {
	o := DefaultOptions()
	o.Server = "127.0.7.1:2525"
	o.DNSBL = "never"
	cfg, err := NewConfig(o)
	require.NoError(t, err)
	assert.Equal(t, ProtocolSMTP, cfg.Protocol)
	assert.Equal(t, TLSAuto, cfg.STARTTLS)
	assert.Equal(t, PortSMTP, cfg.Port)
	assert.Equal(t, DefaultTimeout, cfg.Timeout)
	assert.Equal(t, DefaultDeadline, cfg.Deadline)
	assert.Equal(t, DefaultRcptWindow, cfg.RcptWindow)
	assert.Equal(t, DefaultMaxAddresses, cfg.MaxAddresses)
	assert.Equal(t, DefaultMaxSessions, cfg.MaxSessions)
	assert.Equal(t, mx.FamilyAny, cfg.Family)
	assert.Equal(t, DefaultHELO(), cfg.HELO)
	assert.True(t, cfg.SenderAuto, "the sender is chosen before the first connection (ChooseSender)")
	assert.Empty(t, cfg.From)
	assert.Nil(t, cfg.DNS, "an IP --server without DNSBL needs no resolver")
	assert.Nil(t, cfg.DNSBL)

	o.Protocol = "lmtp"
	o.Server = ""
	o.Resolver = "127.0.7.53"
	o.DNSBL = "always"
	o.NullSender, o.From = true, ""
	cfg, err = NewConfig(o)
	require.NoError(t, err)
	assert.Equal(t, PortLMTP, cfg.Port)
	assert.Equal(t, "", cfg.From)
	require.NotNil(t, cfg.DNS)
	assert.Equal(t, []string{"127.0.7.53:53"}, cfg.DNS.Servers)
	assert.True(t, cfg.DNSBLAlways)
	assert.NotNil(t, cfg.DNSBL)
}

// TestNewConfigRefuses: every bad setting is a *ConfigError or
// *InputError wrapping ErrBadInput, named after its flag.
func TestNewConfigRefuses(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Options)
		want string
	}{
		{"protocol", func(o *Options) { o.Protocol = "pop3" }, `--protocol "pop3"`},
		{"starttls", func(o *Options) { o.STARTTLS = "maybe" }, `--starttls "maybe"`},
		{"port", func(o *Options) { o.Port = 70000 }, "--port 70000"},
		{"zero timeout", func(o *Options) { o.Timeout = 0 }, "--timeout and --deadline must be positive"},
		{"negative deadline", func(o *Options) { o.Deadline = -time.Second }, "--timeout and --deadline"},
		{"negative dns timeout", func(o *Options) { o.DNSTimeout = -time.Second }, "--dns-timeout"},
		{"both families", func(o *Options) { o.IPv4, o.IPv6 = true, true }, "-4 and -6"},
		{"unix with smtps", func(o *Options) { o.Server, o.Protocol = "unix:/run/lmtp", "smtps" }, "needs a TCP server"},
		{"bad server", func(o *Options) { o.Server = "127.0.7.1:0" }, "--server"},
		{"source", func(o *Options) { o.Source = "eth0" }, `--source "eth0"`},
		{"helo", func(o *Options) { o.HELO = "a b" }, "--helo"},
		{"from", func(o *Options) { o.From = "a@b\nRCPT TO:<x@y.z>" }, "--from"},
		{"null sender with address", func(o *Options) { o.NullSender, o.From = true, "a@b.example" }, "--from"},
		{"public ip", func(o *Options) { o.PublicIP = "nope" }, "--public-ip"},
		{"dnsbl", func(o *Options) { o.DNSBL = "sometimes" }, `--dnsbl "sometimes"`},
		{"lists", func(o *Options) { o.Lists = "nodot" }, "--lists"},
		{"resolver", func(o *Options) { o.Resolver = "[::1" }, "--resolver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Server, o.Resolver = "127.0.7.1", "127.0.7.53"
			tt.set(&o)
			_, err := NewConfig(o)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrBadInput), "%v does not wrap ErrBadInput", err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewBatchConfig(t *testing.T) {
	o := DefaultOptions()
	o.Server, o.DNSBL, o.Deadline = "127.0.7.1", "auto", 0
	o.Protocol = "lmtp"
	cfg, bo, err := NewBatchConfig(o)
	require.NoError(t, err)
	assert.Zero(t, cfg.Deadline, "a batch has no deadline unless given")
	assert.Nil(t, cfg.DNSBL, "batches check no blocklists")
	assert.Equal(t, DefaultRcptWindow, bo.Window)
	assert.Equal(t, DefaultConcurrency, bo.Concurrency)
	assert.Equal(t, -1, bo.MaxSessionErrors, "LMTP servers keep no error count")

	o.Rate = 10
	cfg, bo, err = NewBatchConfig(o)
	require.NoError(t, err)
	assert.Equal(t, 10, bo.Window, "a transaction holds no more than one second's worth")
	assert.Equal(t, 10, cfg.RcptWindow)

	for _, bad := range []func(*Options){
		func(o *Options) { o.RcptWindow = 0 },
		func(o *Options) { o.RcptWindow = MaxRcptWindow + 1 },
		func(o *Options) { o.Concurrency = 0 },
		func(o *Options) { o.Rate = -1 },
		func(o *Options) { o.AllMX = true },
		func(o *Options) { o.CatchAllCheck = true },
		func(o *Options) { o.Deadline = -1 },
		func(o *Options) { o.Protocol = "x" },
	} {
		b := o
		bad(&b)
		_, _, err := NewBatchConfig(b)
		assert.ErrorIs(t, err, ErrBadInput)
	}
}

// TestConfigArgs: the flags Args prints parse back, through NewConfig,
// into the same settings.
func TestConfigArgs(t *testing.T) {
	o := DefaultOptions()
	o.Protocol, o.Server, o.HELO, o.From = "lmtp", "127.0.7.2:24", "probe.example.net", "me@example.net"
	o.Timeout, o.Deadline, o.DNSTimeout = 3*time.Second, 20*time.Second, 2*time.Second
	o.Resolver, o.Lists, o.DNSBL, o.IPv4, o.STARTTLS = "127.0.7.53:5353", "bl.example.net", "always", true, "never"
	cfg, err := NewConfig(o)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"--resolver", "127.0.7.53:5353", "--protocol", "lmtp", "--server", "127.0.7.2:24",
		"--helo", "probe.example.net", "--from", "me@example.net", "--starttls", "never",
		"--timeout", "3s", "--deadline", "20s", "--dns-timeout", "2s", "-4",
		"--dnsbl", "always", "--lists", "bl.example.net",
	}, cfg.Args())

	o = DefaultOptions()
	o.Server, o.DNSBL, o.NullSender = "127.0.7.2", "never", true
	cfg, err = NewConfig(o)
	require.NoError(t, err)
	assert.Equal(t, []string{"--server", "127.0.7.2", "--from", "<>", "--dnsbl", "never"}, cfg.Args())

	// swaks's spelling of the null sender.
	o = DefaultOptions()
	o.Server, o.DNSBL, o.From = "127.0.7.2", "never", "<>"
	cfg, err = NewConfig(o)
	require.NoError(t, err)
	assert.False(t, cfg.SenderAuto)
	assert.Empty(t, cfg.From)
}

// TestNewConfigUnixImpliesLMTP: #10 item 6. --server unix:/path speaks
// LMTP (Postfix's lmtp:unix:/path) without --protocol lmtp.
func TestNewConfigUnixImpliesLMTP(t *testing.T) {
	o := DefaultOptions()
	o.Server, o.DNSBL = "unix:/run/dovecot/lmtp", "never"
	cfg, err := NewConfig(o)
	require.NoError(t, err)
	assert.Equal(t, ProtocolLMTP, cfg.Protocol)
	assert.Equal(t, PortLMTP, cfg.Port)
}

// TestNewConfigSourceMustBeLocal: #10 item 6. A --source that is not an
// address of this host is a usage error, found by binding, before any
// connection; a loopback address is fine.
func TestNewConfigSourceMustBeLocal(t *testing.T) {
	o := DefaultOptions()
	o.Server, o.DNSBL, o.Source = "127.0.0.1", "never", "192.0.2.1"
	_, err := NewConfig(o)
	require.ErrorIs(t, err, ErrBadInput)
	assert.Contains(t, err.Error(), "not an address of this host")
	o.Source = "127.0.6.1"
	_, err = NewConfig(o)
	assert.NoError(t, err)
}
