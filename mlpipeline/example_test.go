package mlpipeline_test

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/bugflow/bugflow/mlpipeline"
)

// Train a model from a tracker export and predict the fields of a new bug.
func Example() {
	f, err := os.Open("testdata/gitbugs_hadoop.csv")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	model, report, err := mlpipeline.Train(context.Background(), []io.Reader{f}, mlpipeline.TrainOptions{}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("fields:", model.FieldNames())
	fmt.Println("priority test rows:", report.Fields[1].Metrics.TestRows)

	pred, err := model.Predict("Typo in the javadoc of FileSystem#listStatus")
	if err != nil {
		panic(err)
	}
	for _, f := range pred.Fields {
		fmt.Printf("%s: %d alternatives, confidence in (0,1]: %v\n",
			f.Field, len(f.Alternatives), f.Confidence > 0 && f.Confidence <= 1)
	}
	// Output:
	// fields: [Status Priority Resolution]
	// priority test rows: 501
	// Status: 3 alternatives, confidence in (0,1]: true
	// Priority: 3 alternatives, confidence in (0,1]: true
	// Resolution: 3 alternatives, confidence in (0,1]: true
}
