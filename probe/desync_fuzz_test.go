package probe_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailprobe/mailprobe/probe"
)

// fuzzBases are honest reply sequences (greeting, EHLO, MAIL, RCPT, RSET,
// QUIT), with and without PIPELINING and enhanced codes.
var fuzzBases = [][]string{
	{"220 mx.lab.test ESMTP", "250-mx.lab.test\r\n250 PIPELINING", "250 2.1.0 Ok", "550 5.1.1 <alice@lab.test>: Recipient address rejected: User unknown", "250 2.0.0 Ok", "221 2.0.0 Bye"},
	{"220 mx.lab.test ESMTP", "250-mx.lab.test\r\n250 PIPELINING", "250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok", "221 2.0.0 Bye"},
	{"220 mx.lab.test ESMTP", "250-mx.lab.test\r\n250 PIPELINING", "250 OK", "250 Accepted", "250 Reset OK", "221 closing"},
	{"220 mx.lab.test ESMTP", "250 mx.lab.test", "250 2.1.0 Ok", "550 5.1.1 no such user", "250 2.0.0 Ok", "221 2.0.0 Bye"},
	{"220 mx.lab.test ESMTP", "250 mx.lab.test", "250 OK", "250 OK", "250 flushed", "221 bye"},
}

// replyServer answers each command line on nc with the next reply of
// replies; the extra one (when not "") goes out right after the reply at
// position at, unasked, as a server out of step would send it. After the
// last reply it reads until the client hangs up.
func replyServer(nc net.Conn, replies []string, extra string, at int) {
	defer nc.Close()
	send := func(i int) bool {
		s := replies[i] + "\r\n"
		if i == at && extra != "" {
			s += extra + "\r\n"
		}
		_, err := nc.Write([]byte(s))
		return err == nil
	}
	if !send(0) {
		return
	}
	br := bufio.NewReader(nc)
	for i := 1; ; i++ {
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		if i < len(replies) && !send(i) {
			return
		}
	}
}

// FuzzDesync drives the wire client against a server that inserts one
// reply of the fuzzer's choosing at a position of its choosing into an
// honest sequence. Whatever the inserted reply — a plausible 250, a 421, a
// 221, garbage — the recipient is never decided by a reply that is not
// the honest RCPT reply: either the client reports that reply, or it
// reports no verdict (a protocol error, a timeout, a 421). Seeds are in
// testdata/fuzz/FuzzDesync.
func FuzzDesync(f *testing.F) {
	f.Add(uint8(0), "250 2.1.0 Ok", uint8(2))
	f.Add(uint8(1), "250 2.1.0 Ok", uint8(2))
	f.Add(uint8(2), "250 OK", uint8(2))
	f.Add(uint8(1), "250 2.1.5 Ok", uint8(1))
	f.Add(uint8(0), "221 2.0.0 Bye", uint8(4))
	f.Add(uint8(3), "250 2.1.0 Ok", uint8(2))
	f.Add(uint8(4), "250 OK", uint8(3))
	f.Add(uint8(1), "421 4.3.2 shutting down", uint8(3))
	f.Add(uint8(0), "220 mx.lab.test ESMTP", uint8(0))
	f.Add(uint8(2), "250-x\r\n250 y", uint8(4))
	alice, err := probe.ParseAddress("recipient", "alice@lab.test")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, extra string, at uint8) {
		base := fuzzBases[int(which)%len(fuzzBases)]
		pos := int(at) % (len(base) - 1) // never after QUIT's reply: that changes nothing
		client, server := net.Pipe()
		go replyServer(server, base, strings.TrimRight(extra, "\r\n"), pos)
		cfg := probe.Config{HELO: "probe.lab.test", From: "postmaster@probe.lab.test", STARTTLS: probe.TLSNever,
			Timeout: 100 * time.Millisecond, Deadline: 2 * time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		att, err := probe.RunConn(ctx, cfg, client, "mx.lab.test", []probe.Address{alice})
		if err != nil {
			t.Fatal(err)
		}
		if len(att.Rcpts) != 1 {
			t.Fatalf("%d recipient results", len(att.Rcpts))
		}
		r := att.Rcpts[0]
		if r.Reply == nil || r.Phase != probe.PhaseRCPT || r.Err != nil && !errors.Is(r.Err.Kind, probe.ErrRejected) {
			return // no verdict from a reply: a protocol error, a timeout…
		}
		if r.Reply.Code == 421 {
			return // the server closing: a deferral, whoever sent it
		}
		if got, want := r.Reply.Text(), probe.Neutralise(base[3]); got != want {
			t.Fatalf("recipient decided by %q, the honest RCPT reply is %q (extra %q after reply %d, attempt error %v)",
				got, want, extra, pos, att.Err)
		}
	})
}
