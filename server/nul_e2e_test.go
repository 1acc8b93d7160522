package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/client"
	"github.com/bugflow/bugflow/client/api"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/server"
)

// nulValue is the string the walk puts in each input: PostgreSQL text cannot
// hold its NUL, which once made such requests answer 500.
const nulValue = "nul\x00here"

// badUTF8Value is what the walk also puts in each path and query parameter
// (JSON decoding already replaces invalid UTF-8): bun would turn it into
// U+FFFD, so it would not be looked up or stored as given.
const badUTF8Value = "bad\xffutf8"

// TestNULIsRejectedOnEveryRoute walks every route of openapi.yaml and sends,
// as the bootstrap admin so that access checks let it through, one request
// per string input (path parameter, query parameter, request body field at
// any depth, multipart field) with a NUL in that input, and for parameters
// one more with invalid UTF-8. Each must answer the route's dialect error
// for bad input: 422 on FastAPI routes that document model validation, 400
// everywhere else, naming the NUL, never a 5xx. The validating client also
// checks the answer against the document.
func TestNULIsRejectedOnEveryRoute(t *testing.T) {
	doc, err := apitest.LoadDocument()
	require.NoError(t, err)
	dbtest.ForEach(t, func(t *testing.T, dbURL string) {
		srv, _ := identityServer(t, dbURL)
		routes := server.New(srv.Engine).(*server.Server).Routes()
		cases := 0
		for _, rt := range routes {
			docPath := httprouterParam.ReplaceAllString(rt.Path, "{$1}")
			item := doc.Paths.Find(docPath)
			require.NotNil(t, item, "%s %s is not documented", rt.Method, docPath)
			op := item.GetOperation(rt.Method)
			require.NotNil(t, op, "%s %s is not documented", rt.Method, docPath)
			want := http.StatusBadRequest
			if rt.Family == server.FastAPI && op.Responses.Value("422") != nil {
				want = http.StatusUnprocessableEntity
			}
			for _, req := range nulRequests(t, srv.URL, docPath, rt.Method, slices.Concat(item.Parameters, op.Parameters), op.RequestBody) {
				cases++
				t.Run(rt.Method+" "+docPath+" "+req.where, func(t *testing.T) {
					req.http.Header.Set("Authorization", "Bearer "+testAdminKey)
					resp, err := srv.Client.Do(req.http)
					require.NoError(t, err)
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					require.NoError(t, err)
					assert.Equal(t, want, resp.StatusCode, "body: %s", body)
					assert.Contains(t, string(body), "NUL", "the answer says what is wrong")
				})
			}
		}
		assert.Greater(t, cases, 60, "the walk covers the routes' string inputs")
	})
}

// nulRequest is one request of the walk and where its NUL is.
type nulRequest struct {
	where string
	http  *http.Request
}

// nulInput is one string input of an operation, a parameter or a body
// field, and the bad value it gets.
type nulInput struct {
	param *openapi3.Parameter
	leaf  leaf
	value string
}

// leaf is a free string of a body: its JSON path and schema.
type leaf struct {
	path   []any
	schema *openapi3.Schema
}

// padded is v lengthened to what s demands.
func padded(v string, s *openapi3.Schema) string {
	return v + strings.Repeat("x", max(0, int(s.MinLength)-len(v)))
}

func (in nulInput) String() string {
	where := "body " + jsonPath(in.leaf.path)
	if in.param != nil {
		where = in.param.In + " " + in.param.Name
	}
	if in.value == badUTF8Value {
		where += " (invalid UTF-8)"
	}
	return where
}

// nulRequests builds one request per string input of an operation, each
// with nulValue in that input and schema-valid sample values elsewhere.
func nulRequests(t *testing.T, baseURL, path, method string, params openapi3.Parameters, body *openapi3.RequestBodyRef) []nulRequest {
	t.Helper()
	var inputs []nulInput
	for _, p := range params {
		if (p.Value.In == openapi3.ParameterInPath || p.Value.In == openapi3.ParameterInQuery) && isFreeString(p.Value.Schema.Value) {
			inputs = append(inputs, nulInput{param: p.Value, value: nulValue}, nulInput{param: p.Value, value: badUTF8Value})
		}
	}
	bodySchema, contentType := requestSchema(body)
	var sampleBody any
	if bodySchema != nil {
		var leaves []leaf
		sampleBody = sampleValue(bodySchema, nil, &leaves)
		for _, l := range leaves {
			inputs = append(inputs, nulInput{leaf: l, value: nulValue})
		}
	}

	out := make([]nulRequest, 0, len(inputs))
	for _, in := range inputs {
		value := func(p *openapi3.Parameter) (string, bool) {
			if in.param == p {
				return padded(in.value, p.Schema.Value), true
			}
			return sampleString(p.Schema.Value), p.Required
		}
		var b any
		if bodySchema != nil {
			b = deepCopy(sampleBody)
			if in.param == nil {
				b = setLeaf(b, in.leaf.path, padded(in.value, in.leaf.schema))
			}
		}
		req := buildRequest(t, baseURL+path, method, params, value, contentType, bodySchema, b)
		out = append(out, nulRequest{where: in.String(), http: req})
	}
	return out
}

// requestSchema is the schema of a request body and its content type,
// JSON preferred; nil when the operation takes no body.
func requestSchema(body *openapi3.RequestBodyRef) (*openapi3.Schema, string) {
	if body == nil {
		return nil, ""
	}
	for _, ct := range []string{"application/json", "multipart/form-data"} {
		if mt := body.Value.Content.Get(ct); mt != nil {
			return mt.Schema.Value, ct
		}
	}
	return nil, ""
}

// buildRequest builds a request to target (a documented path with {name}
// parameters) with each parameter's value from value, which also says
// whether an optional query parameter is sent, and body encoded as
// contentType when schema is not nil.
func buildRequest(t *testing.T, target, method string, params openapi3.Parameters, value func(*openapi3.Parameter) (string, bool), contentType string, schema *openapi3.Schema, body any) *http.Request {
	t.Helper()
	query := url.Values{}
	header := http.Header{}
	for _, p := range params {
		v, send := value(p.Value)
		switch p.Value.In {
		case openapi3.ParameterInPath:
			target = strings.Replace(target, "{"+p.Value.Name+"}", url.PathEscape(v), 1)
		case openapi3.ParameterInQuery:
			if send {
				query.Set(p.Value.Name, v)
			}
		case openapi3.ParameterInHeader:
			header.Set(p.Value.Name, v)
		}
	}
	var reqBody io.Reader
	if schema != nil {
		var ct string
		reqBody, ct = encodeBody(t, contentType, schema, body)
		header.Set("Content-Type", ct)
	}
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, target, reqBody)
	require.NoError(t, err)
	maps.Copy(req.Header, header)
	return req
}

// isFreeString reports whether s is a string the document lets hold any
// text. Enums and patterns are left out: the document already forbids
// every other value.
func isFreeString(s *openapi3.Schema) bool {
	return s.Type.Is("string") && len(s.Enum) == 0 && s.Pattern == "" && s.Format != "binary"
}

// sampleString is a schema-valid value for a path, query or header
// parameter.
func sampleString(s *openapi3.Schema) string {
	switch {
	case len(s.Enum) > 0:
		return fmt.Sprint(s.Enum[0])
	case s.Pattern != "":
		return fmt.Sprint(s.Example) // the document's example matches its pattern
	case s.Type.Is("integer"):
		return "1"
	default:
		return strings.Repeat("x", max(1, int(s.MinLength)))
	}
}

// sampleValue builds a schema-valid value with every property present and
// arrays of one item, recording the path of each free string in leaves.
// Free-form objects get one string property, so that a NUL nested in
// arbitrary JSON is tried too.
func sampleValue(s *openapi3.Schema, path []any, leaves *[]leaf) any {
	switch {
	case len(s.AllOf) > 0:
		obj := map[string]any{}
		for _, sub := range s.AllOf {
			maps.Copy(obj, sampleValue(sub.Value, path, leaves).(map[string]any))
		}
		return obj
	case s.Type.Is("object"):
		obj := map[string]any{}
		if len(s.Properties) == 0 {
			*leaves = append(*leaves, leaf{path: append(slices.Clone(path), "key"), schema: openapi3.NewStringSchema()})
			obj["key"] = "x"
		}
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			obj[name] = sampleValue(s.Properties[name].Value, append(slices.Clone(path), name), leaves)
		}
		return obj
	case s.Type.Is("array"):
		return []any{sampleValue(s.Items.Value, append(slices.Clone(path), 0), leaves)}
	case s.Type.Is("integer"), s.Type.Is("number"):
		return 1
	case s.Type.Is("boolean"):
		return true
	case s.Format == "binary":
		return "summary,priority\nlogin fails,high\n"
	case isFreeString(s):
		*leaves = append(*leaves, leaf{path: path, schema: s})
	}
	return sampleString(s)
}

func jsonPath(path []any) string {
	var b strings.Builder
	for _, p := range path {
		if i, ok := p.(int); ok {
			fmt.Fprintf(&b, "[%d]", i)
		} else {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p.(string))
		}
	}
	return b.String()
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// setLeaf replaces the value at path in v (built by sampleValue) with s.
func setLeaf(v any, path []any, s string) any {
	if len(path) == 0 {
		return s
	}
	switch p := path[0].(type) {
	case int:
		arr := v.([]any)
		arr[p] = setLeaf(arr[p], path[1:], s)
	case string:
		obj := v.(map[string]any)
		obj[p] = setLeaf(obj[p], path[1:], s)
	}
	return v
}

// encodeBody encodes a sample body as JSON or as a multipart form whose
// binary properties are files.
func encodeBody(t *testing.T, contentType string, schema *openapi3.Schema, body any) (io.Reader, string) {
	t.Helper()
	if contentType == "application/json" {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		return bytes.NewReader(b), contentType
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := body.(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name].(string)
		if schema.Properties[name].Value.Format == "binary" {
			part, err := mw.CreateFormFile(name, "export.csv")
			require.NoError(t, err)
			_, err = io.WriteString(part, v)
			require.NoError(t, err)
			continue
		}
		require.NoError(t, mw.WriteField(name, v))
	}
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

// NULs inside uploaded content are data, not request text. A CSV export
// with NULs in a header and in cells (as a half-converted UTF-16 file has)
// trains, and its status, which shows the column names, answers; JUnit XML
// cannot carry a NUL at all (not even as &#0;), so such a report is
// malformed XML: 400, as any other.
func TestNULInUploadedContent(t *testing.T) {
	raw, err := os.ReadFile("../mlpipeline/testdata/gitbugs_vscode_sample.csv")
	require.NoError(t, err)
	csv := strings.Replace(string(raw), "Labels", "La\x00bels", 1)
	csv = strings.ReplaceAll(csv, "Windows", "Win\x00dows")
	csv = strings.ReplaceAll(csv, ",open,", ",open\x00,")
	path := filepath.Join(t.TempDir(), "nul.csv")
	require.NoError(t, os.WriteFile(path, []byte(csv), 0o600))

	dbtest.ForEach(t, func(t *testing.T, dbURL string) {
		srv, _ := identityServer(t, dbURL)
		ctx := context.Background()
		c := newAPIClient(t, srv, client.WithToken(signedInUser(t, srv, "triager")))
		ct, body := multipartCSV(t, nil, path)
		tr, err := client.Check(c.DemoTrainWithBodyWithResponse(ctx, &api.DemoTrainParams{IsAnon: "false"}, ct, body))
		require.NoError(t, err)
		st := waitForTraining(t, c, tr.JSON200.TrainingJobId)
		require.Equal(t, api.JobResultStatus("Success"), st.Result.Status, "%+v", st.Error)
		pr, err := client.Check(c.DemoPredictWithResponse(ctx, api.DemoPredictJSONRequestBody{TrainingJobId: tr.JSON200.TrainingJobId, RequestString: "Some suggestions are missing on Windows"}))
		require.NoError(t, err)
		ps, err := client.Check(c.DemoStatusPredictionWithResponse(ctx, api.DemoStatusPredictionJSONRequestBody{PredictionJobId: pr.JSON200.PredictionJobId}))
		require.NoError(t, err)
		assert.Equal(t, api.JobResultStatus("Success"), ps.JSON200.Result.Status)

		for _, xml := range []string{
			`<testsuite><testcase name="a&#0;b"><failure message="x"/></testcase></testsuite>`,
			`<testsuite><testcase name="ab"><failure message="&#x0;"/></testcase></testsuite>`,
		} {
			resp, out := rawPost(t, srv.Client, srv.URL+"/analyze-failures", `{"raw_xml": `+jsonString(xml)+`}`)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v", out)
		}
	})
}
