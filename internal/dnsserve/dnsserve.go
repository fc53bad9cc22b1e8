// Package dnsserve runs the in-process DNS servers of the lab and of the
// tests: one handler on a UDP socket and on a TCP listener of the same
// port, as a real resolver serves (and as dnsclient assumes when it asks
// again over TCP after a truncated UDP answer; RFC 7766 §5). What the
// server answers is the handler's business — an authoritative lab zone, a
// misbehaving recursive resolver, a DNSBL — the sockets, start-up and
// shutdown are here once. Loopback only.
package dnsserve

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/miekg/dns"
)

// Server is a running DNS server.
type Server struct {
	Addr string // "ip:port" of the UDP socket (and the TCP listener, when there is one)

	srvs []*dns.Server
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

// Start serves h on pc and l; either may be nil (rbldnsd, for one, answers
// over UDP only). It returns once every socket is being served, so Close
// never races the start.
func Start(pc net.PacketConn, l net.Listener, h dns.Handler) *Server {
	s := &Server{}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	if pc != nil {
		s.Addr = pc.LocalAddr().String()
		s.srvs = append(s.srvs, &dns.Server{PacketConn: pc, Net: "udp", Handler: h, NotifyStartedFunc: notify})
	}
	if l != nil {
		if s.Addr == "" {
			s.Addr = l.Addr().String()
		}
		s.srvs = append(s.srvs, &dns.Server{Listener: l, Net: "tcp", Handler: h, NotifyStartedFunc: notify})
	}
	for _, srv := range s.srvs {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = srv.ActivateAndServe()
		}()
	}
	for range s.srvs {
		<-started
	}
	return s
}

// maxBindAttempts bounds the search for a port free for both UDP and TCP.
const maxBindAttempts = 20

// Listen binds UDP on a free port of ip, TCP on the same port, and serves
// h on both. Another process may hold that TCP port, so it tries a few
// ports.
func Listen(ip string, h dns.Handler) (*Server, error) {
	var last error
	for range maxBindAttempts {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("dnsserve: %w", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return Start(pc, l, h), nil
		}
		_ = pc.Close()
		last = err
	}
	return nil, fmt.Errorf("dnsserve: no port free for both UDP and TCP on %s: %w", ip, last)
}

// Close stops serving and waits for the servers' goroutines. It may be
// called more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		var errs []error
		for _, srv := range s.srvs {
			if err := srv.Shutdown(); err != nil {
				errs = append(errs, err)
			}
		}
		s.wg.Wait()
		s.err = errors.Join(errs...)
	})
	return s.err
}
