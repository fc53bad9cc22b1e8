package probe

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rcptEntry is what a test expects of one RcptLine.
type rcptEntry struct {
	line int
	addr string // the address probed; "" when skipped or invalid
	skip bool
	err  error // sentinel the line's error wraps
}

func readAllRcpt(t *testing.T, in string) []RcptLine {
	t.Helper()
	r := NewRcptReader(strings.NewReader(in))
	var out []RcptLine
	for {
		rl, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, rl)
	}
}

func TestRcptReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []rcptEntry
	}{
		{"plain list", "a@x.test\nb@x.test\n", []rcptEntry{{line: 1, addr: "a@x.test"}, {line: 2, addr: "b@x.test"}}},
		{"no final newline", "a@x.test\nb@x.test", []rcptEntry{{line: 1, addr: "a@x.test"}, {line: 2, addr: "b@x.test"}}},
		{"comments and blank lines", "# head\n\n   \na@x.test\n  # indented comment\n\t\nb@x.test\n",
			[]rcptEntry{{line: 4, addr: "a@x.test"}, {line: 7, addr: "b@x.test"}}},
		{"CRLF", "a@x.test\r\n\r\nb@x.test\r\n", []rcptEntry{{line: 1, addr: "a@x.test"}, {line: 3, addr: "b@x.test"}}},
		{"virtual mailbox table", "a@x.test   x.test/a/\nb@x.test\tx.test/b/\r\n",
			[]rcptEntry{{line: 1, addr: "a@x.test"}, {line: 2, addr: "b@x.test"}}},
		{"postmap continuation lines belong to the value",
			"a@x.test  one,\n   two@y.test,\n\tthree@y.test\nb@x.test  z\n",
			[]rcptEntry{{line: 1, addr: "a@x.test"}, {line: 4, addr: "b@x.test"}}},
		{"an indented plain list is still a list", "  a@x.test\n  b@x.test\n",
			[]rcptEntry{{line: 1, addr: "a@x.test"}, {line: 2, addr: "b@x.test"}}},
		{"catch-all key skipped", "@x.test  catchall@x.test\na@x.test a\n",
			[]rcptEntry{{line: 1, skip: true}, {line: 2, addr: "a@x.test"}}},
		{"virtual alias domain declaration skipped", "x.test  anything\n",
			[]rcptEntry{{line: 1, skip: true}}},
		{"bare domain alone probes postmaster", "x.test\n", []rcptEntry{{line: 1, addr: "postmaster@x.test"}}},
		{"angle brackets", "<a@x.test>\n", []rcptEntry{{line: 1, addr: "a@x.test"}}},
		{"duplicates are each reported", "a@x.test\na@x.test\n",
			[]rcptEntry{{line: 1, addr: "a@x.test"}, {line: 2, addr: "a@x.test"}}},
		{"invalid lines keep their number", "a@@x.test\nno-domain@\na@x..test\n\"unterminated@x.test\nok@x.test\n",
			[]rcptEntry{{line: 1, err: ErrBadInput}, {line: 2, err: ErrBadInput}, {line: 3, err: ErrBadInput},
				{line: 4, err: ErrBadInput}, {line: 5, addr: "ok@x.test"}}},
		{"regexp table", "/^a@/  OK\n", []rcptEntry{{line: 1, err: ErrBadInput}}},
		{"control characters", "a\x00b@x.test\n", []rcptEntry{{line: 1, err: ErrBadInput}}},
		{"address column too long",
			strings.Repeat("a", MaxRcptLine+1) + "@x.test\nb@x.test\n",
			[]rcptEntry{{line: 1, err: ErrRcptLineTooLong}, {line: 2, addr: "b@x.test"}}},
		{"long value after the address is skipped, not an error",
			"a@x.test " + strings.Repeat("v,", MaxRcptLine) + "\nb@x.test\n",
			[]rcptEntry{{line: 1, addr: "a@x.test"}, {line: 2, addr: "b@x.test"}}},
		{"a line of exactly the limit", strings.Repeat("a", 60) + "@" + strings.Repeat("b", MaxRcptLine-61-5) + ".test\n",
			[]rcptEntry{{line: 1, err: ErrBadInput}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAllRcpt(t, tt.in)
			require.Len(t, got, len(tt.want))
			for i, w := range tt.want {
				g := got[i]
				assert.Equal(t, w.line, g.Line, "entry %d", i)
				switch {
				case w.err != nil:
					assert.ErrorIs(t, g.Err, w.err, "entry %d", i)
					assert.Empty(t, g.Skip)
				case w.skip:
					assert.NotEmpty(t, g.Skip, "entry %d", i)
					assert.NoError(t, g.Err)
				default:
					require.NoError(t, g.Err, "entry %d", i)
					assert.Empty(t, g.Skip)
					assert.Equal(t, w.addr, g.Address.String(), "entry %d", i)
				}
				assert.LessOrEqual(t, len(g.Raw), 310)
			}
		})
	}
}

// endless yields n bytes of c without holding them.
type endless struct {
	n int
	c byte
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), e.n)
	for i := range p[:k] {
		p[i] = e.c
	}
	e.n -= k
	return k, nil
}

func TestRcptReaderHugeLineIsNotBuffered(t *testing.T) {
	const size = 100 << 20
	in := io.MultiReader(strings.NewReader("first@x.test\n"), &endless{n: size, c: 'a'},
		strings.NewReader("\nlast@x.test\n"))
	r := NewRcptReader(in)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var got []RcptLine
	for {
		rl, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, rl)
	}
	runtime.ReadMemStats(&after)
	require.Len(t, got, 3)
	assert.Equal(t, "first@x.test", got[0].Address.String())
	assert.ErrorIs(t, got[1].Err, ErrRcptLineTooLong)
	assert.Equal(t, 2, got[1].Line)
	assert.Equal(t, "last@x.test", got[2].Address.String())
	assert.Equal(t, 3, got[2].Line)
	// Allocation is deterministic: the reader's buffers, not the line.
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "a 100 MB line must not be buffered")
}

func TestRcptReaderReadError(t *testing.T) {
	r := NewRcptReader(io.MultiReader(strings.NewReader("a@x.test\n"), iotestErr{}))
	rl, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "a@x.test", rl.Address.String())
	_, err = r.Next()
	require.ErrorIs(t, err, ErrRcptRead)
	_, err = r.Next()
	require.ErrorIs(t, err, ErrRcptRead, "the error sticks")
}

func FuzzRcptFile(f *testing.F) {
	for _, s := range []string{
		"alice@it.test\nbob@it.test\n",
		"# virtual_mailbox_maps\nalice@it.test   it.test/alice/\r\n@it.test  catchall\r\n",
		"it.test  virtual\nuser  x\n  continuation\n",
		"a@x.test  one,\n   two@y.test\n",
		"<a@[192.0.2.1]>\n\"quoted local\"@x.test\nпользователь@пример.рф\n",
		"/^a/ OK\n\x00\n\r\n\t#\n",
		strings.Repeat("a", 5000) + "\nb@x.test\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewRcptReader(strings.NewReader(string(in)))
		r.limit = 64 // small, so the fuzzer reaches the long-line paths
		prev := 0
		for i := 0; ; i++ {
			rl, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if rl.Line <= prev {
				t.Fatalf("line numbers must increase: %d after %d", rl.Line, prev)
			}
			prev = rl.Line
			if n := strings.Count(string(in), "\n") + 1; rl.Line > n {
				t.Fatalf("line %d of an input with %d lines", rl.Line, n)
			}
			if rl.Err == nil && rl.Skip == "" {
				if _, err := ParseAddress("recipient", rl.Address.String()); err != nil {
					t.Fatalf("accepted %q that does not parse again: %v", rl.Address.String(), err)
				}
				if strings.ContainsAny(rl.Address.String(), "\r\n\x00") {
					t.Fatalf("control character in %q", rl.Address.String())
				}
			}
			if rl.Err != nil && rl.Skip != "" {
				t.Fatalf("both error and skip on line %d", rl.Line)
			}
		}
	})
}
