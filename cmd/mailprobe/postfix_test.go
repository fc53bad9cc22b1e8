package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPostfixUsage: bad input to the postfix commands exits 64 before
// anything is looked up or sent.
func TestPostfixUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"postfix", "foo"}, `unknown command "foo"`},
		{[]string{"postfix", "route"}, "at least one ADDRESS"},
		{[]string{"postfix", "route", "-c", "/nonexistent", "a@b\nx"}, "line feed"},
		{[]string{"postfix", "route", "-o", "json", "a@b.test"}, "postfix route writes text, jsonl"},
		{[]string{"postfix", "verify", "-o", "json"}, "postfix verify writes text, jsonl, postmap"},
		{[]string{"postfix", "verify", "--timeout", "0"}, "--timeout"},
		{[]string{"postfix", "verify", "--rcpt-window", "0"}, "--rcpt-window"},
		{[]string{"postfix", "verify", "-c", "/nonexistent", "--resolver", "127.0.0.1"}, "reading the Postfix configuration"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, strings.NewReader(""), &stdout, &stderr)
		assert.Equal(t, ExitUsage, code, "%v: %s", c.args, stderr.String())
		assert.Contains(t, stderr.String(), c.want, c.args)
		assert.Empty(t, stdout.String(), c.args)
	}
}
