package mlpipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
)

func openTestdata(t testing.TB, name string) io.Reader {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return bytes.NewReader(b)
}

// hadoopModel trains once on the hadoop export; several tests share it.
var hadoopModel = sync.OnceValues(func() (*Model, *Report) {
	b, err := os.ReadFile("testdata/gitbugs_hadoop.csv")
	if err != nil {
		panic(err)
	}
	m, rep, err := Train(context.Background(), []io.Reader{bytes.NewReader(b)}, TrainOptions{}, nil)
	if err != nil {
		panic(err)
	}
	return m, rep
})

func rolesByColumn(roles []ColumnRole) map[string]string {
	out := map[string]string{}
	for _, r := range roles {
		out[r.Column] = r.Role
	}
	return out
}

func TestTrainDetectsRoles(t *testing.T) {
	_, rep := hadoopModel()
	assert.Equal(t, map[string]string{
		"Summary": RoleText, "Description": RoleText,
		"Status": RoleTarget, "Priority": RoleTarget, "Resolution": RoleTarget,
		"Issue id": RoleIgnore, "Created": RoleIgnore, "Resolved": RoleIgnore, "Affects Version/s": RoleIgnore,
	}, rolesByColumn(rep.Roles))
	assert.Equal(t, 2503, rep.Stats.Rows)
	assert.Equal(t, 2503, rep.Stats.UsedRows)
	assert.Zero(t, rep.Stats.BadRows)
	assert.Equal(t, []string{"comma"}, rep.Stats.Separators)
}

func TestTrainMetrics(t *testing.T) {
	m, rep := hadoopModel()
	require.Len(t, rep.Fields, 3)
	for _, f := range rep.Fields {
		mt := f.Metrics
		assert.Greater(t, mt.TestRows, 300, f.Field)
		assert.Greater(t, mt.TrainRows, 4*mt.TestRows-10, f.Field)
		assert.GreaterOrEqual(t, mt.Accuracy, mt.MajorityAccuracy-0.05, f.Field)
		assert.GreaterOrEqual(t, mt.Top3, mt.Accuracy, f.Field)
		assert.Greater(t, mt.MacroF1, 0.0, f.Field)
		assert.LessOrEqual(t, mt.ECE, 0.1, f.Field)
		assert.GreaterOrEqual(t, mt.Classes, mt.ModelClasses, f.Field)
	}
	// Priority: five values, 2503 rows; the split is scikit-learn's.
	pri := m.Metrics()["Priority"]
	assert.Equal(t, 5, pri.Classes)
	assert.Equal(t, 501, pri.TestRows)
	assert.InDelta(t, 0.679, pri.MajorityAccuracy, 0.0005)
}

func TestPredict(t *testing.T) {
	m, _ := hadoopModel()
	p, err := m.Predict("NPE in NameNode when the block report is empty")
	require.NoError(t, err)
	require.Len(t, p.Fields, 3)
	for _, f := range p.Fields {
		require.Len(t, f.Alternatives, 3, f.Field)
		assert.Equal(t, f.Prediction, f.Alternatives[0].Value)
		assert.Equal(t, f.Confidence, f.Alternatives[0].Confidence)
		sum := 0.0
		for i, a := range f.Alternatives {
			assert.True(t, a.Confidence > 0 && a.Confidence <= 1, a)
			if i > 0 {
				assert.LessOrEqual(t, a.Confidence, f.Alternatives[i-1].Confidence)
			}
			sum += a.Confidence
		}
		assert.LessOrEqual(t, sum, 1+1e-9)
	}
	pri, ok := p.Field("Priority")
	require.True(t, ok)
	assert.Contains(t, []string{"Major", "Minor", "Critical", "Blocker", "Trivial"}, pri.Prediction)

	for _, empty := range []string{"", "   \n"} {
		_, err := m.Predict(empty)
		assert.ErrorIs(t, err, errs.ErrInvalid)
	}
}

func TestModelRoundTrip(t *testing.T) {
	m, _ := hadoopModel()
	blob, err := m.MarshalBinary()
	require.NoError(t, err)
	var back Model
	require.NoError(t, back.UnmarshalBinary(blob))
	assert.Equal(t, m.FieldNames(), back.FieldNames())
	assert.Equal(t, m.Metrics(), back.Metrics())
	for _, text := range []string{"DataNode crashes on restart", "typo in javadoc of FileSystem", "x"} {
		want, err := m.Predict(text)
		require.NoError(t, err)
		got, err := back.Predict(text)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}

	tests := []struct {
		name string
		blob []byte
	}{
		{"empty", nil},
		{"not a model", []byte("hello world, not a model")},
		{"other version", append(append([]byte{}, modelMagic...), 9, 0, 0, 0)},
		{"truncated", blob[:len(blob)/2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bad Model
			assert.ErrorIs(t, bad.UnmarshalBinary(tt.blob), errs.ErrInvalid)
		})
	}
}

func TestTrainOverridesAndSeveralReaders(t *testing.T) {
	// The same hadoop rows in two files: the second has its columns in
	// another order, is semicolon-separated, has a BOM and odd header case.
	b, err := os.ReadFile("testdata/gitbugs_hadoop.csv")
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	half := len(recs) / 2
	var second bytes.Buffer
	second.WriteString("\xEF\xBB\xBF")
	w := csv.NewWriter(&second)
	w.Comma = ';'
	order := []int{8, 3, 0, 1, 2, 4, 5, 6, 7}
	for i, rec := range append([][]string{recs[0]}, recs[half:]...) {
		row := make([]string, len(order))
		for j, k := range order {
			row[j] = rec[k]
			if i == 0 {
				row[j] = strings.ToUpper(rec[k])
			}
		}
		require.NoError(t, w.Write(row))
	}
	w.Flush()
	var first bytes.Buffer
	require.NoError(t, csv.NewWriter(&first).WriteAll(recs[:half]))

	m, rep, err := Train(context.Background(), []io.Reader{&first, &second}, TrainOptions{
		TextColumns: []string{"summary"}, TargetColumns: []string{"PRIORITY", "status"},
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2503, rep.Stats.UsedRows)
	assert.Equal(t, []string{"comma", "semicolon"}, rep.Stats.Separators)
	assert.Equal(t, []string{"Status", "Priority"}, m.FieldNames())
	roles := rolesByColumn(rep.Roles)
	assert.Equal(t, RoleIgnore, roles["Description"])
	assert.Equal(t, RoleIgnore, roles["Resolution"])
	assert.Equal(t, []string{"Summary"}, m.TextColumns)

	_, _, err = Train(context.Background(), []io.Reader{openTestdata(t, "gitbugs_hadoop.csv")},
		TrainOptions{TargetColumns: []string{"Nope"}}, nil)
	assert.ErrorIs(t, err, errs.ErrInvalid)
}

func TestTrainRejectsUnusableInput(t *testing.T) {
	tests := []struct {
		name  string
		input string
	}{
		{"empty file", ""},
		{"header only", "Summary,Priority\n"},
		{"no text", "Summary,Priority\n,Major\n,Minor\n"},
		{"only bad rows", "Summary,Priority\na,b,c\nd,e,f\n"},
		{"no target", "Summary,Priority\nx,Major\ny,Major\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Train(context.Background(), []io.Reader{strings.NewReader(tt.input)}, TrainOptions{}, nil)
			require.ErrorIs(t, err, errs.ErrInvalid)
		})
	}
}

func TestTrainCountsBadRowsAndReportsProgress(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("Title,Severity\n")
	for i := 0; i < 300; i++ {
		sev := []string{"high", "low", "medium"}[i%3]
		fmt.Fprintf(&sb, "%s problem number %d in module %d,%s\n", sev, i, i%7, sev)
	}
	sb.WriteString("broken,row,with,too,many,fields\n")
	var stages sync.Map
	m, rep, err := Train(context.Background(), []io.Reader{strings.NewReader(sb.String())}, TrainOptions{},
		func(p Progress) { stages.Store(p.Stage, true) })
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Stats.BadRows)
	assert.Equal(t, 300, rep.Stats.UsedRows)
	for _, s := range []string{StageTrain, StageCalibrate} {
		_, ok := stages.Load(s)
		assert.True(t, ok, s)
	}
	p, err := m.Predict("a high problem")
	require.NoError(t, err)
	assert.Equal(t, "high", p.Fields[0].Prediction)
}

func TestTrainMultilingual(t *testing.T) {
	m, rep, err := Train(context.Background(), []io.Reader{openTestdata(t, "gitbugs_vscode_multilingual.csv")},
		TrainOptions{TargetColumns: []string{"Resolution"}}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1381, rep.Stats.UsedRows)
	// CJK titles become character unigrams and bigrams, so Chinese text
	// finds known features.
	fz := featurizer{opts: m.Features}
	hits := 0
	for _, h := range fz.features([]string{"编辑器崩溃"}) {
		if _, ok := m.lookup[h]; ok {
			hits++
		}
	}
	assert.Positive(t, hits)
}

func TestTrainMaxInputBytes(t *testing.T) {
	b, err := os.ReadFile("testdata/gitbugs_seamonkey.csv")
	require.NoError(t, err)
	half := bytes.NewReader(b[:len(b)/2])
	_, _, err = Train(context.Background(), []io.Reader{half, bytes.NewReader(b)},
		TrainOptions{MaxInputBytes: int64(len(b))}, nil)
	require.ErrorIs(t, err, errs.ErrTooLarge)
	_, _, err = Train(context.Background(), []io.Reader{bytes.NewReader(b)},
		TrainOptions{MaxInputBytes: int64(len(b))}, nil)
	require.NoError(t, err)
}

func TestTrainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := Train(ctx, []io.Reader{openTestdata(t, "gitbugs_hadoop.csv")}, TrainOptions{}, nil)
	require.ErrorIs(t, err, context.Canceled)
}

// ece is the expected calibration error with 10 bins (calibrationBins),
// for tests that measure confidences of their own.
func ece(conf []float64, correct []bool) float64 {
	return ECEOf(calibrationBins(conf, correct))
}

func TestMetricsFormulas(t *testing.T) {
	// scikit-learn: f1_score([0,0,1,2],[0,1,1,1],average="macro") = (2/3 + 1/2 + 0)/3
	assert.InDelta(t, (2.0/3+0.5)/3, macroF1([]int32{0, 0, 1, 2}, []int32{0, 1, 1, 1}, 3), 1e-12)
	// Perfectly calibrated halves and an overconfident bin.
	assert.InDelta(t, 0, ece([]float64{0.5, 0.5}, []bool{true, false}), 1e-12)
	assert.InDelta(t, 0.9, ece([]float64{0.9}, []bool{false}), 1e-12)
	assert.Equal(t, []int{2, 0, 1}, topK([]float64{0.3, 0.1, 0.6}, 3))
	assert.False(t, math.IsNaN(logit(0)))
}

// The calibration bins are the ECE's: empty bins left out, a confidence of
// 1 in the last bin, 0.1 in the second; and bins of two evaluations summed
// give the ECE of their rows pooled.
func TestCalibrationBins(t *testing.T) {
	conf := []float64{0.05, 0.1, 0.95, 0.95, 1}
	right := []bool{false, true, true, false, true}
	bins := calibrationBins(conf, right)
	require.Len(t, bins, 3)
	assert.Equal(t, CalibrationBin{Lower: 0, Rows: 1, Confidence: 0.05, Accuracy: 0}, bins[0])
	assert.Equal(t, CalibrationBin{Lower: 0.1, Rows: 1, Confidence: 0.1, Accuracy: 1}, bins[1])
	assert.Equal(t, 0.9, bins[2].Lower)
	assert.Equal(t, 3, bins[2].Rows)
	assert.InDelta(t, (0.95+0.95+1)/3, bins[2].Confidence, 1e-12)
	assert.InDelta(t, 2.0/3, bins[2].Accuracy, 1e-12)
	// (0.05 + 0.9 + 3 * |0.9667 - 0.6667|) / 5
	assert.InDelta(t, (0.05+0.9+0.9)/5, ECEOf(bins), 1e-12)
	assert.InDelta(t, ECEOf(bins), ece(conf, right), 1e-12)

	// Alone, one evaluation is overconfident by 0.1 and the other
	// underconfident by 0.4; pooled, their shared bin holds 4 right of 5
	// at 0.6, off by 0.2 (rows weigh, not evaluations).
	over := calibrationBins([]float64{0.6, 0.6}, []bool{false, true})
	under := calibrationBins([]float64{0.6, 0.6, 0.6}, []bool{true, true, true})
	assert.InDelta(t, 0.1, ECEOf(over), 1e-12)
	assert.InDelta(t, 0.4, ECEOf(under), 1e-12)
	pooled := PoolCalibration(over, under)
	require.Len(t, pooled, 1)
	assert.Equal(t, 5, pooled[0].Rows)
	assert.InDelta(t, 0.2, ECEOf(pooled), 1e-12)
}
