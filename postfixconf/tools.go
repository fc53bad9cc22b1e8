package postfixconf

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/mailprobe/mailprobe/probe"
)

// ErrTool wraps every failure of postconf or postmap: not installed, a
// fatal error (no main.cf, a table that cannot be opened), a timeout.
var ErrTool = errors.New("postfix tool failed")

// ErrNotListable is returned by List for tables postmap cannot enumerate
// (SQL, LDAP, unix:passwd.byname…): their recipients need a FILE.
var ErrNotListable = errors.New("table cannot be listed")

// ToolError is one failed postconf/postmap run.
type ToolError struct {
	Args   []string
	Stderr string // first lines of stderr, neutralised
	Err    error
}

func (e *ToolError) Error() string {
	s := strings.Join(e.Args, " ")
	if e.Stderr != "" {
		return s + ": " + e.Stderr
	}
	return fmt.Sprintf("%s: %v", s, e.Err)
}

func (e *ToolError) Unwrap() []error {
	if strings.Contains(e.Stderr, "sequence operation is not supported") {
		return []error{ErrTool, ErrNotListable, e.Err}
	}
	return []error{ErrTool, e.Err}
}

// Tools runs postconf and postmap against one configuration directory.
// Every run is bounded by Timeout.
type Tools struct {
	// Dir is the configuration directory (postconf -c); "" means
	// Postfix's default.
	Dir string
	// Postconf and Postmap are the commands; defaults "postconf" and
	// "postmap" from PATH (with /usr/sbin added, where Debian puts them).
	Postconf, Postmap string
	Timeout           time.Duration
}

func (t *Tools) cmd(name string) string {
	switch name {
	case "postconf":
		if t.Postconf != "" {
			return t.Postconf
		}
	case "postmap":
		if t.Postmap != "" {
			return t.Postmap
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin/", "/usr/local/sbin/"} {
		if p, err := exec.LookPath(d + name); err == nil {
			return p
		}
	}
	return name
}

// run runs a tool with "-c DIR" and returns stdout; stdin may be nil.
func (t *Tools) run(ctx context.Context, tool string, stdin []byte, args ...string) ([]byte, error) {
	to := t.Timeout
	if to <= 0 {
		to = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	full := args
	lookup := tool == "postmap" && len(args) > 0 && args[0] == "-q"
	if t.Dir != "" {
		full = append([]string{"-c", t.Dir}, args...)
	}
	c := exec.CommandContext(ctx, t.cmd(tool), full...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	err := c.Run()
	var exit *exec.ExitError
	if lookup && errors.As(err, &exit) && exit.ExitCode() == 1 && !strings.Contains(errb.String(), "fatal:") {
		// postmap -q exits 1 when no key was found: not a failure.
		err = nil
	}
	shown := append([]string{tool}, full...)
	if len(shown) > 8 {
		shown = append(shown[:8:8], "…")
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %s", ctx.Err(), to)
		}
		return nil, &ToolError{Args: shown, Stderr: fatalLines(errb.String()), Err: err}
	}
	return out.Bytes(), nil
}

// fatalLines keeps the "fatal:" lines of a tool's stderr (its warnings
// about unused parameters are noise here), neutralised and bounded.
func fatalLines(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "fatal:") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) == 0 {
		keep = strings.Fields(s)
		if len(keep) > 30 {
			keep = keep[:30]
		}
		return probe.Neutralise(strings.Join(keep, " "))
	}
	return probe.Neutralise(strings.Join(keep, "; "))
}

// Params returns the expanded values of main.cf parameters (postconf
// -x: $name references resolved, defaults for what main.cf does not
// set). A name postconf does not know is an error.
func (t *Tools) Params(ctx context.Context, names ...string) (map[string]string, error) {
	out, err := t.run(ctx, "postconf", nil, append([]string{"-x"}, names...)...)
	if err != nil {
		return nil, err
	}
	m := parseAssignments(out)
	for _, n := range names {
		if _, ok := m[n]; !ok {
			if d, opt := optionalParams[n]; opt {
				m[n] = d
				continue
			}
			return nil, &ToolError{Args: []string{"postconf", "-x", n}, Stderr: "unknown parameter " + n, Err: ErrTool}
		}
	}
	return m, nil
}

// parseAssignments reads postconf's "name = value" lines.
func parseAssignments(out []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, " =")
		if !ok {
			continue
		}
		m[k] = strings.TrimPrefix(v, " ")
	}
	return m
}

// ServiceOverrides returns master.cf "-o" settings (postconf -P -x),
// keyed "service/type" then parameter name.
func (t *Tools) ServiceOverrides(ctx context.Context) (map[string]map[string]string, error) {
	out, err := t.run(ctx, "postconf", nil, "-P", "-x")
	if err != nil {
		return nil, err
	}
	res := map[string]map[string]string{}
	for k, v := range parseAssignments(out) {
		i := strings.LastIndex(k, "/")
		if i < 0 {
			continue
		}
		svc, p := k[:i], k[i+1:]
		if res[svc] == nil {
			res[svc] = map[string]string{}
		}
		res[svc][p] = v
	}
	return res, nil
}

// ServiceFields returns master.cf fields of unix services (postconf -F
// NAME/unix/FIELD…), keyed "NAME/FIELD". Services master.cf lacks are
// absent.
func (t *Tools) ServiceFields(ctx context.Context, names []string, fields ...string) (map[string]string, error) {
	var args []string
	for _, n := range names {
		for _, f := range fields {
			args = append(args, n+"/unix/"+f)
		}
	}
	if len(args) == 0 {
		return map[string]string{}, nil
	}
	out, err := t.run(ctx, "postconf", nil, append([]string{"-F"}, args...)...)
	if err != nil {
		return nil, err
	}
	res := map[string]string{}
	for k, v := range parseAssignments(out) {
		res[strings.Replace(k, "/unix/", "/", 1)] = v
	}
	return res, nil
}

// Lookup looks keys up in one table (postmap -q - TABLE: every key in one
// process) and returns the keys found with their values.
func (t *Tools) Lookup(ctx context.Context, table string, keys []string) (map[string]string, error) {
	res := map[string]string{}
	if len(keys) == 0 {
		return res, nil
	}
	var in bytes.Buffer
	for _, k := range keys {
		if strings.ContainsAny(k, "\n\r") {
			continue
		}
		in.WriteString(k)
		in.WriteByte('\n')
	}
	out, err := t.run(ctx, "postmap", in.Bytes(), "-q", "-", table)
	if err != nil {
		return nil, err
	}
	for _, kv := range parseTable(out) {
		res[kv.Key] = kv.Value
	}
	return res, nil
}

// Entry is one key and value of a table.
type Entry struct{ Key, Value string }

// List returns every entry of a table (postmap -s). Tables postmap cannot
// list give an error wrapping ErrNotListable.
func (t *Tools) List(ctx context.Context, table string) ([]Entry, error) {
	out, err := t.run(ctx, "postmap", nil, "-s", table)
	if err != nil {
		return nil, err
	}
	return parseTable(out), nil
}

// parseTable reads postmap's "key<TAB>value" output lines.
func parseTable(out []byte) []Entry {
	var res []Entry
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "\t")
		res = append(res, Entry{Key: k, Value: v})
	}
	return res
}
