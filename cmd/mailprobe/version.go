package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newVersionCmd) }

// versionInfo is what `mailprobe version` and `--version` print: the
// module version, the commit and whether the tree had changes, and the Go
// version, all from the build information the Go toolchain embeds
// (runtime/debug.ReadBuildInfo), so nothing is stamped by hand.
type versionInfo struct {
	Schema   string `json:"schema"`
	Module   string `json:"module"`
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Time     string `json:"commit_time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// readVersion parses the build info once: newRoot needs it twice at
// every start (the --version flag and the version annotation).
var readVersion = sync.OnceValue(func() versionInfo { return versionFrom(debug.ReadBuildInfo()) })

func versionFrom(bi *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{Schema: "mailprobe.version/v1", Version: "(unknown)", Commit: "(unknown)"}
	if !ok || bi == nil {
		return v
	}
	v.Module, v.Go = bi.Main.Path, bi.GoVersion
	if bi.Main.Version != "" {
		// "(devel)" for a build from a work tree; a tagged or
		// pseudo-version for `go install …@version`.
		v.Version = bi.Main.Version
	}
	// A build without VCS stamping (-buildvcs=false, a source tarball, a
	// git worktree the toolchain does not read) has no vcs.* settings.
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v versionInfo) String() string {
	commit := v.Commit
	if v.Modified {
		commit += " (modified)"
	}
	s := fmt.Sprintf("mailprobe %s\n  module %s\n  commit %s\n", v.Version, v.Module, commit)
	if v.Time != "" {
		s += "  commit time " + v.Time + "\n"
	}
	return s + "  built with " + v.Go + "\n"
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkFormat("version"); err != nil {
				return err
			}
			v := readVersion()
			if g.output == "json" {
				return writeJSON(g.stdout, v)
			}
			_, err := fmt.Fprint(g.stdout, v.String())
			return err
		},
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
