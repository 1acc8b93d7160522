package mlpipeline

import "math"

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

// ece is the expected calibration error with 10 bins, binned as the
// baselines do (bin = min(floor(conf*10), 9)).
func ece(conf []float64, correct []bool) float64 {
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
	var e float64
	for b := 0; b < bins; b++ {
		if count[b] == 0 {
			continue
		}
		n := float64(count[b])
		e += math.Abs(sumConf[b]/n-sumAcc[b]/n) * n / float64(len(conf))
	}
	return e
}
