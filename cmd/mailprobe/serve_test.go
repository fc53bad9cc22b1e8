package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestServeUsageErrors(t *testing.T) {
	good := filepath.Join(t.TempDir(), "mailprobe.yml")
	if err := os.WriteFile(good, []byte("modules:\n  smtp: {allowed_targets: [lab.test]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("modules:\n  smtp: {starttls: perhaps}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.4.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no config", []string{"serve"}, "--config"},
		{"host-less listen", []string{"serve", "--config", good, "--listen", ":9125"}, "name the address"},
		{"host name listen", []string{"serve", "--config", good, "--listen", "localhost:9125"}, "IP address"},
		{"no port", []string{"serve", "--config", good, "--listen", "127.0.0.1"}, "IP:PORT"},
		{"bad port", []string{"serve", "--config", good, "--listen", "127.0.0.1:99999"}, "bad port"},
		{"zero concurrency", []string{"serve", "--config", good, "--max-concurrent", "0"}, "--max-concurrent"},
		{"negative offset", []string{"serve", "--config", good, "--timeout-offset", "-1s"}, "--timeout-offset"},
		{"bad config", []string{"serve", "--config", bad, "--resolver", "127.0.0.1:1"}, "starttls"},
		{"missing config", []string{"serve", "--config", filepath.Join(t.TempDir(), "none.yml"), "--resolver", "127.0.0.1:1"}, "no such file"},
		{"address in use", []string{"serve", "--config", good, "--resolver", "127.0.0.1:1", "--listen", busy.Addr().String()}, "address already in use"},
		{"arguments", []string{"serve", "--config", good, "extra"}, "no arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, nil, &out, &errb)
			assert.Equal(t, 64, code, errb.String())
			assert.Contains(t, errb.String(), c.want)
		})
	}
}

func TestServeRunsAndStops(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "mailprobe.yml")
	if err := os.WriteFile(cfg, []byte("modules:\n  smtp: {allowed_targets: [lab.test]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.4.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfg, "--resolver", "127.0.0.1:1", "--listen", addr}, nil, io.Discard, &errb)
	}()
	ready := false
	for i := 0; i < 100 && !ready; i++ {
		if r, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			ready = r.StatusCode == 200
			r.Body.Close()
		}
		if !ready {
			time.Sleep(50 * time.Millisecond)
		}
	}
	assert.True(t, ready, "serve never became ready")
	r, err := http.Get("http://" + addr + "/probe?module=smtp&target=example.net")
	if assert.NoError(t, err) {
		assert.Equal(t, http.StatusForbidden, r.StatusCode, "not in allowed_targets: refused, nothing sent")
		r.Body.Close()
	}
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when its context ended")
	}
	assert.Contains(t, errb.String(), "msg=stopped")
}
