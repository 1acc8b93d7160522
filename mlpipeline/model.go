package mlpipeline

import (
	"math"
	"slices"
	"strings"

	"github.com/bugflow/bugflow/errs"
)

// modelVersion tags the serialised format; UnmarshalBinary refuses others.
const modelVersion = 1

// Model is a trained triage model: the text features and one calibrated
// classifier per target field. A Model is safe for concurrent Predict calls.
type Model struct {
	Version     int            `json:"version"`
	Anonymized  bool           `json:"anonymized"`
	Features    FeatureOptions `json:"features"`
	TextColumns []string       `json:"text_columns"`
	Roles       []ColumnRole   `json:"roles"`
	Stats       ParseStats     `json:"parse_stats"`
	Fields      []*FieldModel  `json:"fields"`

	// Vocabulary: feature hash and idf by feature index.
	hashes []uint64
	idf    []float32
	lookup map[uint64]int32

	// Feature-major weights over all fields' classes: the entries of
	// feature f are wPtr[f]..wPtr[f+1], each a global class (offset of the
	// field plus class index) and a weight. A prediction touches only the
	// entries of the features present in its text.
	wPtr   []int32
	wClass []uint32
	wVal   []float32
	nClass int
}

// FieldModel is one target field's classifier.
type FieldModel struct {
	Name    string       `json:"name"`
	Classes []string     `json:"classes"`
	Bias    []float32    `json:"bias"`
	Scale   float64      `json:"scale"`
	Scales  []float64    `json:"scales,omitempty"`
	Adjust  []float64    `json:"adjust"`
	Temp    float64      `json:"temp"`
	PlattA  float64      `json:"platt_a"`
	IsoX    []float64    `json:"iso_x,omitempty"`
	IsoY    []float64    `json:"iso_y,omitempty"`
	PlattB  float64      `json:"platt_b"`
	Metrics FieldMetrics `json:"metrics"`
	offset  int
}

// Alternative is one candidate value with its probability.
type Alternative struct {
	Value      string  `json:"value"`
	Confidence float64 `json:"confidence"`
}

// FieldPrediction is the prediction for one field.
type FieldPrediction struct {
	Field      string  `json:"field"`
	Prediction string  `json:"prediction"`
	Confidence float64 `json:"confidence"`
	// Alternatives are the three most probable values, best first (the
	// prediction included).
	Alternatives []Alternative `json:"alternatives"`
}

// Prediction holds one FieldPrediction per target field, in model order.
type Prediction struct {
	Fields []FieldPrediction `json:"fields"`
}

// Field returns the prediction for the named field, if any.
func (p Prediction) Field(name string) (FieldPrediction, bool) {
	for _, f := range p.Fields {
		if f.Field == name {
			return f, true
		}
	}
	return FieldPrediction{}, false
}

// calibrateField fits a trained field's calibration on its held-out margins
// and returns the field's model (metrics still empty).
func (p *fieldPlan) calibrateField() *FieldModel {
	cd, final := p.calibrationEvidence()
	cal := fitCalibration(cd, p.o.DecisionRule)
	fm := &FieldModel{Name: p.name, Bias: final.bias, Scale: cal.Scale, Scales: cal.Scales, Adjust: cal.Adjust, Temp: cal.Temp,
		PlattA: cal.PlattA, PlattB: cal.PlattB, IsoX: cal.IsoX, IsoY: cal.IsoY}
	for _, v := range p.classes {
		fm.Classes = append(fm.Classes, p.values[v])
	}
	return fm
}

// calibrationEvidence collects the held-out margins of the plan's models
// (released from the jobs) and returns them with the stored model's job.
func (p *fieldPlan) calibrationEvidence() (*calibData, *modelJob) {
	k := len(p.classes)
	cd := &calibData{k: k, classes: p.classes, labels: len(p.values), prior: p.prior}
	var final *modelJob
	for _, j := range p.jobs {
		if j.final {
			final = j
		}
		cd.scores = append(cd.scores, j.scores[:j.nVal*k]...)
		for _, r := range j.evalRows[:j.nVal] {
			cd.truth = append(cd.truth, p.labels[r])
		}
		j.scores = nil
	}
	return cd, final
}

// measureField computes a field's hold-out metrics by running its test rows
// through the finished model, so that they describe exactly what is stored
// (pruned weights included) without keeping a margin matrix of the test rows.
func (m *Model) measureField(fm *FieldModel, p *fieldPlan, x *csr) {
	k := len(fm.Classes)
	n := len(p.test)
	truth := make([]int32, n)
	pred := make([]int32, n)
	conf := make([]float64, n)
	correct := make([]bool, n)
	top3, majority := 0, 0
	probs := make([]float64, k)
	scores := make([]float32, m.nClass)
	for e, r := range p.test {
		truth[e] = p.labels[r]
		ind, val := x.row(r)
		clear(scores)
		m.scoreInto(ind, val, scores)
		fm.probabilities(scores[fm.offset:fm.offset+k], probs, false)
		order := topK(probs, 3)
		pred[e] = p.classes[order[0]]
		conf[e] = probs[order[0]]
		correct[e] = pred[e] == truth[e]
		for _, c := range order {
			if p.classes[c] == truth[e] {
				top3++
			}
		}
		if truth[e] == p.majority {
			majority++
		}
	}
	right := 0
	for _, c := range correct {
		if c {
			right++
		}
	}
	distinct := 0
	seen := make([]bool, len(p.values))
	for _, r := range append(slices.Clone(p.train), p.test...) {
		if !seen[p.labels[r]] {
			seen[p.labels[r]] = true
			distinct++
		}
	}
	fm.Metrics = FieldMetrics{
		Classes: distinct, ModelClasses: k, TrainRows: len(p.train), TestRows: n,
	}
	if n > 0 {
		fm.Metrics.Accuracy = float64(right) / float64(n)
		fm.Metrics.MacroF1 = macroF1(truth, pred, len(p.values))
		fm.Metrics.Top3 = float64(top3) / float64(n)
		fm.Metrics.Calibration = calibrationBins(conf, correct)
		fm.Metrics.ECE = ECEOf(fm.Metrics.Calibration)
		fm.Metrics.MajorityAccuracy = float64(majority) / float64(n)
	}
}

// scoreInto adds the weights of a normalised sparse document to scores
// (all fields' classes, without biases).
func (m *Model) scoreInto(ind []int32, val []float32, scores []float32) {
	for q, f := range ind {
		v := val[q]
		for e := m.wPtr[f]; e < m.wPtr[f+1]; e++ {
			scores[m.wClass[e]] += v * m.wVal[e]
		}
	}
}

// probabilities turns raw margins into calibrated probabilities;
// biasIncluded says whether scores already hold each class's bias.
// The decision is argmax of the adjusted logits; softmax by Temp preserves it.
func (fm *FieldModel) probabilities(scores []float32, out []float64, biasIncluded bool) {
	fm.softmax(scores, out, biasIncluded)
	top := topK(out, 2)
	p := out[top[0]]
	if p >= 1 || len(top) < 2 {
		return
	}
	q := sigmoid(fm.PlattA*logit(p) + fm.PlattB)
	if len(fm.IsoX) > 0 {
		q = interpolate(fm.IsoX, fm.IsoY, q)
	}
	// The prediction must stay the most probable value.
	second := out[top[1]]
	q = math.Min(math.Max(q, second/(1-p+second)+1e-9), 1)
	rest := (1 - q) / (1 - p)
	for k := range out {
		out[k] *= rest
	}
	out[top[0]] = q
}

// softmax computes the temperature-scaled probabilities before the
// top-probability recalibration.
func (fm *FieldModel) softmax(scores []float32, out []float64, biasIncluded bool) {
	mx := math.Inf(-1)
	for k, s := range scores {
		v := float64(s)
		if !biasIncluded {
			v += float64(fm.Bias[k])
		}
		a := fm.Scale
		if fm.Scales != nil {
			a = fm.Scales[k]
		}
		z := (a*v + fm.Adjust[k]) / fm.Temp
		out[k] = z
		mx = math.Max(mx, z)
	}
	var sum float64
	for k := range out {
		out[k] = math.Exp(out[k] - mx)
		sum += out[k]
	}
	for k := range out {
		out[k] /= sum
	}
}

// topK returns the indices of the k largest values, largest first.
func topK(v []float64, k int) []int {
	k = min(k, len(v))
	out := make([]int, 0, k)
	for i, x := range v {
		pos := len(out)
		for pos > 0 && v[out[pos-1]] < x {
			pos--
		}
		if pos >= k {
			continue
		}
		if len(out) < k {
			out = append(out, 0)
		}
		copy(out[pos+1:], out[pos:len(out)-1])
		out[pos] = i
	}
	return out
}

// buildWeights lays the final models' sparse weights out feature-major.
func (m *Model) buildWeights(plans []*fieldPlan) {
	counts := make([]int32, len(m.hashes)+1)
	offset := 0
	for i, p := range plans {
		m.Fields[i].offset = offset
		final := p.jobs[len(p.jobs)-1]
		for _, entries := range final.weights {
			for _, e := range entries {
				counts[e.f+1]++
			}
		}
		offset += len(p.classes)
	}
	m.nClass = offset
	for f := 1; f < len(counts); f++ {
		counts[f] += counts[f-1]
	}
	m.wPtr = counts
	total := counts[len(counts)-1]
	m.wClass = make([]uint32, total)
	m.wVal = make([]float32, total)
	fill := slices.Clone(counts[:len(counts)-1])
	for i, p := range plans {
		final := p.jobs[len(p.jobs)-1]
		for c, entries := range final.weights {
			for _, e := range entries {
				at := fill[e.f]
				m.wClass[at] = uint32(m.Fields[i].offset + c)
				m.wVal[at] = e.w
				fill[e.f]++
			}
			final.weights[c] = nil
		}
	}
}

// index builds the hash lookup and field offsets after training or loading.
func (m *Model) index() {
	m.lookup = make(map[uint64]int32, len(m.hashes))
	for i, h := range m.hashes {
		m.lookup[h] = int32(i)
	}
	offset := 0
	for _, f := range m.Fields {
		f.offset = offset
		offset += len(f.Classes)
	}
	m.nClass = offset
}

// WeightCount is the number of stored (feature, class) weights.
func (m *Model) WeightCount() int { return len(m.wVal) }

// FeatureCount is the vocabulary size.
func (m *Model) FeatureCount() int { return len(m.hashes) }

// Predict predicts every target field from a summary (and optionally more
// text: it is treated as the first text column). Empty text is Invalid.
func (m *Model) Predict(text string) (Prediction, error) {
	if strings.TrimSpace(text) == "" {
		return Prediction{}, errs.InvalidField("request_string", "must not be empty")
	}
	if m.Anonymized {
		text = scrubEmails(text)
	}
	fz := featurizer{opts: m.Features}
	hs := fz.features([]string{text})
	type fv struct {
		f int32
		v float32
	}
	var x []fv
	countRuns(hs, func(h uint64, n int) {
		if f, ok := m.lookup[h]; ok {
			x = append(x, fv{f, sublinearTF(n) * m.idf[f]})
		}
	})
	var norm float64
	for _, e := range x {
		norm += float64(e.v) * float64(e.v)
	}
	scores := make([]float32, m.nClass)
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for _, e := range x {
			v := e.v * inv
			for q := m.wPtr[e.f]; q < m.wPtr[e.f+1]; q++ {
				scores[m.wClass[q]] += v * m.wVal[q]
			}
		}
	}
	var out Prediction
	for _, fm := range m.Fields {
		k := len(fm.Classes)
		probs := make([]float64, k)
		fm.probabilities(scores[fm.offset:fm.offset+k], probs, false)
		order := topK(probs, 3)
		fp := FieldPrediction{Field: fm.Name, Prediction: fm.Classes[order[0]], Confidence: probs[order[0]]}
		for _, c := range order {
			fp.Alternatives = append(fp.Alternatives, Alternative{Value: fm.Classes[c], Confidence: probs[c]})
		}
		out.Fields = append(out.Fields, fp)
	}
	return out, nil
}

// Metrics returns each field's hold-out metrics by field name.
func (m *Model) Metrics() map[string]FieldMetrics {
	out := map[string]FieldMetrics{}
	for _, f := range m.Fields {
		out[f.Name] = f.Metrics
	}
	return out
}

// FieldNames lists the target fields in model order.
func (m *Model) FieldNames() []string {
	var out []string
	for _, f := range m.Fields {
		out = append(out, f.Name)
	}
	return out
}
