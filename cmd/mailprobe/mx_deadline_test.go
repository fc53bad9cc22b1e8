package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/internal/dnsserve"
)

// TestMXDeadline: a domain listing 2,800 MX hosts whose address lookups
// never get an answer, the case that once took 11 minutes. `mailprobe mx`
// ends at its --deadline, and the hosts say their lookups were stopped by
// it.
func TestMXDeadline(t *testing.T) {
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		if q.Qtype != dns.TypeMX || !strings.EqualFold(q.Name, "huge.test.") {
			return // every host lookup goes unanswered
		}
		m := new(dns.Msg)
		m.SetReply(r)
		m.Compress = true
		for i := range 2800 {
			m.Answer = append(m.Answer, &dns.MX{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeMX, Class: dns.ClassINET, Ttl: 60},
				Preference: uint16(i % 50), Mx: fmt.Sprintf("h%d.huge.test.", i)})
		}
		if w.LocalAddr().Network() == "udp" {
			m.Truncate(dns.MinMsgSize)
		}
		_ = w.WriteMsg(m)
	})
	srv, err := dnsserve.Listen("127.0.0.1", handler)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"mx", "--resolver", srv.Addr, "--dns-timeout", "5s",
		"--deadline", "500ms", "huge.test"}, strings.NewReader(""), &stdout, &stderr)
	elapsed := time.Since(start)
	assert.Less(t, elapsed, 3*time.Second, "the deadline bounds the run")
	assert.Equal(t, ExitDeferred, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stderr.String(), "the mx --deadline of 500ms passed")
	assert.Contains(t, stdout.String(), "only the first 64 by preference were looked up")

	code = run(context.Background(), []string{"mx", "--resolver", srv.Addr, "--deadline", "0s", "huge.test"},
		strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, ExitUsage, code)
}
