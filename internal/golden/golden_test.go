package golden

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheck(t *testing.T) {
	Check(t, "hello.txt", []byte("hello, golden\n"))

	// A difference fails the test it runs in.
	inner := &testing.T{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !Updating() {
			Check(inner, "hello.txt", []byte("something else\n"))
		}
	}()
	<-done
	assert.Equal(t, !Updating(), inner.Failed())
}
