package ctxend

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEnded(t *testing.T) {
	assert.False(t, Ended(nil))
	assert.False(t, Ended(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.True(t, Ended(ctx))
	// A deadline that has passed counts, and the context has its cause
	// by the time Ended returns.
	d, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel2()
	assert.True(t, Ended(d))
	assert.ErrorIs(t, context.Cause(d), context.DeadlineExceeded)
	live, cancel3 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel3()
	assert.False(t, Ended(live))
}
