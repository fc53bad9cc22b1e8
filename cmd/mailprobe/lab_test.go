package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is written by the serving command and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLabServe: #10 item 13. `mailprobe lab` and `mailprobe demo --serve`
// keep the lab running, print the resolver and each scenario's command,
// and stop on Ctrl-C (context cancellation) with exit 0; the printed
// command reproduces the scenario from outside.
func TestLabServe(t *testing.T) {
	for _, args := range [][]string{{"lab"}, {"demo", "--serve"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &syncBuffer{}
			done := make(chan int, 1)
			go func() { done <- run(ctx, args, strings.NewReader(""), out, &bytes.Buffer{}) }()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), "Press Ctrl-C") {
				require.True(t, time.Now().Before(deadline), "no banner: %q", out.String())
				time.Sleep(20 * time.Millisecond)
			}
			banner := out.String()
			m := regexp.MustCompile(`(?m)^\s+(mailprobe probe .* nobody@unknown\.lab\.test)$`).FindStringSubmatch(banner)
			require.NotNil(t, m, banner)
			// The lab must still be up: run the printed command.
			line := strings.Fields(m[1])[1:]
			var pout, perr bytes.Buffer
			code := run(context.Background(), line, strings.NewReader(""), &pout, &perr)
			assert.Equal(t, ExitUndeliverable, code, perr.String())
			assert.Contains(t, pout.String(), "status=undeliverable")
			assert.Contains(t, pout.String(), "User doesn't exist")
			select {
			case <-done:
				t.Fatal("the lab stopped before Ctrl-C")
			default:
			}
			cancel()
			select {
			case code := <-done:
				assert.Equal(t, ExitOK, code)
			case <-time.After(10 * time.Second):
				t.Fatal("the lab did not stop on Ctrl-C")
			}
			assert.Contains(t, out.String(), "lab stopped")
		})
	}
}
