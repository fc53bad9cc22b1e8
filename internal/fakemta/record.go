package fakemta

import (
	"bytes"
	"strings"
	"sync"
)

// Command is one command line a fake server received from a client. The
// Recorder sits on the read side of every connection, below the SMTP
// engine, so it sees what the client sent whether or not the server acted
// on it — which is what a test needs to prove that DATA or BDAT never went
// out.
type Command struct {
	Server string // name of the server: "mx1.accept.lab.test", "script:no-greeting", "fakemta"
	Local  string // address the client connected to, or the unix socket path
	Remote string // client address; "unix" for a unix socket peer
	Line   string // the line as received, without CR LF (may hold any bytes)
}

// Verb is the command verb, upper-cased ("MAIL" for "mail FROM:<a@b>").
func (c Command) Verb() string { return lineVerb(c.Line) }

func lineVerb(line string) string {
	line = strings.TrimLeft(line, " \t")
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		line = line[:i]
	}
	return strings.ToUpper(line)
}

// Bounds on what a recorder keeps, so a client that floods a server cannot
// exhaust the test's memory.
const (
	maxRecordedLine     = 4096
	maxRecordedCommands = 100000
)

// Recorder collects commands from every connection of the servers that
// share it (a Lab shares one among all its hosts). The zero value is
// ready to use.
type Recorder struct {
	mu   sync.Mutex
	cmds []Command
}

func (r *Recorder) add(c Command) {
	if len(c.Line) > maxRecordedLine {
		c.Line = c.Line[:maxRecordedLine]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cmds) < maxRecordedCommands {
		r.cmds = append(r.cmds, c)
	}
}

// Commands returns every command line received so far, in arrival order
// per connection.
func (r *Recorder) Commands() []Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Command(nil), r.cmds...)
}

// Lines returns the Line of every command received so far, in arrival
// order per connection.
func (r *Recorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.cmds))
	for i, c := range r.cmds {
		out[i] = c.Line
	}
	return out
}

// SawVerb reports whether any client sent a line with this verb
// (case-insensitive), e.g. SawVerb("DATA").
func (r *Recorder) SawVerb(verb string) bool {
	verb = strings.ToUpper(verb)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cmds {
		if lineVerb(c.Line) == verb {
			return true
		}
	}
	return false
}

// lineTap turns a byte stream into recorded lines. Bytes after the last LF
// are kept until the line completes; a line longer than maxRecordedLine is
// recorded truncated, once, when its LF arrives.
type lineTap struct {
	rec     *Recorder
	proto   Command // Server, Local, Remote
	partial []byte
	over    bool
}

func (t *lineTap) write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.keep(p)
			return
		}
		t.keep(p[:i])
		line := strings.TrimSuffix(string(t.partial), "\r")
		c := t.proto
		c.Line = line
		t.rec.add(c)
		t.partial, t.over = t.partial[:0], false
		p = p[i+1:]
	}
}

func (t *lineTap) keep(p []byte) {
	if t.over {
		return
	}
	room := maxRecordedLine + 1 - len(t.partial)
	if len(p) > room {
		p, t.over = p[:room], true
	}
	t.partial = append(t.partial, p...)
}
