package mx

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailprobe/mailprobe/dnsclient"
)

// FuzzResolveAnswer feeds arbitrary resolver answers to Resolve over
// loopback. Whatever the resolver sends, Resolve must return a route
// without panicking or hanging, and a route without Err must be usable.
//
// Every question gets the fuzzed message. When it parses, its ID and
// question are set to the query's so the fuzzer reaches the CNAME, MX and
// address logic; when it does not, it goes out raw with the right ID, to
// reach the malformed-answer path.
func FuzzResolveAnswer(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	var body []byte
	bodyCh := make(chan []byte, 1)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(f, err)
	f.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case body = <-bodyCh:
			default:
			}
			req := new(dns.Msg)
			if req.Unpack(buf[:n]) != nil || len(body) < 2 {
				continue
			}
			out := slices.Clone(body)
			if m := new(dns.Msg); m.Unpack(body) == nil {
				m.Id, m.Question = req.Id, req.Question
				if packed, err := m.Pack(); err == nil {
					out = packed
				}
			}
			out[0], out[1] = byte(req.Id>>8), byte(req.Id)
			_, _ = pc.WriteTo(out, from)
		}
	}()
	r := &Resolver{DNS: &dnsclient.Client{Servers: []string{pc.LocalAddr().String()}, Timeout: 50 * time.Millisecond}}

	f.Fuzz(func(t *testing.T, msg []byte) {
		// Replace a body no query consumed (a datagram lost under load)
		// instead of blocking on the full channel.
		select {
		case <-bodyCh:
		default:
		}
		bodyCh <- msg
		route := r.Resolve(context.Background(), "fuzz.test")
		require.NotNil(t, route)
		if route.Err == nil {
			usable := slices.ContainsFunc(route.Hosts, func(h MXHost) bool { return h.Err == nil && len(h.Addresses) > 0 })
			require.True(t, usable, "route without error has no usable host")
		}
		require.True(t, slices.IsSortedFunc(route.Hosts, func(a, b MXHost) int { return int(a.Preference) - int(b.Preference) }))
		require.LessOrEqual(t, len(route.CNAMEs), DefaultMaxCNAME+1)
	})
}

// fuzzSeeds are packed answers of the kinds the table tests cover.
func fuzzSeeds(t testing.TB) [][]byte {
	mk := func(rcode int, rrs ...string) []byte {
		m := new(dns.Msg)
		m.SetQuestion("fuzz.test.", dns.TypeMX)
		m.Response, m.Rcode = true, rcode
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			require.NoError(t, err)
			m.Answer = append(m.Answer, rr)
		}
		b, err := m.Pack()
		require.NoError(t, err)
		return b
	}
	return [][]byte{
		mk(dns.RcodeSuccess, "fuzz.test. 60 MX 10 mx.fuzz.test.", "mx.fuzz.test. 60 A 192.0.2.1", "mx.fuzz.test. 60 AAAA 2001:db8::1"),
		mk(dns.RcodeSuccess, "fuzz.test. 60 MX 0 ."),
		mk(dns.RcodeSuccess, "fuzz.test. 60 CNAME a.fuzz.test.", "a.fuzz.test. 60 CNAME fuzz.test."),
		mk(dns.RcodeSuccess, "fuzz.test. 60 MX 10 192.0.2.1."),
		mk(dns.RcodeSuccess, "fuzz.test. 60 A 192.0.2.2"),
		mk(dns.RcodeNameError),
		mk(dns.RcodeServerFailure),
		{0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 4, 'f', 'u', 'z', 'z'},
	}
}
