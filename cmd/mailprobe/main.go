// Command mailprobe tells a mail administrator whether mail to an address
// or domain would be accepted, and if not, why — in the words of Postfix's
// maillog. See the README for the jobs it does.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
