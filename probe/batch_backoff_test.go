package probe

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBatchNoBackoffWithoutPushBack: #10 item 9. A refused connection
// is no push-back: the batch waits before reconnecting but does not
// report "backed off N times when the server pushed back" (a dead
// domain's two addresses said so before). TestBatchGreeting421Backoff
// keeps the real push-back counted.
func TestBatchNoBackoffWithoutPushBack(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, st := runBatch(t, context.Background(), batchConfig(addr), BatchOptions{}, mixed(2, 2), nil)
	assert.Zero(t, st.Backoffs)
	assert.Zero(t, st.BackoffTime)
}

// TestBatchNoBackoffAfterInterrupt: a cancelled batch neither waits nor
// counts a back-off.
func TestBatchNoBackoffAfterInterrupt(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, st := runBatch(t, ctx, batchConfig(addr), BatchOptions{}, mixed(4, 2), nil)
	assert.Zero(t, st.Backoffs)
}
