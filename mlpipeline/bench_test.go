package mlpipeline

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// apacheCSV is the large export used by the long benchmarks; it is not
// copied into testdata (16 MB).
var apacheCSV = filepath.Join("..", "..", "shared", "data", "bugs", "apache_jira_bugs.csv")

func BenchmarkPredictHadoop(b *testing.B) {
	m, _ := hadoopModel()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := m.Predict("DataNode fails to report blocks after restart"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictApache predicts every field (Project, Priority, Status,
// Component, Assignee) of one summary with a model trained on the apache
// export (Summary+Description). Training takes about half a minute first.
func BenchmarkPredictApache(b *testing.B) {
	f, err := os.Open(apacheCSV)
	if err != nil {
		b.Skip("apache export not found:", err)
	}
	defer f.Close()
	m, _, err := Train(context.Background(), []io.Reader{f}, TrainOptions{TextColumns: []string{"Summary", "Description"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	summaries := apacheSummaries(b, 500)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := m.Predict(summaries[i%len(summaries)]); err != nil {
			b.Fatal(err)
		}
	}
}

func apacheSummaries(b *testing.B, n int) []string {
	f, err := os.Open(apacheCSV)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, r := range recs[1:] {
		if r[2] != "" {
			out = append(out, r[2])
		}
		if len(out) == n {
			break
		}
	}
	return out
}
