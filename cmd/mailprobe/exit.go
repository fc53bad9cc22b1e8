package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/mailprobe/mailprobe/probe"
	"github.com/mailprobe/mailprobe/report"
)

// Exit codes, decided here and nowhere else. They follow sysexits.h for
// usage (64) and internal (70) errors.
const (
	ExitOK            = 0   // every recipient deliverable / every target clean
	ExitUndeliverable = 1   // some recipient undeliverable / some target listed
	ExitDeferred      = 2   // some deferred (or unknown), none undeliverable
	ExitUsage         = 64  // bad flags or input; nothing was sent
	ExitInternal      = 70  // a bug or an unexpected local failure
	ExitInterrupted   = 130 // Ctrl-C: what was decided was printed (the shell's 128+SIGINT)
)

// usageError marks errors caused by what the user typed.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// exitError carries a verdict-derived exit code out of RunE without an
// error message: the report has already said everything.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// rankExit is the one mapping from report's ranking of outcomes to exit
// codes; an interrupted run exits 130 whatever it decided, so a script
// can tell Ctrl-C from a verdict.
func rankExit(r report.Rank, stop probe.Stop) int {
	if stop == probe.StopInterrupted {
		return ExitInterrupted
	}
	switch r {
	case report.RankUndeliverable:
		return ExitUndeliverable
	case report.RankDeferred:
		return ExitDeferred
	}
	return ExitOK
}

// withRank ends RunE with the exit code for a run's worst outcome.
func withRank(r report.Rank, stop probe.Stop) error {
	if c := rankExit(r, stop); c != ExitOK {
		return &exitError{c}
	}
	return nil
}

// exitCode maps what RunE returned to the process exit code, printing
// the message for real errors.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "mailprobe: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "mailprobe: internal error: %v\n", err)
	return ExitInternal
}
