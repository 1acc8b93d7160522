package mlpipeline

import (
	"cmp"
	"math"
	"slices"
)

// FieldMetrics are hold-out measures of one field's classifier, computed on
// the test rows (a random 20% of the rows with a value for the field) that
// the stored model never saw.
type FieldMetrics struct {
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
	Top3     float64 `json:"top3_accuracy"`
	// ECE is the expected calibration error of the top probability over 10
	// equal-width bins.
	ECE float64 `json:"ece"`
	// Calibration is the hold-out rows by those bins of the top
	// probability, the points of a reliability diagram; bins without rows
	// are left out. Bins of several evaluations sum into one (Rows-weighted
	// means), which gives the ECE of the evaluations pooled.
	Calibration []CalibrationBin `json:"calibration,omitempty"`
	// MajorityAccuracy is the accuracy of always predicting the most
	// frequent training class, the floor any model must clear.
	MajorityAccuracy float64 `json:"majority_accuracy"`
	// Classes is the number of distinct values of the field in the data;
	// ModelClasses how many of them the model predicts (the others are
	// below the rare-class threshold).
	Classes      int `json:"classes"`
	ModelClasses int `json:"model_classes"`
	TrainRows    int `json:"train_rows"`
	TestRows     int `json:"test_rows"`
}

// macroF1 computes scikit-learn's f1_score(average="macro"): the unweighted
// mean over every label that occurs in truth or prediction, a label's F1
// being 0 when it is never predicted or never true.
func macroF1(truth, pred []int32, labels int) float64 {
	tp := make([]int, labels)
	fp := make([]int, labels)
	fn := make([]int, labels)
	for i, t := range truth {
		p := pred[i]
		if t == p {
			tp[t]++
			continue
		}
		fn[t]++
		if p >= 0 {
			fp[p]++
		}
	}
	var sum float64
	n := 0
	for l := 0; l < labels; l++ {
		if tp[l]+fp[l]+fn[l] == 0 {
			continue
		}
		n++
		if tp[l] > 0 {
			sum += 2 * float64(tp[l]) / float64(2*tp[l]+fp[l]+fn[l])
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// CalibrationBin is the hold-out rows whose top probability fell in
// [Lower, Lower+0.1) (the last bin includes 1): how many, their mean top
// probability and the share of them predicted right.
type CalibrationBin struct {
	Lower      float64 `json:"lower"`
	Rows       int     `json:"rows"`
	Confidence float64 `json:"mean_confidence"`
	Accuracy   float64 `json:"accuracy"`
}

// calibrationBins bins the top probabilities conf, binned as the
// baselines do (bin = min(floor(conf*10), 9)), leaving out empty bins.
func calibrationBins(conf []float64, correct []bool) []CalibrationBin {
	const bins = 10
	var sumConf, sumAcc [bins]float64
	var count [bins]int
	for i, c := range conf {
		b := min(int(c*bins), bins-1)
		b = max(b, 0)
		sumConf[b] += c
		if correct[i] {
			sumAcc[b]++
		}
		count[b]++
	}
	var out []CalibrationBin
	for b := range bins {
		if count[b] == 0 {
			continue
		}
		n := float64(count[b])
		out = append(out, CalibrationBin{Lower: float64(b) / bins, Rows: count[b], Confidence: sumConf[b] / n, Accuracy: sumAcc[b] / n})
	}
	return out
}

// ECEOf is the expected calibration error of bins: each bin's
// |mean confidence - accuracy| weighted by its share of the rows.
func ECEOf(bins []CalibrationBin) float64 {
	total := 0
	for _, b := range bins {
		total += b.Rows
	}
	var e float64
	for _, b := range bins {
		e += math.Abs(b.Confidence-b.Accuracy) * float64(b.Rows) / float64(total)
	}
	return e
}

// PoolCalibration sums the bins of several evaluations into one list (the
// bins of all their rows together).
func PoolCalibration(evaluations ...[]CalibrationBin) []CalibrationBin {
	index := map[float64]int{} // Lower -> position in out
	var out []CalibrationBin
	for _, bins := range evaluations {
		for _, b := range bins {
			i, ok := index[b.Lower]
			if !ok {
				i = len(out)
				index[b.Lower] = i
				out = append(out, CalibrationBin{Lower: b.Lower})
			}
			p := &out[i]
			n := float64(p.Rows + b.Rows)
			p.Confidence = (p.Confidence*float64(p.Rows) + b.Confidence*float64(b.Rows)) / n
			p.Accuracy = (p.Accuracy*float64(p.Rows) + b.Accuracy*float64(b.Rows)) / n
			p.Rows += b.Rows
		}
	}
	slices.SortFunc(out, func(x, y CalibrationBin) int { return cmp.Compare(x.Lower, y.Lower) })
	return out
}
