package lab

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func startLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	l, err := Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}
