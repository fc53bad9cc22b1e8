package fakemta

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// Op is the operation of one script step.
type Op string

// Script operations. See ParseScript for the syntax of each.
const (
	OpSend          Op = "send"           // send <line>: the line plus CR LF
	OpSendRaw       Op = "sendraw"        // sendraw <Go-quoted string>: exactly those bytes
	OpExpect        Op = "expect"         // expect [VERB[|VERB...]|*]: read until a matching command
	OpSleep         Op = "sleep"          // sleep <duration>
	OpTrickle       Op = "trickle"        // trickle <duration> <line>: one byte per interval
	OpRepeatForever Op = "repeat-forever" // repeat-forever <line>: until the client goes away
	OpBigLine       Op = "bigline"        // bigline <n>: one reply line of n bytes, CR LF included
	OpClose         Op = "close"          // close the connection
	OpHang          Op = "hang"           // send nothing more; read until the client goes away
	OpTLS           Op = "tls"            // tls [kind]: server-side TLS handshake
)

// Step is one parsed script step.
type Step struct {
	Op Op
	// Text is the line for send, trickle and repeat-forever (without CR
	// LF; "{client}" is replaced by the client's IP address when sent),
	// and the decoded bytes for sendraw.
	Text string
	// Verbs are the upper-case verbs an expect step waits for; empty
	// means any line.
	Verbs []string
	// Delay is the sleep duration, or the trickle interval.
	Delay time.Duration
	// Size is the total length of a bigline, CR LF included.
	Size int
	// Cert is the certificate a tls step presents.
	Cert CertKind
}

// Script is a parsed misbehaving-server script: the steps one connection
// runs through, in order.
type Script struct {
	Name  string
	Steps []Step
}

// Script errors.
var (
	ErrScriptSyntax  = errors.New("fakemta: script syntax error")
	ErrUnknownScript = errors.New("fakemta: no such script")
)

// Limits that keep a script from hurting the test that runs it.
const (
	maxScriptDelay = time.Hour
	minBigLine     = len("250 x\r\n")
	maxBigLine     = 64 << 20
)

// ParseScript parses script text. One step per line; blank lines and lines
// starting with '#' are ignored. The operation is the first word, its
// argument the rest of the line after one space:
//
//	send 220 mx.lab.test ESMTP      the line, CR LF appended
//	sendraw "220 \x1b[2J evil\r\n"  a Go-quoted string, sent as is
//	expect EHLO|HELO                read command lines until one has a listed verb
//	expect                          (or "expect *") read one line, whatever it is
//	sleep 2s                        a time.ParseDuration duration
//	trickle 1s 220 slow ESMTP       the line plus CR LF, one byte per interval
//	repeat-forever 250-x            the line plus CR LF, again and again
//	bigline 1048576                 "250 xxx…" CR LF, n bytes in all
//	close                           close the connection
//	hang                            keep the connection, read and discard
//	tls [self-signed|valid|expired|wrong-name]
//
// While an expect step waits, commands it does not list are answered the
// way a strict server would, so a script survives a client that sends RSET
// or QUIT early: QUIT gets "221 2.0.0 Bye" and the connection closes, RSET
// and NOOP get "250 2.0.0 Ok", anything else "503 5.5.1 Error: bad sequence
// of commands". Steps after close, hang or repeat-forever could never run
// and are rejected.
func ParseScript(name, text string) (*Script, error) {
	s := &Script{Name: name}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for n, raw := range strings.Split(text, "\n") {
		line := strings.TrimRight(raw, " \t")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		st, err := parseStep(line)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrScriptSyntax, name, n+1, err)
		}
		if k := len(s.Steps); k > 0 && isFinal(s.Steps[k-1].Op) {
			return nil, fmt.Errorf("%w: %s:%d: step after %s can never run", ErrScriptSyntax, name, n+1, s.Steps[k-1].Op)
		}
		s.Steps = append(s.Steps, st)
	}
	if len(s.Steps) == 0 {
		return nil, fmt.Errorf("%w: %s: no steps", ErrScriptSyntax, name)
	}
	return s, nil
}

func isFinal(op Op) bool { return op == OpClose || op == OpHang || op == OpRepeatForever }

func parseStep(line string) (Step, error) {
	word, arg, _ := strings.Cut(line, " ")
	op := Op(word)
	switch op {
	case OpSend, OpRepeatForever:
		if err := checkLine(arg); err != nil {
			return Step{}, err
		}
		if op == OpRepeatForever && arg == "" {
			return Step{}, errors.New("repeat-forever needs a line")
		}
		return Step{Op: op, Text: arg}, nil
	case OpSendRaw:
		b, err := strconv.Unquote(strings.TrimSpace(arg))
		if err != nil {
			return Step{}, fmt.Errorf("sendraw wants a Go-quoted string: %v", err)
		}
		if b == "" {
			return Step{}, errors.New("sendraw of nothing")
		}
		return Step{Op: op, Text: b}, nil
	case OpExpect:
		arg = strings.TrimSpace(arg)
		if arg == "" || arg == "*" {
			return Step{Op: op}, nil
		}
		var verbs []string
		for _, v := range strings.Split(arg, "|") {
			if !validVerb(v) {
				return Step{}, fmt.Errorf("bad verb %q", v)
			}
			verbs = append(verbs, strings.ToUpper(v))
		}
		return Step{Op: op, Verbs: verbs}, nil
	case OpSleep:
		d, err := parseDelay(strings.TrimSpace(arg))
		if err != nil {
			return Step{}, err
		}
		return Step{Op: op, Delay: d}, nil
	case OpTrickle:
		ds, text, ok := strings.Cut(arg, " ")
		if !ok || text == "" {
			return Step{}, errors.New("trickle wants a duration and a line")
		}
		d, err := parseDelay(ds)
		if err != nil {
			return Step{}, err
		}
		if err := checkLine(text); err != nil {
			return Step{}, err
		}
		return Step{Op: op, Delay: d, Text: text}, nil
	case OpBigLine:
		n, err := strconv.Atoi(strings.TrimSpace(arg))
		if err != nil || n < minBigLine || n > maxBigLine {
			return Step{}, fmt.Errorf("bigline wants a size from %d to %d, not %q", minBigLine, maxBigLine, arg)
		}
		return Step{Op: op, Size: n}, nil
	case OpClose, OpHang:
		if strings.TrimSpace(arg) != "" {
			return Step{}, fmt.Errorf("%s takes no argument", op)
		}
		return Step{Op: op}, nil
	case OpTLS:
		kind := CertKind(strings.TrimSpace(arg))
		if kind == "" {
			kind = CertSelfSigned
		}
		for _, k := range certKinds {
			if k == kind {
				return Step{Op: op, Cert: kind}, nil
			}
		}
		return Step{}, fmt.Errorf("unknown certificate kind %q", kind)
	}
	return Step{}, fmt.Errorf("unknown operation %q", word)
}

func checkLine(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return errors.New("CR or LF in a line (use sendraw)")
	}
	return nil
}

func validVerb(v string) bool {
	if v == "" || len(v) > 16 {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func parseDelay(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	if d <= 0 || d > maxScriptDelay {
		return 0, fmt.Errorf("duration %v outside (0, %v]", d, maxScriptDelay)
	}
	return d, nil
}

// String renders the script in the syntax ParseScript reads; parsing the
// result gives the same steps.
func (s *Script) String() string {
	var b strings.Builder
	for _, st := range s.Steps {
		b.WriteString(st.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// String renders one step in script syntax.
func (st Step) String() string {
	switch st.Op {
	case OpSend, OpRepeatForever:
		return string(st.Op) + " " + st.Text
	case OpSendRaw:
		return "sendraw " + strconv.Quote(st.Text)
	case OpExpect:
		if len(st.Verbs) == 0 {
			return "expect *"
		}
		return "expect " + strings.Join(st.Verbs, "|")
	case OpSleep:
		return "sleep " + st.Delay.String()
	case OpTrickle:
		return "trickle " + st.Delay.String() + " " + st.Text
	case OpBigLine:
		return "bigline " + strconv.Itoa(st.Size)
	case OpTLS:
		return "tls " + string(st.Cert)
	}
	return string(st.Op)
}

//go:embed testdata/scripts/*.txt
var scriptFS embed.FS

// LoadScript parses the named script shipped in testdata/scripts (the
// name without ".txt"). The files are embedded, so tests in any package
// can load them.
func LoadScript(name string) (*Script, error) {
	b, err := scriptFS.ReadFile(path.Join("testdata/scripts", name+".txt"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownScript, name)
		}
		return nil, err
	}
	return ParseScript(name, string(b))
}

// ScriptNames lists the shipped scripts, sorted.
func ScriptNames() []string {
	entries, _ := scriptFS.ReadDir("testdata/scripts")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".txt"); ok {
			names = append(names, n)
		}
	}
	return names
}
