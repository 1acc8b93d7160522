package server

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/errs"
)

// analyzeMaxBody bounds POST /analyze-failures: seeds/001 allows raw_xml of
// 50,000,000 characters, plus JSON escaping and the other fields.
const analyzeMaxBody = 64 << 20

// analysisMaxBody bounds the other analysis request bodies (comments,
// classifications).
const analysisMaxBody = 256 << 10

// dashboardRows is how many newest jobs GET /api/dashboard summarises.
const dashboardRows = 500

// capabilities answers GET /api/capabilities: what the trackers are
// configured to do.
func (s *Server) capabilities(w http.ResponseWriter, r *http.Request) error {
	return reply(w, r, http.StatusOK, s.engine.Trackers.Capabilities())
}

// jobID is the :job_id path parameter.
func jobID(r *http.Request) string { return httprouter.ParamsFromContext(r.Context()).ByName("job_id") }

// pathRest is a catch-all path parameter without its leading slash, so that
// test and job names with slashes arrive whole.
func pathRest(r *http.Request, name string) string {
	return strings.TrimPrefix(httprouter.ParamsFromContext(r.Context()).ByName(name), "/")
}

// analyzeFailures runs a direct analysis in the request: the offline
// analyzer takes milliseconds for a normal report and seconds for a huge
// one, and the document returns the stored result in the answer. An AI
// provider makes the request last as long as the model (bounded by
// ai_cli_timeout or the chat client's timeouts).
func (s *Server) analyzeFailures(w http.ResponseWriter, r *http.Request) error {
	var fields map[string]json.RawMessage
	if err := decodeJSON(r, &fields); err != nil {
		return err
	}
	if err := analysis.CheckAnalysisRequest(fields); err != nil {
		return err
	}
	failuresRaw, rawXMLRaw := nonNull(fields["failures"]), nonNull(fields["raw_xml"])
	if (failuresRaw == nil) == (rawXMLRaw == nil) {
		return errs.InvalidField("failures", "exactly one of failures or raw_xml must be provided")
	}
	// A provider or model this server cannot run is an invalid analysis
	// configuration: 400 in seeds/001, after the 422 checks of the body.
	analyzer, err := s.engine.Analysis.AnalyzerFor(analysis.ParseAIRequest(fields))
	if err != nil {
		return plainInvalid(err)
	}
	params := map[string]any{}
	for k, v := range fields {
		if k == "failures" || k == "raw_xml" {
			continue
		}
		var val any
		if err := json.Unmarshal(v, &val); err == nil {
			params[k] = val
		}
	}
	in := analysis.DirectInput{RecordInput: analysis.RecordInput{JobID: uuid.NewString(), RequestParams: analysis.StripSecrets(params)}, Analyzer: analyzer}
	// The configured public address wins over the request's Host header,
	// which the stored enriched XML would otherwise keep whatever it said.
	in.ReportURL = cmp.Or(s.engine.Trackers.PublicBaseURL(), baseURL(r)) + "/results/" + in.JobID
	if rawXMLRaw != nil {
		var raw string
		if err := json.Unmarshal(rawXMLRaw, &raw); err != nil {
			return errs.InvalidField("raw_xml", "must be a string")
		}
		in.Report = strings.NewReader(raw)
	} else if err := json.Unmarshal(failuresRaw, &in.Failures); err != nil {
		return errs.InvalidField("failures", "must be an array of {test_name, error_message, stack_trace}")
	}
	ra, err := s.engine.Analysis.Analyze(r.Context(), in)
	if err != nil && in.Report != nil {
		// A report's errors are about the report as a whole: malformed XML
		// is 400 in seeds/001.
		err = plainInvalid(err)
	}
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, ra.Result)
}

// nonNull returns raw unless it is absent or JSON null.
func nonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// resultEnvelope is seeds/001's ResultEnvelope.
type resultEnvelope struct {
	JobID             string                `json:"job_id"`
	JenkinsURL        string                `json:"jenkins_url"`
	Status            string                `json:"status"`
	Result            map[string]any        `json:"result"`
	CreatedAt         time.Time             `json:"created_at"`
	CompletedAt       *time.Time            `json:"completed_at"`
	AnalysisStartedAt *time.Time            `json:"analysis_started_at"`
	Capabilities      analysis.Capabilities `json:"capabilities"`
	BaseURL           string                `json:"base_url"`
	ResultURL         string                `json:"result_url"`
}

func (s *Server) getResult(w http.ResponseWriter, r *http.Request) error {
	res, err := s.engine.Analysis.Result(r.Context(), jobID(r))
	if err != nil {
		return err
	}
	body := map[string]any{}
	if err := json.Unmarshal(res.Result, &body); err != nil {
		return err
	}
	// The stored row's bookkeeping travels inside result, as in seeds/001.
	body["request_params"] = analysis.StripSecrets(res.RequestParams)
	if res.ProgressPhase != "" {
		body["progress_phase"] = res.ProgressPhase
		body["progress_log"] = res.ProgressLog
	}
	if res.Error != "" {
		body["error"] = res.Error
	}
	status := http.StatusOK
	switch res.Status {
	case analysis.JobPending, analysis.JobWaiting, analysis.JobRunning:
		status = http.StatusAccepted
	}
	return reply(w, r, status, resultEnvelope{
		JobID: res.JobID, JenkinsURL: res.JenkinsURL, Status: res.Status, Result: body,
		CreatedAt: res.CreatedAt, CompletedAt: res.CompletedAt, AnalysisStartedAt: res.StartedAt,
		Capabilities: s.engine.Trackers.Capabilities(),
		BaseURL:      s.engine.Trackers.PublicBaseURL(),
		ResultURL:    s.engine.Trackers.PublicBaseURL() + "/results/" + res.JobID,
	})
}

// intQuery reads an optional integer query parameter within [lo, hi];
// anything else is a 422 naming it.
func intQuery(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errs.InvalidField(name, "must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

type resultSummary struct {
	JobID      string    `json:"job_id"`
	JenkinsURL string    `json:"jenkins_url"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
}

func (s *Server) listResults(w http.ResponseWriter, r *http.Request) error {
	limit, err := intQuery(r.URL.Query(), "limit", 50, 1, 100)
	if err != nil {
		return err
	}
	results, err := s.engine.Analysis.Results(r.Context(), limit)
	if err != nil {
		return err
	}
	out := make([]resultSummary, 0, len(results))
	for _, res := range results {
		out = append(out, resultSummary{JobID: res.JobID, JenkinsURL: res.JenkinsURL, Status: res.Status, CreatedAt: res.CreatedAt})
	}
	return reply(w, r, http.StatusOK, out)
}

func (s *Server) deleteResult(w http.ResponseWriter, r *http.Request) error {
	id := jobID(r)
	if err := s.engine.Analysis.DeleteResult(r.Context(), id); err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]string{"status": "deleted", "job_id": id})
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	rows, err := s.engine.Analysis.Dashboard(r.Context(), dashboardRows)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, rows)
}

// aiConfigs lists the distinct analyzer provider/model pairs of completed
// results.
func (s *Server) aiConfigs(w http.ResponseWriter, r *http.Request) error {
	configs, err := s.engine.Analysis.AIConfigs(r.Context(), dashboardRows)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, configs)
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) error {
	comments, reviews, err := s.engine.Analysis.Comments(r.Context(), jobID(r))
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]any{"comments": comments, "reviews": reviews})
}

// scopeBody is the failure address shared by comments, reviews and
// overrides.
type scopeBody struct {
	TestName         *string `json:"test_name"`
	ChildJobName     string  `json:"child_job_name"`
	ChildBuildNumber int     `json:"child_build_number"`
}

// scope checks the body's test_name (a missing one is a 422, as FastAPI's
// model validation has it) and the child scope rules (a 400, as seeds/001
// lists "invalid child scope").
func (b scopeBody) scope() (analysis.Scope, error) {
	if b.TestName == nil || strings.TrimSpace(*b.TestName) == "" {
		return analysis.Scope{}, errs.InvalidField("test_name", "field required")
	}
	sc := analysis.Scope{TestName: *b.TestName, ChildJobName: b.ChildJobName, ChildBuildNumber: b.ChildBuildNumber}
	return sc, plainInvalid(sc.Validate())
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		scopeBody
		Comment *string `json:"comment"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	sc, err := body.scope()
	if err == nil && (body.Comment == nil || strings.TrimSpace(*body.Comment) == "") {
		err = errs.InvalidField("comment", "field required")
	}
	var user string
	if err == nil {
		user, err = s.usernameContext(r)
	}
	if err != nil {
		return err
	}
	id, err := s.engine.Analysis.AddComment(r.Context(), jobID(r), sc, *body.Comment, user)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusCreated, map[string]int64{"id": id})
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(httprouter.ParamsFromContext(r.Context()).ByName("comment_id"), 10, 64)
	if err != nil {
		return errs.InvalidField("comment_id", "must be an integer")
	}
	user, err := s.usernameContext(r)
	if err != nil {
		return err
	}
	caller := identityFrom(r.Context())
	if err := s.engine.Analysis.DeleteComment(r.Context(), jobID(r), id, user, caller.IsAdmin()); err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]string{"status": "deleted"})
}

func (s *Server) setReviewed(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		scopeBody
		Reviewed *bool `json:"reviewed"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	sc, err := body.scope()
	if err == nil && body.Reviewed == nil {
		err = errs.InvalidField("reviewed", "field required")
	}
	var user string
	if err == nil {
		user, err = s.usernameContext(r)
	}
	if err != nil {
		return err
	}
	if err := s.engine.Analysis.SetReviewed(r.Context(), jobID(r), sc, *body.Reviewed, user); err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]string{"status": "ok", "reviewed_by": user})
}

func (s *Server) reviewStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.engine.Analysis.ReviewStatus(r.Context(), jobID(r))
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, st)
}

func (s *Server) overrideClassification(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		scopeBody
		Classification string `json:"classification"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	sc, err := body.scope()
	var c analysis.Classification
	if err == nil {
		c, err = analysis.ParseClassification(body.Classification)
		if err != nil {
			err = errs.InvalidField("classification", "must be CODE ISSUE, PRODUCT BUG or INFRASTRUCTURE")
		}
	}
	var user string
	if err == nil {
		user, err = s.usernameContext(r)
	}
	if err != nil {
		return err
	}
	if err := s.engine.Analysis.Override(r.Context(), jobID(r), sc, c, user); err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]string{"status": "ok", "classification": string(c)})
}

func (s *Server) historyFailures(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := intQuery(q, "limit", 50, 1, 200)
	if err != nil {
		return err
	}
	offset, err := intQuery(q, "offset", 0, 0, 1<<31-1)
	if err != nil {
		return err
	}
	rows, total, err := s.engine.Analysis.Failures(r.Context(), analysis.HistoryFilter{
		Search: q.Get("search"), JobName: q.Get("job_name"), Classification: analysis.Classification(q.Get("classification")),
		Limit: limit, Offset: offset,
	})
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []analysis.HistoryRow{}
	}
	return reply(w, r, http.StatusOK, map[string]any{"failures": rows, "total": total})
}

func (s *Server) historyTest(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := intQuery(q, "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	name := pathRest(r, "test_name")
	if name == "" {
		return errs.InvalidField("test_name", "field required")
	}
	rep, err := s.engine.Analysis.TestHistory(r.Context(), name, q.Get("job_name"), q.Get("exclude_job_id"), limit)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, rep)
}

func (s *Server) historySearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	sig := strings.TrimSpace(q.Get("signature"))
	if sig == "" {
		return errs.InvalidField("signature", "field required")
	}
	rep, err := s.engine.Analysis.SearchSignature(r.Context(), sig, q.Get("exclude_job_id"))
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, rep)
}

func (s *Server) historyStats(w http.ResponseWriter, r *http.Request) error {
	name := pathRest(r, "job_name")
	if name == "" {
		return errs.InvalidField("job_name", "field required")
	}
	rep, err := s.engine.Analysis.JobStats(r.Context(), name, r.URL.Query().Get("exclude_job_id"))
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, rep)
}

// historyClassify stores a history label. The business rules (a blank test
// name, KNOWN_BUG without references) are 400, as seeds/001 lists them;
// everything else wrong (missing fields, an unknown label, a job id beyond
// analysis.MaxNameLength) is model validation, 422.
func (s *Server) historyClassify(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		TestName         *string `json:"test_name"`
		Classification   *string `json:"classification"`
		Reason           string  `json:"reason"`
		JobName          string  `json:"job_name"`
		References       string  `json:"references"`
		JobID            *string `json:"job_id"`
		ChildBuildNumber int     `json:"child_build_number"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	missing := errs.Invalidf("validation failed")
	for field, v := range map[string]*string{"test_name": body.TestName, "classification": body.Classification, "job_id": body.JobID} {
		if v == nil {
			missing = missing.WithField(field, "field required")
		}
	}
	if len(missing.Fields) > 0 {
		return missing
	}
	user, err := s.usernameContext(r)
	if err != nil {
		return err
	}
	id, err := s.engine.Analysis.Classify(r.Context(), analysis.ClassifyInput{
		TestName: *body.TestName, Classification: *body.Classification, Reason: body.Reason, JobName: body.JobName,
		References: body.References, JobID: *body.JobID, ChildBuildNumber: body.ChildBuildNumber,
	}, user)
	if err != nil {
		if e := errs.As(err); e != nil && len(e.Fields["test_name"])+len(e.Fields["references"]) > 0 {
			err = plainInvalid(err)
		}
		return err
	}
	return reply(w, r, http.StatusCreated, map[string]int64{"id": id})
}

func (s *Server) historyClassifications(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	rows, err := s.engine.Analysis.Classifications(r.Context(), analysis.ClassificationFilter{
		TestName: q.Get("test_name"), Classification: q.Get("classification"), JobName: q.Get("job_name"),
		ParentJobName: q.Get("parent_job_name"), JobID: q.Get("job_id"),
	})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]any{"classifications": rows})
}
