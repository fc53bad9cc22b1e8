// Package ctxend tells whether a context has ended, without the moment of
// doubt between a socket deadline and the context's own timer.
package ctxend

import (
	"context"
	"time"
)

// Ended reports whether ctx has ended. Once its deadline has passed it
// waits for ctx to say so: a socket deadline set from the context's fires
// a moment before the context's timer does, and an error seen in that
// moment would otherwise be taken for a plain timeout rather than the
// context's cause (context.Cause).
func Ended(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	if ctx.Err() != nil {
		return true
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		<-ctx.Done()
		return true
	}
	return false
}
