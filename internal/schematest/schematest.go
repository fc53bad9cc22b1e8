// Package schematest validates mailprobe's JSON documents against the
// JSON Schema in schema/mailprobe.schema.json, for tests only: every
// document a test produces can be checked with Validate, so the schema
// file and the writers cannot drift apart. It uses
// github.com/santhosh-tekuri/jsonschema/v6 (draft 2020-12).
package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	once     sync.Once
	compiled *jsonschema.Schema
	loadErr  error
)

// Path is the schema file's location in the repository.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "schema", "mailprobe.schema.json")
}

func schema() (*jsonschema.Schema, error) {
	once.Do(func() {
		c := jsonschema.NewCompiler()
		compiled, loadErr = c.Compile(Path())
	})
	return compiled, loadErr
}

// Validate fails tb unless doc — one JSON document, or several
// newline-separated ones (JSON Lines) — conforms to the schema.
func Validate(tb testing.TB, doc []byte) {
	tb.Helper()
	if err := Check(doc); err != nil {
		tb.Errorf("%v\n%s", err, doc)
	}
}

// Check returns why doc (one or more JSON documents) does not conform.
func Check(doc []byte) error {
	s, err := schema()
	if err != nil {
		return fmt.Errorf("compiling %s: %w", Path(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	n := 0
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("not JSON: %w", err)
		}
		n++
		if err := s.Validate(v); err != nil {
			return fmt.Errorf("document %d does not conform to %s: %w", n, filepath.Base(Path()), err)
		}
	}
	if n == 0 {
		return errors.New("no JSON document to validate")
	}
	return nil
}
