package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

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
