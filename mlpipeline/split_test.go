package mlpipeline

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPermutationMatchesNumPy(t *testing.T) {
	// np.random.RandomState(42).permutation(10)
	require.Equal(t, []int{8, 1, 5, 0, 7, 2, 9, 4, 3, 6}, permutation(10, 42))
}

func TestHoldOutSizes(t *testing.T) {
	train, test := holdOut(2503, 0.2, 42)
	require.Len(t, test, 501)
	require.Len(t, train, 2002)
	seen := map[int]bool{}
	for _, i := range append(append([]int{}, train...), test...) {
		require.False(t, seen[i])
		seen[i] = true
	}
}
