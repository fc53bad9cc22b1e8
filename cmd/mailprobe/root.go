package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailprobe/mailprobe/dnsclient"
	"github.com/mailprobe/mailprobe/probe"
)

// globals are the flags every subcommand shares.
type globals struct {
	output     string
	rules      string // --rules FILE: the admin's classifier rules
	resolver   string
	dnsTimeout time.Duration

	stdin          io.Reader
	stdout, stderr io.Writer
}

// dns returns the DNS client for --resolver.
func (g *globals) dns() (*dnsclient.Client, error) {
	c, err := dnsclient.New(g.resolver, g.dnsTimeout)
	if err != nil {
		return nil, usagef("--resolver: %v", err)
	}
	return c, nil
}

const exitHelp = `Exit codes:
  0   every recipient deliverable (blacklist: every target clean)
  1   some recipient undeliverable (blacklist: listed somewhere)
  2   some recipient deferred and none undeliverable (blacklist: some lists unknown)
  64  bad usage or input; nothing was sent
  70  internal error
  130 interrupted (Ctrl-C); what was decided is printed
`

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "mailprobe",
		Short: "Would mail to this address be accepted? If not, why?",
		Long: `mailprobe resolves a recipient's MX hosts, runs the SMTP (or LMTP) dialogue up
to RCPT TO — never DATA, so a probe can never deliver a message — checks DNS
blocklists, and explains the outcome as Postfix's maillog would, then in plain words.`,
		// The exit-code table ends every command's help (usage template
		// below); the root's Long must not print it a second time.
		Version:       readVersion().Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		// With Args and RunE set, cobra hands an unknown subcommand to
		// RunE instead of making up an error we could only recognise by
		// its text.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q (see mailprobe --help)", args[0])
			}
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVarP(&g.output, "output", "o", "text", "output format (each command lists its own: mailprobe COMMAND --help)")
	pf.StringVar(&g.rules, "rules", "", "add classifier rules from FILE (YAML, the format of report/rules/*.yaml; see README)")
	pf.StringVar(&g.resolver, "resolver", "", "DNS resolver ADDR[:PORT] (default: the servers in /etc/resolv.conf)")
	pf.DurationVar(&g.dnsTimeout, "dns-timeout", probe.DefaultDNSTimeout, "timeout of one DNS query")
	root.SetUsageTemplate(root.UsageTemplate() + "\n" + exitHelp)
	for _, add := range subcommands {
		c := add(g)
		addOutputFlag(c, g)
		root.AddCommand(c)
	}
	root.SetVersionTemplate("{{with .Annotations}}{{.version}}{{end}}")
	root.Annotations = map[string]string{"version": readVersion().String()}
	return root
}

// subcommands is filled by each command's file in init, so adding a
// command touches only its own file.
var subcommands []func(*globals) *cobra.Command

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(g)
	if len(args) > 0 && strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		// Only a completion request (cobra's __complete and
		// __completeNoDesc, what the generated scripts run) reads the
		// value completions; walking every command's flags for them
		// costs a fifth of a millisecond at each start (issue 12 item 5).
		registerCompletions(root)
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return exitCode(root.ExecuteContext(ctx), stderr)
}
