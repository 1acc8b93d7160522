package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// testcaseElement returns the <testcase> element of the test called name.
func testcaseElement(t *testing.T, doc, name string) string {
	t.Helper()
	start := strings.Index(doc, `name="`+name+`"`)
	require.GreaterOrEqual(t, start, 0, name)
	start = strings.LastIndex(doc[:start], "<testcase")
	end := strings.Index(doc[start:], "</testcase>")
	require.GreaterOrEqual(t, end, 0, name)
	return doc[start : start+end]
}

// An override shows in the stored enriched_xml: the overridden test's
// analysis says the new classification, the other tests' stay as they were.
func TestOverrideClassificationUpdatesEnrichedXML(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv, _ := identityServer(t, url)
		ctx := context.Background()
		c := newAPIClient(t, srv)
		report := `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="api" tests="3" failures="2">
  <testcase classname="tests.api.test_login" name="test_admin_login"><failure message="AssertionError: expected 200 got 500">Traceback...</failure></testcase>
  <testcase classname="tests.api.test_orders" name="test_create"><failure message="ConnectionError: Connection refused to 10.0.0.12:5432"/><system-out>connecting</system-out></testcase>
  <testcase classname="tests.api.test_orders" name="test_list"/>
</testsuite>`
		res, err := client.Check(c.AnalyzeFailuresWithResponse(ctx, api.AnalyzeFailuresJSONRequestBody{RawXml: &report}))
		require.NoError(t, err)
		require.NotNil(t, res.JSON200.EnrichedXml)
		before := *res.JSON200.EnrichedXml
		login, create := "tests.api.test_login.test_admin_login", "tests.api.test_orders.test_create"
		require.Contains(t, testcaseElement(t, before, "test_create"), `<property name="ai_classification" value="INFRASTRUCTURE"/>`)

		_, err = client.Check(c.OverrideClassificationWithResponse(ctx, res.JSON200.JobId,
			api.OverrideClassificationJSONRequestBody{TestName: create, Classification: "PRODUCT BUG"}))
		require.NoError(t, err)
		env, err := client.Check(c.GetResultWithResponse(ctx, res.JSON200.JobId))
		require.NoError(t, err)
		after, _ := env.JSON200.Result["enriched_xml"].(string)
		require.NotEmpty(t, after)

		tc := testcaseElement(t, after, "test_create")
		assert.Contains(t, tc, `<property name="ai_classification" value="PRODUCT BUG"/>`)
		assert.NotContains(t, tc, "INFRASTRUCTURE")
		assert.Contains(t, tc, "connecting\n--- AI Analysis ---\nClassification: PRODUCT BUG\n")
		assert.Equal(t, 1, strings.Count(tc, "--- AI Analysis ---"))
		assert.Equal(t, testcaseElement(t, before, "test_admin_login"), testcaseElement(t, after, "test_admin_login"), login+" is untouched")
		assert.Contains(t, after, `<testcase classname="tests.api.test_orders" name="test_list"/>`)
		assert.Contains(t, after, `<property name="report_url" value="`+srv.URL+"/results/"+res.JSON200.JobId+`"/>`)
	})
}
