package analysis_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/bugflow/bugflow/analysis"
)

// Analyse a JUnit report offline: failures are grouped by signature, each
// group is classified once, and the report comes back enriched.
func ExampleAnalyzeReport() {
	report := `<testsuite name="api">
  <testcase classname="tests.api" name="test_login"><failure message="ConnectionError: connection refused by auth-db:5432"/></testcase>
  <testcase classname="tests.api" name="test_logout"><failure message="ConnectionError: connection refused by auth-db:5432"/></testcase>
  <testcase classname="tests.api" name="test_profile"><failure message="AssertionError: expected status 200, got 500"/></testcase>
  <testcase classname="tests.api" name="test_health"/>
</testsuite>`

	ra, err := analysis.AnalyzeReport(context.Background(), strings.NewReader(report), analysis.Options{
		ReportURL: "https://bugflow.example/results/42",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ra.Result.Summary)
	fmt.Printf("%d tests, %d groups\n", ra.Counts.Tests, len(ra.Groups))
	for _, f := range ra.Result.Failures {
		fmt.Printf("%-22s %s\n", f.TestName, f.Analysis.Classification)
	}
	fmt.Println(strings.Contains(*ra.Result.EnrichedXML, `<property name="report_url" value="https://bugflow.example/results/42"/>`))
	// Output:
	// 1 PRODUCT BUG, 2 INFRASTRUCTURE
	// 4 tests, 2 groups
	// tests.api.test_login   INFRASTRUCTURE
	// tests.api.test_logout  INFRASTRUCTURE
	// tests.api.test_profile PRODUCT BUG
	// true
}

// Teach the offline analyzer with a human decision: the next similar failure
// gets the human's classification, with the earlier failure as evidence.
func ExampleSimilarityIndex() {
	index := analysis.NewSimilarityIndex(analysis.SimilarityConfig{})
	_ = index.Add(analysis.LabeledFailure{
		TestName:       "tests.cart.test_big_cart",
		Message:        "ReadTimeout: checkout of cart 1234567 timed out after 30s",
		Classification: analysis.ProductBug,
		LabeledBy:      "alice",
	})
	ra, err := analysis.AnalyzeFailures(context.Background(), []analysis.FailureInput{{
		TestName:     "tests.cart.test_coupon_cart",
		ErrorMessage: "ReadTimeout: checkout of cart 7654321 timed out after 31s",
	}}, analysis.Options{Analyzer: analysis.NewOfflineAnalyzer(index)})
	if err != nil {
		log.Fatal(err)
	}
	d := ra.Result.Failures[0].Analysis
	fmt.Println(d.Classification)
	fmt.Println(strings.Contains(d.Details, "tests.cart.test_big_cart labelled PRODUCT BUG by alice"))
	// Output:
	// PRODUCT BUG
	// true
}
