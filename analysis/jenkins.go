package analysis

import (
	"bytes"
	"cmp"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/jobs"
)

// Defaults of JenkinsConfig.
const (
	DefaultPollInterval      = 2 * time.Minute
	DefaultArtifactsMaxBytes = 50 << 20
	// MaxChildDepth is how deep failed child jobs of pipelines are
	// followed: a child, its children and theirs.
	MaxChildDepth = 3
	// maxReportArtifacts bounds how many archived XML files one build
	// contributes.
	maxReportArtifacts = 20
	// maxConsoleErrorLines is how many error lines of a console log stand
	// for a build without a test report.
	maxConsoleErrorLines = 50
	// buildJobTimeout bounds one run of a build analysis (fetching and
	// analysing; waiting for the build is not inside a run).
	buildJobTimeout = 30 * time.Minute
)

// PhaseWaitingForJenkins is the progress phase of a job waiting for its
// build to finish (seeds/001).
const PhaseWaitingForJenkins = "waiting_for_jenkins"

// JenkinsConfig configures analyses of Jenkins builds (seeds/001 POST
// /analyze). The zero value has no Jenkins: requests must name one with
// jenkins_url.
type JenkinsConfig struct {
	// URL is the Jenkins controller, e.g. https://jenkins.example.com.
	URL string
	// User and Password (an API token) authenticate to URL. They are never
	// sent to a jenkins_url a request gives instead.
	User, Password string
	// InsecureSkipVerify turns TLS verification off (jenkins_ssl_verify=false).
	InsecureSkipVerify bool
	// NoWait makes wait_for_completion default to false.
	NoWait bool
	// PollInterval is the longest wait between two looks at a running
	// build when the request gives no poll_interval_minutes. Default 2 min.
	PollInterval time.Duration
	// MaxWait gives up waiting for a build after this long when the request
	// gives no max_wait_minutes. Default 0: no limit.
	MaxWait time.Duration
	// ArtifactsMaxBytes caps each archived file downloaded when the request
	// gives no jenkins_artifacts_max_size_mb. Default 50 MiB.
	ArtifactsMaxBytes int64
	// NoArtifacts makes get_job_artifacts default to false: builds without
	// a test report are then read from their console only.
	NoArtifacts bool
	// SecretKey seals the Jenkins credentials a request brings while its
	// job waits in the queue. Empty: a key of this process, so a job that
	// another process (or this one after a restart) picks up cannot use
	// them and fails saying so.
	SecretKey string
	// HTTP tunes the client's transport. Its MaxBodyBytes (default 8 MiB)
	// is also how much of the end of a console log is read for a build
	// without a test report.
	HTTP integrations.Options
}

// Enqueuer queues a durable job inside a bun transaction; the engine's
// job queue implements it.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx bun.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// buildStore is what build analyses need of the store beyond Store; the
// BunStore has it.
type buildStore interface {
	SaveResultWith(ctx context.Context, r StoredResult, inputs []byte, also func(ctx context.Context, tx bun.Tx) error) error
	BuildInputs(ctx context.Context, jobID string) ([]byte, bool, error)
	SaveBuildInputs(ctx context.Context, jobID string, inputs []byte) error
}

// Builds analyses Jenkins builds as durable jobs: POST /analyze and POST
// /re-analyze/{job_id} of seeds/001.
type Builds struct {
	svc   *Service
	cfg   JenkinsConfig
	queue Enqueuer
	aead  cipher.AEAD
}

// NewBuilds returns the build analyses of svc, queued on queue.
func NewBuilds(svc *Service, cfg JenkinsConfig, queue Enqueuer) (*Builds, error) {
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.ArtifactsMaxBytes <= 0 {
		cfg.ArtifactsMaxBytes = DefaultArtifactsMaxBytes
	}
	key := sha256.Sum256([]byte("bugflow jenkins credentials v1\x00" + cfg.SecretKey))
	if cfg.SecretKey == "" {
		if _, err := rand.Read(key[:]); err != nil {
			return nil, err
		}
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Builds{svc: svc, cfg: cfg, queue: queue, aead: aead}, nil
}

// Configured reports whether a server Jenkins is configured.
func (b *Builds) Configured() bool { return b.cfg.URL != "" }

// JenkinsRequest is a checked AnalyzeRequest of seeds/001.
type JenkinsRequest struct {
	JobName     string
	BuildNumber int
	// User and Password are the request's jenkins_user and
	// jenkins_password; they are used, never stored in request_params.
	User, Password string
	// Params are the request's fields as stored in request_params (secrets
	// are stripped when stored).
	Params map[string]any
}

// ParseJenkinsRequest checks a decoded AnalyzeRequest body as seeds/001's
// model validation does (every problem a field of an errs.Invalid, HTTP
// 422).
func ParseJenkinsRequest(fields map[string]json.RawMessage) (JenkinsRequest, error) {
	bad := errs.Invalidf("validation failed")
	if e := errs.As(CheckAnalysisRequest(fields)); e != nil {
		bad = e
	}
	present := func(name string) (json.RawMessage, bool) {
		raw, ok := fields[name]
		return raw, ok && string(raw) != "null"
	}
	var req JenkinsRequest
	if raw, ok := present("job_name"); !ok {
		bad = bad.WithField("job_name", "field required")
	} else if json.Unmarshal(raw, &req.JobName) != nil || strings.Trim(req.JobName, "/ \t") == "" {
		bad = bad.WithField("job_name", "must be a non-blank string")
	}
	if raw, ok := present("build_number"); !ok {
		bad = bad.WithField("build_number", "field required")
	} else if json.Unmarshal(raw, &req.BuildNumber) != nil || req.BuildNumber < 1 {
		bad = bad.WithField("build_number", "must be an integer of at least 1")
	}
	for _, name := range []string{"jenkins_url", "jenkins_user", "jenkins_password"} {
		if raw, ok := present(name); ok {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				bad = bad.WithField(name, "must be a string")
			}
		}
	}
	if raw, ok := present("jenkins_url"); ok {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			if _, err := integrations.NewJenkins(s, "", "", integrations.Options{}); err != nil {
				bad = bad.WithField("jenkins_url", "must be an absolute http(s) URL without credentials or query")
			}
		}
	}
	for _, name := range []string{"wait_for_completion", "jenkins_ssl_verify", "get_job_artifacts"} {
		if raw, ok := present(name); ok {
			var v bool
			if json.Unmarshal(raw, &v) != nil {
				bad = bad.WithField(name, "must be a boolean")
			}
		}
	}
	for name, lo := range map[string]int{"poll_interval_minutes": 1, "max_wait_minutes": 0, "jenkins_artifacts_max_size_mb": 1} {
		if raw, ok := present(name); ok {
			var n int
			if json.Unmarshal(raw, &n) != nil || n < lo {
				bad = bad.WithField(name, fmt.Sprintf("must be an integer of at least %d", lo))
			}
		}
	}
	if len(bad.Fields) > 0 {
		return JenkinsRequest{}, bad
	}
	req.JobName = strings.Trim(req.JobName, "/")
	if raw, ok := present("jenkins_user"); ok {
		_ = json.Unmarshal(raw, &req.User)
	}
	if raw, ok := present("jenkins_password"); ok {
		_ = json.Unmarshal(raw, &req.Password)
	}
	req.Params = requestParams(fields)
	req.Params["job_name"] = req.JobName
	return req, nil
}

// requestParams decodes a request's fields for request_params, deriving
// tests_repo_ref from a tests_repo_url ending in ":ref" (seeds/001).
func requestParams(fields map[string]json.RawMessage) map[string]any {
	params := map[string]any{}
	for k, raw := range fields {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			params[k] = v
		}
	}
	if u, ok := params["tests_repo_url"].(string); ok {
		// The ref follows the last ':' that is not the scheme's or a
		// port's ("https://host:8443/x.git:main").
		if i := strings.LastIndex(u, ":"); i > 0 && !strings.Contains(u[i:], "/") && !strings.HasPrefix(u[i:], "://") {
			if rest := u[i+1:]; rest != "" && strings.Trim(rest, "0123456789") != "" {
				params["tests_repo_url"], params["tests_repo_ref"] = u[:i], rest
			}
		}
	}
	return StripSecrets(params)
}

// buildSettings are a job's effective Jenkins settings.
type buildSettings struct {
	url            string
	custom         bool // url is the request's, not the server's
	wait           bool
	poll, maxWait  time.Duration
	artifacts      bool
	artifactsBytes int64
	insecure       bool
}

func (b *Builds) settings(params map[string]any) buildSettings {
	s := buildSettings{url: b.cfg.URL, wait: !b.cfg.NoWait, poll: b.cfg.PollInterval, maxWait: b.cfg.MaxWait,
		artifacts: !b.cfg.NoArtifacts, artifactsBytes: b.cfg.ArtifactsMaxBytes, insecure: b.cfg.InsecureSkipVerify}
	if u, ok := params["jenkins_url"].(string); ok && u != "" && strings.TrimRight(u, "/") != b.cfg.URL {
		s.url, s.custom = strings.TrimRight(u, "/"), true
	}
	if v, ok := params["wait_for_completion"].(bool); ok {
		s.wait = v
	}
	if v, ok := params["jenkins_ssl_verify"].(bool); ok {
		s.insecure = !v
	}
	if v, ok := params["get_job_artifacts"].(bool); ok {
		s.artifacts = v
	}
	if n, ok := params["poll_interval_minutes"].(float64); ok && n >= 1 {
		s.poll = time.Duration(n) * time.Minute
	}
	if n, ok := params["max_wait_minutes"].(float64); ok && n >= 0 {
		s.maxWait = time.Duration(n) * time.Minute
	}
	if n, ok := params["jenkins_artifacts_max_size_mb"].(float64); ok && n >= 1 {
		s.artifactsBytes = int64(n) << 20
	}
	return s
}

// buildArgs is the durable job that analyses one build.
type buildArgs struct {
	JobID string `json:"job_id"`
	// Credentials are the request's Jenkins credentials, sealed.
	Credentials string `json:"credentials,omitempty"`
}

// Kind implements river.JobArgs.
func (buildArgs) Kind() string { return "analysis.build" }

// credentials is what buildArgs.Credentials seals.
type credentials struct {
	User     string `json:"u"`
	Password string `json:"p"`
}

func (b *Builds) seal(jobID string, c credentials) (string, error) {
	if c.User == "" && c.Password == "" {
		return "", nil
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plain, []byte(jobID))), nil
}

func (b *Builds) unseal(jobID, sealed string) (credentials, error) {
	var c credentials
	if sealed == "" {
		return c, nil
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return c, errors.New("unreadable")
	}
	plain, err := b.aead.Open(nil, raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():], []byte(jobID))
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(plain, &c)
}

// Queued is the answer to a queued analysis (seeds/001 POST /analyze).
type Queued struct {
	Status    string `json:"status"`
	JobID     string `json:"job_id"`
	Message   string `json:"message"`
	BaseURL   string `json:"base_url"`
	ResultURL string `json:"result_url"`
}

// Start records a build analysis as pending and queues it durably, in one
// transaction. Without a Jenkins (configured or in the request) it fails
// with errs.Invalid.
func (b *Builds) Start(ctx context.Context, req JenkinsRequest) (string, error) {
	return b.start(ctx, req, nil)
}

func (b *Builds) start(ctx context.Context, req JenkinsRequest, inputs []byte) (string, error) {
	if b.queue == nil {
		return "", errs.Unavailablef("build analysis is not available: no job queue")
	}
	st, ok := b.svc.store.(buildStore)
	if !ok {
		return "", errs.Unavailablef("build analysis is not available on this store")
	}
	// The AI settings are checked now, so that a bad provider is the
	// request's 400 and not a failed job later.
	if _, err := b.analyzerFor(req.Params); err != nil {
		return "", err
	}
	set := b.settings(req.Params)
	if set.url == "" && inputs == nil {
		return "", errs.Invalidf("Jenkins is not configured: give jenkins_url or configure the server's Jenkins")
	}
	jobID := uuid.NewString()
	sealed, err := b.seal(jobID, credentials{User: req.User, Password: req.Password})
	if err != nil {
		return "", fmt.Errorf("seal credentials: %w", err)
	}
	in := RecordInput{JobID: jobID, JobName: req.JobName, BuildNumber: req.BuildNumber, RequestParams: req.Params}
	if set.url != "" {
		in.JenkinsURL = set.url + integrations.JobPath(req.JobName) + fmt.Sprintf("/%d/", req.BuildNumber)
	}
	if err := in.validate(); err != nil {
		return "", err
	}
	now := b.svc.now()
	body, err := json.Marshal(map[string]any{"job_id": jobID, "job_name": req.JobName, "build_number": req.BuildNumber, "status": JobPending})
	if err != nil {
		return "", err
	}
	r := StoredResult{JobID: jobID, JobName: req.JobName, BuildNumber: req.BuildNumber, JenkinsURL: in.JenkinsURL,
		Status: JobPending, RequestParams: req.Params, Result: body, ProgressPhase: PhaseQueued,
		ProgressLog: []ProgressEntry{{Phase: PhaseQueued, Timestamp: unixSeconds(now)}}, CreatedAt: now}
	err = st.SaveResultWith(ctx, r, inputs, func(ctx context.Context, tx bun.Tx) error {
		if _, err := b.queue.InsertTx(ctx, tx, buildArgs{JobID: jobID, Credentials: sealed}, nil); err != nil {
			return errs.Wrap(errs.Unavailable, err, "the analysis could not be queued; try again")
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("analysis: start build analysis: %w", err)
	}
	return jobID, nil
}

// reanalyzable are the fields of a re-analyze body that may override the
// stored request: seeds/001's BaseAnalysisRequest.
var reanalyzable = []string{"tests_repo_url", "ai_provider", "ai_model", "enable_jira", "ai_cli_timeout", "jira_url",
	"jira_email", "jira_api_token", "jira_pat", "jira_project_key", "jira_ssl_verify", "jira_max_results", "raw_prompt",
	"github_token", "peer_ai_configs", "peer_analysis_max_rounds", "additional_repos"}

// Reanalyze queues a new analysis of the build a stored job analysed, with
// the stored request parameters and the fields present in overrides on
// top. The failures fetched for the source job are analysed again without
// asking Jenkins (the build may be gone by now); a source job that never
// fetched them fetches anew. A job without a Jenkins request is errs.Invalid.
func (b *Builds) Reanalyze(ctx context.Context, sourceID string, overrides map[string]json.RawMessage) (string, error) {
	if err := CheckAnalysisRequest(overrides); err != nil {
		return "", err
	}
	src, err := b.svc.store.GetResult(ctx, sourceID)
	if err != nil {
		return "", err
	}
	if src.JobName == "" || len(src.RequestParams) == 0 {
		return "", errs.Invalidf("job %s has no stored Jenkins request to re-analyze", sourceID)
	}
	st, ok := b.svc.store.(buildStore)
	if !ok {
		return "", errs.Unavailablef("build analysis is not available on this store")
	}
	params := maps.Clone(src.RequestParams)
	present := map[string]json.RawMessage{}
	for _, k := range reanalyzable {
		if raw, ok := overrides[k]; ok {
			present[k] = raw
		}
	}
	maps.Copy(params, requestParams(present))
	for k, raw := range present {
		if string(raw) == "null" {
			params[k] = nil
		}
	}
	inputs, _, err := st.BuildInputs(ctx, sourceID)
	if err != nil {
		return "", err
	}
	params["reanalyzed_from"] = sourceID
	return b.start(ctx, JenkinsRequest{JobName: src.JobName, BuildNumber: src.BuildNumber, Params: params}, inputs)
}

// buildWorker runs build analyses.
type buildWorker struct {
	river.WorkerDefaults[buildArgs]
	b *Builds
}

func (w *buildWorker) Work(ctx context.Context, job *river.Job[buildArgs]) error {
	wait, err := w.b.Run(ctx, job.Args.JobID, job.Args.Credentials, job.Attempt >= job.MaxAttempts)
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// Timeout bounds one run: fetching and analysing.
func (w *buildWorker) Timeout(*river.Job[buildArgs]) time.Duration { return buildJobTimeout }

// RegisterJobs adds the build analysis worker. A process that works jobs
// calls it once.
func (b *Builds) RegisterJobs(workers *river.Workers, _ *[]*river.PeriodicJob) {
	river.AddWorker(workers, &buildWorker{b: b})
}

// JobGivenUp fails the analysis of a build job that the queue gave up on
// (its worker process stopped on its last attempt). Other kinds are left
// alone.
func (b *Builds) JobGivenUp(ctx context.Context, job *rivertype.JobRow) error {
	if job.Kind != (buildArgs{}).Kind() {
		return nil
	}
	var args buildArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return fmt.Errorf("analysis: discarded build job %d has unreadable arguments: %w", job.ID, err)
	}
	reason := fmt.Sprintf("the analysis failed on each of its %d attempts; giving up", job.Attempt)
	if jobs.GaveUpBecause(job) == jobs.WorkerStopped {
		reason = fmt.Sprintf("the analysis was interrupted %d times (its worker process stopped); giving up", job.Attempt)
	}
	return b.failOnce(ctx, args.JobID, reason)
}

// failOnce fails a job unless it already finished.
func (b *Builds) failOnce(ctx context.Context, jobID, reason string) error {
	r, err := b.svc.store.GetResult(ctx, jobID)
	if errors.Is(err, errs.ErrNotFound) || (err == nil && (r.Status == JobCompleted || r.Status == JobFailed)) {
		return nil
	}
	if err != nil {
		return err
	}
	return b.svc.Fail(ctx, jobID, reason)
}

// Run works one step of a build analysis and is safe to repeat: a finished
// (or deleted) job is left alone; a build still running is waited for by
// returning how long to wait before the next step; else the build's
// failures are fetched (unless stored already), analysed and recorded.
// Jenkins answers that cannot change (401, 403, 404) fail the job; others
// (5xx, timeouts) are returned for the queue to retry, and fail the job on
// the last attempt.
func (b *Builds) Run(ctx context.Context, jobID, sealed string, lastAttempt bool) (time.Duration, error) {
	st, ok := b.svc.store.(buildStore)
	if !ok {
		return 0, errs.Unavailablef("build analysis is not available on this store")
	}
	r, err := b.svc.store.GetResult(ctx, jobID)
	if errors.Is(err, errs.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if r.Status == JobCompleted || r.Status == JobFailed {
		return 0, nil
	}
	raw, found, err := st.BuildInputs(ctx, jobID)
	if err != nil {
		return 0, err
	}
	var in buildInputs
	if found {
		if err := json.Unmarshal(raw, &in); err != nil {
			return 0, b.svc.Fail(ctx, jobID, "the stored build inputs cannot be read")
		}
		if err := b.progress(ctx, r, JobRunning, PhaseAnalyzing); err != nil {
			return 0, err
		}
	} else {
		set := b.settings(r.RequestParams)
		j, err := b.client(jobID, sealed, set)
		if err != nil {
			return 0, b.svc.Fail(ctx, jobID, err.Error())
		}
		build, err := j.Build(ctx, r.JobName, r.BuildNumber)
		if err != nil {
			return 0, b.upstream(ctx, jobID, r, err, lastAttempt)
		}
		if build.Building && set.wait {
			return b.waitMore(ctx, r, set)
		}
		if err := b.progress(ctx, r, JobRunning, PhaseAnalyzing); err != nil {
			return 0, err
		}
		in, err = b.collect(ctx, j, set, r.JobName, r.BuildNumber, build, 0)
		if err != nil {
			return 0, b.upstream(ctx, jobID, r, err, lastAttempt)
		}
		raw, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		if err := st.SaveBuildInputs(ctx, jobID, raw); err != nil {
			return 0, err
		}
	}
	return 0, b.record(ctx, r, in)
}

// client returns the Jenkins client of a job: the request's credentials
// when it brought some, else the server's, which go only to the server's
// Jenkins.
func (b *Builds) client(jobID, sealed string, set buildSettings) (*integrations.Jenkins, error) {
	if set.url == "" {
		return nil, errors.New("Jenkins is not configured")
	}
	c, err := b.unseal(jobID, sealed)
	if err != nil {
		return nil, errors.New("the Jenkins credentials of the request could not be recovered (the server restarted without a secret key); send the request again")
	}
	if c.User == "" && c.Password == "" && !set.custom {
		c = credentials{User: b.cfg.User, Password: b.cfg.Password}
	}
	opts := b.cfg.HTTP
	opts.InsecureSkipVerify = set.insecure
	return integrations.NewJenkins(set.url, c.User, c.Password, opts)
}

// upstream turns a failed Jenkins call into the job's fate: answers that
// will not change fail it, others are retried until the last attempt.
func (b *Builds) upstream(ctx context.Context, jobID string, r StoredResult, err error, lastAttempt bool) error {
	var reason string
	switch integrations.StatusOf(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		reason = fmt.Sprintf("Jenkins refused the credentials (HTTP %d)", integrations.StatusOf(err))
	case http.StatusNotFound:
		reason = fmt.Sprintf("Jenkins has no build %s #%d", r.JobName, r.BuildNumber)
	}
	var ie *integrations.Error
	if reason == "" && errors.As(err, &ie) && errors.Is(err, integrations.ErrTooLarge) {
		reason = ie.Error()
	}
	if reason == "" && !lastAttempt {
		return err
	}
	if reason == "" {
		reason = "Jenkins is unavailable"
		if errors.As(err, &ie) {
			reason = "Jenkins is unavailable: " + ie.Error()
		}
	}
	return b.svc.Fail(ctx, jobID, reason)
}

// waitMore records that the job waits for its build and says when to look
// again: soon after the request, then less and less often up to the poll
// interval (half the time waited so far, at least an eighth of it).
func (b *Builds) waitMore(ctx context.Context, r StoredResult, set buildSettings) (time.Duration, error) {
	waited := b.svc.now().Sub(r.CreatedAt)
	if set.maxWait > 0 && waited >= set.maxWait {
		return 0, b.svc.Fail(ctx, r.JobID, fmt.Sprintf("build %s #%d was still running after %s (max_wait_minutes)", r.JobName, r.BuildNumber, set.maxWait))
	}
	if r.Status != JobWaiting {
		if err := b.progress(ctx, r, JobWaiting, PhaseWaitingForJenkins); err != nil {
			return 0, err
		}
	}
	next := min(set.poll, max(set.poll/8, waited/2))
	if set.maxWait > 0 {
		next = min(next, set.maxWait-waited)
	}
	return max(next, time.Millisecond), nil
}

// progress moves a job to a status and phase.
func (b *Builds) progress(ctx context.Context, r StoredResult, status, phase string) error {
	return b.svc.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		cur, err := st.GetResult(ctx, r.JobID)
		if err != nil {
			return err
		}
		now := b.svc.now()
		cur.Status, cur.ProgressPhase = status, phase
		cur.ProgressLog = append(cur.ProgressLog, ProgressEntry{Phase: phase, Timestamp: unixSeconds(now)})
		if status == JobRunning && cur.StartedAt == nil {
			cur.StartedAt = &now
		}
		body, err := json.Marshal(map[string]any{"job_id": r.JobID, "job_name": r.JobName, "build_number": r.BuildNumber, "status": status})
		if err != nil {
			return err
		}
		cur.Result = body
		return st.SaveResult(ctx, cur)
	})
}

// buildInputs are the failures fetched from one build and its failed
// children: what an analysis (and a re-analysis) works on.
type buildInputs struct {
	JobName     string         `json:"job_name"`
	BuildNumber int            `json:"build_number"`
	URL         string         `json:"url"`
	Result      string         `json:"result"`
	Source      string         `json:"source"` // test_report, artifacts, console or none
	Failures    []inputFailure `json:"failures"`
	Outcomes    []TestOutcome  `json:"outcomes"`
	Children    []buildInputs  `json:"children"`
	Note        string         `json:"note,omitempty"`
}

type inputFailure struct {
	TestName   string `json:"test_name"`
	ClassName  string `json:"class_name,omitempty"`
	Message    string `json:"error_message"`
	StackTrace string `json:"stack_trace"`
	File       string `json:"file,omitempty"`
	Line       string `json:"line,omitempty"`
}

// collect fetches a build's failures: its JUnit report (testReport JSON),
// else its archived XML reports, else the error lines of its console when
// it did not succeed; then its failed children, to MaxChildDepth.
func (b *Builds) collect(ctx context.Context, j *integrations.Jenkins, set buildSettings, jobName string, number int, build integrations.Build, depth int) (buildInputs, error) {
	in := buildInputs{JobName: jobName, BuildNumber: number, URL: cmp.Or(build.URL, j.BuildURL(jobName, number)), Result: build.Result, Source: "none"}
	cases, found, err := j.Cases(ctx, jobName, number)
	if err != nil {
		return in, err
	}
	if found {
		in.Source = "test_report"
		for _, c := range cases {
			switch {
			case c.Failed():
				in.Failures = append(in.Failures, inputFailure{TestName: c.FullName(), ClassName: c.ClassName,
					Message: strings.TrimSpace(c.ErrorDetails), StackTrace: c.ErrorStackTrace})
				in.Outcomes = append(in.Outcomes, TestOutcome{TestName: c.FullName(), Outcome: Failed})
			case c.Status == "PASSED" || c.Status == "FIXED":
				in.Outcomes = append(in.Outcomes, TestOutcome{TestName: c.FullName(), Outcome: Passed})
			}
		}
	} else if set.artifacts {
		if err := b.collectArtifacts(ctx, j, set, &in, build.Artifacts); err != nil {
			return in, err
		}
	}
	if in.Source == "none" && build.Result != "" && build.Result != "SUCCESS" {
		// The log's end, where a failed build says why: a log over the
		// client's body cap is read from there (ConsoleTail), never whole.
		console, _, err := j.ConsoleTail(ctx, jobName, number)
		if err != nil && !errors.Is(err, integrations.ErrTooLarge) && integrations.StatusOf(err) != http.StatusNotFound {
			return in, err
		}
		lines := integrations.ErrorLines(console, maxConsoleErrorLines)
		msg := fmt.Sprintf("build finished %s without a test report", build.Result)
		if len(lines) > 0 {
			msg = lines[0]
		}
		in.Source = "console"
		in.Failures = append(in.Failures, inputFailure{TestName: jobName + " (console)", Message: msg, StackTrace: strings.Join(lines, "\n")})
	}
	for _, sb := range build.SubBuilds {
		if sb.Result != "FAILURE" && sb.Result != "UNSTABLE" {
			continue
		}
		child := buildInputs{JobName: sb.JobName, BuildNumber: sb.BuildNumber, URL: j.BaseURL() + "/" + strings.TrimPrefix(sb.URL, "/"), Result: sb.Result}
		if strings.HasPrefix(sb.URL, "http://") || strings.HasPrefix(sb.URL, "https://") {
			child.URL = sb.URL
		}
		if depth+1 > MaxChildDepth {
			child.Note = fmt.Sprintf("not analysed: failed child jobs are followed %d levels deep", MaxChildDepth)
			in.Children = append(in.Children, child)
			continue
		}
		cb, err := j.Build(ctx, sb.JobName, sb.BuildNumber)
		if integrations.StatusOf(err) == http.StatusNotFound {
			child.Note = "not analysed: Jenkins no longer has this build"
			in.Children = append(in.Children, child)
			continue
		}
		if err != nil {
			return in, err
		}
		child, err = b.collect(ctx, j, set, sb.JobName, sb.BuildNumber, cb, depth+1)
		if err != nil {
			return in, err
		}
		in.Children = append(in.Children, child)
	}
	return in, nil
}

// collectArtifacts reads the failures of the archived XML files that are
// JUnit reports; other XML files and files over the cap are skipped.
func (b *Builds) collectArtifacts(ctx context.Context, j *integrations.Jenkins, set buildSettings, in *buildInputs, artifacts []integrations.Artifact) error {
	n := 0
	var skipped []string
	for _, a := range artifacts {
		if !strings.EqualFold(path.Ext(a.RelativePath), ".xml") {
			continue
		}
		if n == maxReportArtifacts {
			skipped = append(skipped, a.RelativePath+" (too many reports)")
			continue
		}
		n++
		data, err := j.ArtifactBytes(ctx, in.JobName, in.BuildNumber, a.RelativePath, set.artifactsBytes)
		if errors.Is(err, integrations.ErrTooLarge) {
			skipped = append(skipped, fmt.Sprintf("%s (larger than %d MB)", a.RelativePath, set.artifactsBytes>>20))
			continue
		}
		if err != nil {
			return err
		}
		rep, err := ParseJUnit(ctx, bytes.NewReader(data), Limits{MaxBytes: set.artifactsBytes})
		if err != nil || len(rep.Outcomes) == 0 {
			continue // not a JUnit report
		}
		in.Source = "artifacts"
		for _, tc := range rep.Failures {
			in.Failures = append(in.Failures, inputFailure{TestName: tc.TestName, ClassName: tc.ClassName, Message: tc.Message,
				StackTrace: tc.StackTrace, File: tc.File, Line: tc.Line})
		}
		in.Outcomes = append(in.Outcomes, rep.Outcomes...)
	}
	if len(skipped) > 0 {
		in.Note = "artifacts skipped: " + strings.Join(skipped, ", ")
	}
	return nil
}

// AnalysisResult is a completed Jenkins-backed analysis (seeds/001).
type AnalysisResult struct {
	JobID            string             `json:"job_id"`
	JobName          string             `json:"job_name"`
	BuildNumber      int                `json:"build_number"`
	JenkinsURL       *string            `json:"jenkins_url"`
	Status           string             `json:"status"`
	Summary          string             `json:"summary"`
	AIProvider       string             `json:"ai_provider"`
	AIModel          string             `json:"ai_model"`
	Failures         []FailureAnalysis  `json:"failures"`
	ChildJobAnalyses []ChildJobAnalysis `json:"child_job_analyses"`
}

// ChildJobAnalysis is the analysis of a failed child job of a pipeline
// (seeds/001).
type ChildJobAnalysis struct {
	JobName        string             `json:"job_name"`
	BuildNumber    int                `json:"build_number"`
	JenkinsURL     *string            `json:"jenkins_url"`
	Summary        *string            `json:"summary"`
	Failures       []FailureAnalysis  `json:"failures"`
	FailedChildren []ChildJobAnalysis `json:"failed_children"`
	Note           *string            `json:"note"`
}

// record analyses the inputs of a job and stores the result with one
// history row per outcome, children's under their child job.
func (b *Builds) record(ctx context.Context, r StoredResult, in buildInputs) error {
	a, err := b.analyzerFor(r.RequestParams)
	if err != nil {
		// The server's AI settings changed since the job was queued.
		return fmt.Errorf("analysis settings of job %s: %w", r.JobID, err)
	}
	// The build and its children are one analysis: the additional
	// repositories are cloned once for all of them, and removed however
	// the job's run ends.
	ctx, endWorkspace := withWorkspace(ctx)
	defer endWorkspace()
	res := AnalysisResult{JobID: r.JobID, JobName: r.JobName, BuildNumber: r.BuildNumber, Status: JobCompleted,
		ChildJobAnalyses: []ChildJobAnalysis{}}
	if in.URL != "" {
		res.JenkinsURL = &in.URL
	}
	if d, ok := a.(Describer); ok {
		res.AIProvider, res.AIModel = d.Provider(), d.Model()
	}
	now := b.svc.now()
	base := HistoryRow{JobID: r.JobID, JobName: r.JobName, BuildNumber: r.BuildNumber, AnalyzedAt: now}
	var rows []HistoryRow
	counts := map[Classification]int{}
	var walk func(in buildInputs, child bool) ([]FailureAnalysis, []ChildJobAnalysis, map[Classification]int, error)
	walk = func(in buildInputs, child bool) ([]FailureAnalysis, []ChildJobAnalysis, map[Classification]int, error) {
		failures := make([]Failure, len(in.Failures))
		for i, f := range in.Failures {
			failures[i] = Failure{TestName: f.TestName, ClassName: f.ClassName, Message: f.Message, StackTrace: f.StackTrace, File: f.File, Line: f.Line}
		}
		mine := map[Classification]int{}
		analysed := []FailureAnalysis{}
		if len(failures) > 0 {
			ra, err := analyze(ctx, failures, Options{Analyzer: a})
			if err != nil {
				return nil, nil, nil, err
			}
			analysed = ra.Result.Failures
			if b.svc.jiraMatcher != nil && hasProductBug(analysed) {
				_ = b.svc.Progress(ctx, r.JobID, PhaseEnrichingJira)
				b.svc.jiraMatcher(ctx, r.RequestParams, analysed)
			}
		}
		row := base
		if child {
			row.ChildJobName, row.ChildBuildNumber = in.JobName, in.BuildNumber
		}
		for _, f := range analysed {
			fr := row
			fr.TestName, fr.Outcome, fr.ErrorMessage = f.TestName, Failed, f.Error
			fr.ErrorSignature, fr.Classification = f.ErrorSignature, f.Analysis.Classification
			rows = append(rows, fr)
			mine[f.Analysis.Classification]++
		}
		for _, o := range in.Outcomes {
			if o.Outcome == Passed {
				pr := row
				pr.TestName, pr.Outcome = o.TestName, Passed
				rows = append(rows, pr)
			}
		}
		children := []ChildJobAnalysis{}
		for _, c := range in.Children {
			cf, cc, ccounts, err := walk(c, true)
			if err != nil {
				return nil, nil, nil, err
			}
			node := ChildJobAnalysis{JobName: c.JobName, BuildNumber: c.BuildNumber, Failures: cf, FailedChildren: cc}
			if c.URL != "" {
				node.JenkinsURL = &c.URL
			}
			summary := summarise(ccounts)
			node.Summary = &summary
			if c.Note != "" {
				node.Note = &c.Note
			}
			children = append(children, node)
			for k, v := range ccounts {
				mine[k] += v
			}
		}
		return analysed, children, mine, nil
	}
	failures, children, total, err := walk(in, false)
	if err != nil {
		return b.svc.Fail(ctx, r.JobID, failureReason(err))
	}
	res.Failures, res.ChildJobAnalyses = failures, children
	maps.Copy(counts, total)
	res.Summary = summarise(counts)
	if in.Note != "" {
		res.Summary += " (" + in.Note + ")"
	}
	for _, f := range res.Failures {
		if err := checkNames(map[string]string{"error_signature": f.ErrorSignature}); err != nil {
			return b.svc.Fail(ctx, r.JobID, failureReason(err))
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return err
	}
	_ = b.svc.Progress(ctx, r.JobID, PhaseSaving)
	return b.svc.store.Atomically(ctx, func(ctx context.Context, st Store) error {
		cur, err := st.GetResult(ctx, r.JobID)
		if err != nil {
			return err
		}
		if cur.Status == JobCompleted || cur.Status == JobFailed {
			return nil
		}
		cur.Status, cur.Result, cur.CompletedAt = JobCompleted, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), &now
		if in.URL != "" {
			cur.JenkinsURL = in.URL
		}
		if cur.StartedAt == nil {
			cur.StartedAt = &now
		}
		cur.ProgressPhase = PhaseCompleted
		cur.ProgressLog = append(cur.ProgressLog, ProgressEntry{Phase: PhaseCompleted, Timestamp: unixSeconds(now)})
		if err := st.SaveResult(ctx, cur); err != nil {
			return err
		}
		return st.RecordOutcomes(ctx, rows)
	})
}

// Problems lists what is wrong with the configuration, by setting name,
// without touching the network.
func (c JenkinsConfig) Problems() map[string]string {
	out := map[string]string{}
	if c.URL != "" {
		if _, err := integrations.NewJenkins(c.URL, "", "", c.HTTP); err != nil {
			out["jenkins.url"] = "must be an absolute http(s) URL without credentials or query"
		}
	}
	if c.PollInterval < 0 {
		out["jenkins.poll_interval"] = "must not be negative"
	}
	if c.MaxWait < 0 {
		out["jenkins.max_wait"] = "must not be negative"
	}
	return out
}

// analyzerFor builds the analyzer a job's stored request asks for (its
// ai_provider, ai_model, peers...), as /analyze-failures does for its body.
func (b *Builds) analyzerFor(params map[string]any) (Analyzer, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode request parameters: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("decode request parameters: %w", err)
	}
	return b.svc.AnalyzerFor(ParseAIRequest(fields))
}
