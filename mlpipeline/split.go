package mlpipeline

import "math"

// mt19937 is the Mersenne Twister as NumPy's legacy RandomState uses it. The
// hold-out split replays scikit-learn's train_test_split(test_size=0.2,
// random_state=seed) exactly, so our metrics are measured on the very rows
// the published baselines were (BASELINES.md) and differences are the
// models', not the split's.
type mt19937 struct {
	mt  [624]uint32
	pos int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{pos: 624}
	m.mt[0] = seed
	for i := 1; i < 624; i++ {
		prev := m.mt[i-1]
		m.mt[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	return m
}

func (m *mt19937) uint32() uint32 {
	if m.pos >= 624 {
		for i := 0; i < 624; i++ {
			y := m.mt[i]&0x80000000 | m.mt[(i+1)%624]&0x7fffffff
			v := m.mt[(i+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.mt[i] = v
		}
		m.pos = 0
	}
	y := m.mt[m.pos]
	m.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// interval returns a uniform integer in [0, max] by masked rejection, as
// NumPy's random_interval does for max < 2^32.
func (m *mt19937) interval(max uint32) uint32 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		v := m.uint32() & mask
		if v <= max {
			return v
		}
	}
}

// permutation returns RandomState(seed).permutation(n).
func permutation(n int, seed uint32) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	m := newMT19937(seed)
	for i := n - 1; i >= 1; i-- {
		j := int(m.interval(uint32(i)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// holdOut splits positions 0..n-1 into train and test as scikit-learn's
// ShuffleSplit does: test is the first ceil(frac*n) of the permutation.
func holdOut(n int, frac float64, seed uint32) (train, test []int) {
	p := permutation(n, seed)
	nTest := int(math.Ceil(frac * float64(n)))
	if nTest >= n {
		nTest = n - 1
	}
	if nTest < 0 {
		nTest = 0
	}
	return p[nTest:], p[:nTest]
}

// holdOutRows marks the held-out rows of a data set of n rows: the first
// ceil(frac*n) of RandomState(seed).permutation(n), as holdOut. The split is
// drawn once over all rows, not per field, so that a held-out row is unseen
// by every field's classifier and by the vocabulary; a field's test rows are
// the held-out rows that have a value for it. On a field without empty
// values this is exactly scikit-learn's train_test_split(test_size=frac,
// random_state=seed).
func holdOutRows(n int, frac float64, seed uint32) []bool {
	test := make([]bool, n)
	if n < 2 {
		return test
	}
	_, held := holdOut(n, frac, seed)
	for _, r := range held {
		test[r] = true
	}
	return test
}
