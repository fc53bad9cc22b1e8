package main

import (
	"errors"
	"io/fs"

	"github.com/mailprobe/mailprobe/report"
)

// useRules loads --rules before anything is classified. A bad rule is a
// usage error naming the file, line, rule id and problem; nothing is
// sent.
func (g *globals) useRules() error {
	if g.rules == "" {
		return nil
	}
	err := report.UseRulesFile(g.rules)
	var re *report.RuleError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return usagef("--rules: %v", err)
	case errors.Is(err, fs.ErrNotExist):
		return usagef("--rules %s: no such file", g.rules)
	}
	return usagef("--rules: %v", err)
}
