package mlpipeline

import (
	"math"
	"math/rand/v2"
)

// csr is a read-only sparse matrix of L2-normalised document rows.
type csr struct {
	ptr []int
	ind []int32
	val []float32
}

func (m *csr) row(r int) ([]int32, []float32) {
	return m.ind[m.ptr[r]:m.ptr[r+1]], m.val[m.ptr[r]:m.ptr[r+1]]
}

// svmParams configure one-vs-rest training.
type svmParams struct {
	c       float64 // cost of a margin violation (LinearSVC's C)
	eps     float64 // stopping tolerance on the projected gradient
	maxIter int
}

// binarySVM trains one linear L2-regularised, L2-loss (squared hinge) SVM by
// dual coordinate descent with shrinking (Hsieh et al., ICML 2008; the
// algorithm behind LIBLINEAR and scikit-learn's LinearSVC). The bias is an
// extra constant feature of value 1, regularised like the others, as
// LinearSVC's intercept_scaling=1. w must be zero on entry (length = number
// of features) unless warm > 0; it holds the weights on return and the bias
// is returned.
//
// warm > 0 continues a solution on rows[:warm]: alpha[:warm] and
// touched[:warm] hold that solution's dual variables and w and bias0 its
// primal, and rows[warm:] join with zero dual variables. The problem is
// convex, so the result is the solution on all rows, as a fresh start
// would give, but reached in a few passes.
// touched[i] reports on return whether row i ever changed w: only those
// rows' features can be non-zero.
//
// For a rare class most negatives are far beyond the margin after the first
// pass; shrinking drops them, so a class costs little more than one pass
// over the data. That is what makes one-vs-rest over 2,000 classes
// affordable.
func binarySVM(x *csr, rows []int, positive []bool, p svmParams, w []float64, alpha []float64, touched []bool, active []int, rng *rand.Rand, warm int, bias0 float64) float64 {
	n := len(rows)
	alpha = alpha[:n]
	touched = touched[:n]
	for i := warm; i < n; i++ {
		alpha[i] = 0
		touched[i] = false
	}
	active = active[:n]
	for i := range active {
		active[i] = i
	}
	bias := bias0
	// One cost for both labels: up-weighting the positives of rare classes
	// (x2, x4) was measured not to help once the calibration's decision
	// shifts are tuned, and it slows convergence.
	dPos := 1 / (2 * p.c)
	dNeg := dPos
	pgMaxOld := math.Inf(1)
	nActive := n
	for iter := 0; iter < p.maxIter; iter++ {
		// Fisher-Yates over the active prefix.
		for i := nActive - 1; i > 0; i-- {
			j := rng.IntN(i + 1)
			active[i], active[j] = active[j], active[i]
		}
		pgMax, pgMin := math.Inf(-1), math.Inf(1)
		for s := 0; s < nActive; s++ {
			i := active[s]
			ind, val := x.row(rows[i])
			y, dii := -1.0, dNeg
			if positive[i] {
				y, dii = 1, dPos
			}
			dot := bias
			for k, f := range ind {
				dot += w[f] * float64(val[k])
			}
			g := y*dot - 1 + dii*alpha[i]
			pg := 0.0
			if alpha[i] == 0 {
				if g > pgMaxOld {
					nActive--
					active[s], active[nActive] = active[nActive], active[s]
					s--
					continue
				}
				if g < 0 {
					pg = g
				}
			} else {
				pg = g
			}
			pgMax = math.Max(pgMax, pg)
			pgMin = math.Min(pgMin, pg)
			if math.Abs(pg) > 1e-12 {
				var sq float64
				for _, v := range val {
					sq += float64(v) * float64(v)
				}
				qii := sq + 1 + dii
				old := alpha[i]
				alpha[i] = math.Max(old-g/qii, 0)
				d := (alpha[i] - old) * y
				if d != 0 {
					touched[i] = true
					for k, f := range ind {
						w[f] += d * float64(val[k])
					}
					bias += d
				}
			}
		}
		if pgMax-pgMin <= p.eps {
			if nActive == n {
				break
			}
			// Converged on the active set: check everything once more.
			nActive = n
			pgMaxOld = math.Inf(1)
			continue
		}
		// LIBLINEAR resets a non-positive bound to infinity, which
		// disables shrinking on the second pass; for rare classes that pass
		// is the bulk of the cost. A small positive bound shrinks the rows
		// already beyond the margin; the final full pass above still
		// guarantees convergence on every row.
		pgMaxOld = math.Max(pgMax, shrinkFloor)
	}
	return bias
}

// shrinkFloor is the smallest shrinking bound (see binarySVM).
const shrinkFloor = 1e-3
