package main

import (
	"github.com/spf13/cobra"
)

// flagValues are the fixed values of enumerated flags, offered by shell
// completion (`mailprobe completion bash|zsh|fish|powershell`). A flag
// missing from a command is skipped, so the table can name every
// command's flags at once.
var flagValues = map[string][]cobra.Completion{
	"protocol":  {"smtp\tEHLO, HELO fallback", "lmtp\tLHLO, e.g. Dovecot", "smtps\timplicit TLS (RFC 8314)"},
	"starttls":  {"auto", "always", "never"},
	"dnsbl":     {"auto\tafter a block-like refusal", "always", "never"},
	"output":    {"text", "json", "postfix", "jsonl", "postmap"},
	"tls-level": {"none", "may", "encrypt", "verify", "secure"},
}

// registerCompletions attaches value completion to every command's
// enumerated flags. It runs once the command tree is built, so each
// command's file keeps only its own flags, and only for a completion
// request (see run).
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		local := c.LocalFlags() // cobra rebuilds this set on each call
		for name, vals := range flagValues {
			if local.Lookup(name) != nil {
				// An error means the flag already has a completion
				// function of its own, which wins.
				_ = c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
					return vals, cobra.ShellCompDirectiveNoFileComp
				})
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
