// Command mailprobe tells a mail administrator whether mail to an address
// or domain would be accepted, and if not, why — in the words of Postfix's
// maillog. See the README for the jobs it does.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mailprobe/mailprobe/probe"
)

func main() {
	// Ctrl-C and SIGTERM cancel with a cause, so the probe can tell an
	// interrupt from its own deadline; the run prints what was decided
	// and exits 130 (the shell's 128+SIGINT).
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; ok {
			cancel(probe.ErrInterrupted)
		}
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	signal.Stop(sigs)
	close(sigs)
	cancel(nil)
	os.Exit(code)
}
