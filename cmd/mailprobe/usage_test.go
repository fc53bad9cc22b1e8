package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLocalProblemsAreUsageErrors: #10 item 6. A --source that is not an
// address of this host and an explicit --port 0 are refused with exit 64
// before any connection.
func TestLocalProblemsAreUsageErrors(t *testing.T) {
	srv := countingServer(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"source of another host", []string{"probe", "--server", srv.Addr(), "--dnsbl", "never", "--source", "192.0.2.1", "a@lab.test"}, "--source 192.0.2.1: not an address of this host"},
		{"source of another host, batch", []string{"probe", "--server", srv.Addr(), "--source", "192.0.2.1", "--rcpt-file", "-"}, "--source 192.0.2.1: not an address of this host"},
		{"port 0", []string{"probe", "--server", "127.0.0.1", "--dnsbl", "never", "--port", "0", "a@lab.test"}, "--port 0"},
		{"unix socket with smtps", []string{"probe", "--protocol", "smtps", "--server", "unix:/tmp/x.sock", "--dnsbl", "never", "a@lab.test"}, "needs a TCP server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := cli(t, tt.args...)
			assert.Equal(t, ExitUsage, code, out+stderr)
			assert.Contains(t, stderr, tt.want)
			assert.Zero(t, srv.Conns(), "nothing may be sent")
		})
	}
}
