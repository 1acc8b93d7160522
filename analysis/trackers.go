package analysis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/errs"
)

// similarLimit is how many possible duplicates a preview shows
// (REFERENCE-NOTES: up to 5).
const similarLimit = 5

// TrackerConfig configures filing failures in GitHub and Jira. The zero
// value files nothing: both trackers are off until enabled, because they
// call out of the server.
type TrackerConfig struct {
	// PublicBaseURL is the server's public address, for links back to
	// results (PUBLIC_BASE_URL). Empty: no absolute links.
	PublicBaseURL string
	// GitHub files issues.
	GitHub GitHubConfig
	// Jira files bugs.
	Jira JiraConfig
	// ReportPortal receives pushed classifications.
	ReportPortal ReportPortalConfig
	// HTTP tunes the clients' transport (timeouts, retries, body cap).
	HTTP integrations.Options
}

// GitHubConfig is the GitHub integration.
type GitHubConfig struct {
	// Enabled turns issue preview and creation on.
	Enabled bool
	// APIURL is the REST API root. Default api.github.com; GitHub
	// Enterprise is https://HOST/api/v3.
	APIURL string
	// Token is the server's token, used when the caller has none.
	Token string
	// RepoURL is the default repository issues are filed in.
	RepoURL string
}

// JiraConfig is the Jira integration.
type JiraConfig struct {
	// Enabled turns bug preview and creation on (with URL set).
	Enabled bool
	// URL is the Jira site, e.g. https://acme.atlassian.net.
	URL string
	// Email with Token is Jira Cloud's Basic authentication; Token alone is
	// a Server/Data Center personal access token.
	Email, Token string
	// ProjectKey is the default project bugs are filed in.
	ProjectKey string
	// InsecureSkipVerify turns TLS verification off (jira_ssl_verify=false).
	InsecureSkipVerify bool
}

// Capabilities is what the trackers can do, as GET /api/capabilities
// reports it.
type Capabilities struct {
	GitHubIssuesEnabled  bool   `json:"github_issues_enabled"`
	JiraIssuesEnabled    bool   `json:"jira_issues_enabled"`
	ServerGitHubToken    bool   `json:"server_github_token"`
	ServerJiraToken      bool   `json:"server_jira_token"`
	ServerJiraEmail      bool   `json:"server_jira_email"`
	ServerJiraProjectKey string `json:"server_jira_project_key"`
	ReportPortal         bool   `json:"reportportal"`
	ReportPortalProject  string `json:"reportportal_project"`
	// AIProviders are the ai_provider values this server can run; empty
	// means offline analysis only.
	AIProviders []string `json:"ai_providers"`
}

// Credentials are a caller's own tracker credentials (from the request or
// their saved tokens); empty ones fall back to the server's.
type Credentials struct {
	GitHubToken string
	JiraEmail   string
	JiraToken   string
}

// IssueTarget addresses a failure and where to file it.
type IssueTarget struct {
	JobID string
	Scope Scope
	// IncludeLinks adds links to the report and the build (previews).
	IncludeLinks bool
	// GitHubRepoURL and JiraProjectKey override the configured defaults.
	GitHubRepoURL  string
	JiraProjectKey string
	// JiraSecurityLevel is a security level's name (creation only).
	JiraSecurityLevel string
}

// SimilarIssue is a possible duplicate shown in a preview.
type SimilarIssue struct {
	Number int    `json:"number"`
	Key    string `json:"key"`
	Title  string `json:"title"`
	URL    string `json:"url"`
	Status string `json:"status"`
}

// Preview is a drafted issue.
type Preview struct {
	Title         string         `json:"title"`
	Body          string         `json:"body"`
	SimilarIssues []SimilarIssue `json:"similar_issues"`
}

// Created is a filed issue.
type Created struct {
	URL       string `json:"url"`
	Key       string `json:"key"`
	Number    int    `json:"number"`
	Title     string `json:"title"`
	CommentID int64  `json:"comment_id"`
}

// TrackerError is a tracker that failed or could not be reached while
// filing (HTTP 502 in seeds/001). Its message carries no secret.
type TrackerError struct {
	Message string
	Err     error
}

func (e *TrackerError) Error() string { return e.Message }

// Unwrap returns the client's error.
func (e *TrackerError) Unwrap() error { return e.Err }

// Trackers drafts and files issues for stored failures.
type Trackers struct {
	svc *Service
	cfg TrackerConfig
	log *slog.Logger
}

// NewTrackers returns the trackers of svc's results.
func NewTrackers(svc *Service, cfg TrackerConfig) *Trackers {
	cfg.PublicBaseURL = strings.TrimRight(cfg.PublicBaseURL, "/")
	return &Trackers{svc: svc, cfg: cfg, log: svc.log}
}

// PublicBaseURL is the configured public address, without a trailing
// slash, or "".
func (t *Trackers) PublicBaseURL() string { return t.cfg.PublicBaseURL }

// Capabilities reports what is configured.
func (t *Trackers) Capabilities() Capabilities {
	return Capabilities{
		GitHubIssuesEnabled:  t.cfg.GitHub.Enabled,
		JiraIssuesEnabled:    t.cfg.Jira.Enabled && t.cfg.Jira.URL != "",
		ServerGitHubToken:    t.cfg.GitHub.Token != "",
		ServerJiraToken:      t.cfg.Jira.Token != "",
		ServerJiraEmail:      t.cfg.Jira.Email != "",
		ServerJiraProjectKey: t.cfg.Jira.ProjectKey,
		AIProviders:          t.svc.AIProviders(),
		ReportPortal:         t.cfg.ReportPortal.configured(),
		ReportPortalProject:  t.cfg.ReportPortal.Project,
	}
}

// failure loads the failure a target addresses from a completed job; the
// stored result already carries any human override, so drafts follow it.
func (t *Trackers) failure(ctx context.Context, target IssueTarget) (StoredResult, FailureAnalysis, error) {
	if err := target.Scope.Validate(); err != nil {
		return StoredResult{}, FailureAnalysis{}, err
	}
	stored, err := completedResult(ctx, t.svc.store, target.JobID)
	if err != nil {
		return StoredResult{}, FailureAnalysis{}, err
	}
	f, ok, err := findFailure(stored.Result, target.Scope)
	if err != nil {
		return StoredResult{}, FailureAnalysis{}, err
	}
	if !ok {
		return StoredResult{}, FailureAnalysis{}, errs.NotFoundf("failure %s not found in job %s", target.Scope.TestName, target.JobID)
	}
	return stored, f, nil
}

// githubRepo resolves the repository of a target: the request's, else the
// configured one.
func (t *Trackers) githubRepo(target IssueTarget) (string, error) {
	raw := target.GitHubRepoURL
	if raw == "" {
		raw = t.cfg.GitHub.RepoURL
	}
	if raw == "" {
		return "", errs.Invalidf("no GitHub repository: give github_repo_url or configure one")
	}
	repo, ok := integrations.ParseGitHubRepo(raw)
	if !ok {
		return "", errs.Invalidf("github_repo_url is not a GitHub repository URL")
	}
	return repo, nil
}

func (t *Trackers) github(token string) (*integrations.GitHub, error) {
	return integrations.NewGitHub(t.cfg.GitHub.APIURL, token, t.cfg.HTTP)
}

// jira returns a client with the caller's credentials when they have a
// token, else the server's.
func (t *Trackers) jira(creds Credentials) (*integrations.Jira, bool, error) {
	email, token := creds.JiraEmail, creds.JiraToken
	if token == "" {
		email, token = t.cfg.Jira.Email, t.cfg.Jira.Token
	}
	opts := t.cfg.HTTP
	opts.InsecureSkipVerify = t.cfg.Jira.InsecureSkipVerify
	j, err := integrations.NewJira(t.cfg.Jira.URL, email, token, opts)
	return j, token != "", err
}

// PreviewGitHub drafts a GitHub issue for a failure, with up to 5 similar
// issues of the repository when a token is at hand (best effort).
func (t *Trackers) PreviewGitHub(ctx context.Context, target IssueTarget, creds Credentials) (Preview, error) {
	if !t.cfg.GitHub.Enabled {
		return Preview{}, errs.Forbiddenf("GitHub issue creation is disabled")
	}
	stored, f, err := t.failure(ctx, target)
	if err != nil {
		return Preview{}, err
	}
	repo, err := t.githubRepo(target)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{Title: issueTitle(f), Body: t.issueBody(stored, f, target.IncludeLinks), SimilarIssues: []SimilarIssue{}}
	token := cmp.Or(creds.GitHubToken, t.cfg.GitHub.Token)
	if token == "" {
		return p, nil
	}
	g, err := t.github(token)
	if err != nil {
		return Preview{}, err
	}
	found, err := g.SearchIssues(ctx, repo, strings.Join(searchKeywords(f), " "), similarLimit)
	if err != nil {
		t.log.WarnContext(ctx, "github duplicate search failed", "error", err.Error())
	}
	for _, is := range found {
		p.SimilarIssues = append(p.SimilarIssues, SimilarIssue{Number: is.Number, Title: is.Title, URL: is.HTMLURL, Status: is.State})
	}
	return p, nil
}

// PreviewJira drafts a Jira bug for a failure, with up to 5 similar bugs
// of the project when credentials and a project are at hand (best effort).
func (t *Trackers) PreviewJira(ctx context.Context, target IssueTarget, creds Credentials) (Preview, error) {
	if !t.cfg.Jira.Enabled {
		return Preview{}, errs.Forbiddenf("Jira issue creation is disabled")
	}
	if t.cfg.Jira.URL == "" {
		return Preview{}, errs.Invalidf("Jira URL is not configured")
	}
	stored, f, err := t.failure(ctx, target)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{Title: issueTitle(f), Body: t.issueBody(stored, f, target.IncludeLinks), SimilarIssues: []SimilarIssue{}}
	project := cmp.Or(target.JiraProjectKey, t.cfg.Jira.ProjectKey)
	j, haveToken, err := t.jira(creds)
	if err != nil {
		return Preview{}, err
	}
	if !haveToken || project == "" {
		return p, nil
	}
	found, err := j.SearchBugs(ctx, project, searchKeywords(f), similarLimit)
	if err != nil {
		t.log.WarnContext(ctx, "jira duplicate search failed", "error", err.Error())
	}
	for _, is := range found {
		p.SimilarIssues = append(p.SimilarIssues, SimilarIssue{Key: is.Key, Title: is.Summary, URL: is.URL, Status: is.Status})
	}
	return p, nil
}

// IssueDraft is the final issue a caller files.
type IssueDraft struct {
	Title, Body string
	// Reporter is the username context; when set, the body says who filed
	// the issue and a comment on the failure links to it.
	Reporter string
}

func (d IssueDraft) validate() error {
	if strings.TrimSpace(d.Title) == "" {
		return errs.InvalidField("title", "must not be blank")
	}
	return nil
}

func (d IssueDraft) body() string {
	if d.Reporter == "" {
		return d.Body
	}
	return d.Body + "\n\n---\nReported by " + d.Reporter + " via bugflow"
}

// CreateGitHub files a GitHub issue for a failure and, with a reporter,
// comments on the failure with the issue's link.
func (t *Trackers) CreateGitHub(ctx context.Context, target IssueTarget, d IssueDraft, creds Credentials) (Created, error) {
	if !t.cfg.GitHub.Enabled {
		return Created{}, errs.Forbiddenf("GitHub issue creation is disabled")
	}
	if err := d.validate(); err != nil {
		return Created{}, err
	}
	if _, _, err := t.failure(ctx, target); err != nil {
		return Created{}, err
	}
	repo, err := t.githubRepo(target)
	if err != nil {
		return Created{}, err
	}
	token := cmp.Or(creds.GitHubToken, t.cfg.GitHub.Token)
	if token == "" {
		return Created{}, errs.Invalidf("no GitHub token: give github_token, save one in /api/user/tokens or configure the server's")
	}
	g, err := t.github(token)
	if err != nil {
		return Created{}, err
	}
	is, err := g.CreateIssue(ctx, repo, d.Title, d.body())
	if err != nil {
		return Created{}, trackerFailure("GitHub", err)
	}
	out := Created{URL: is.HTMLURL, Number: is.Number, Title: d.Title}
	out.CommentID, err = t.backLink(ctx, target, d.Reporter, "GitHub issue", is.HTMLURL)
	return out, err
}

// CreateJira files a Jira bug for a failure and, with a reporter, comments
// on the failure with the bug's link.
func (t *Trackers) CreateJira(ctx context.Context, target IssueTarget, d IssueDraft, creds Credentials) (Created, error) {
	if !t.cfg.Jira.Enabled {
		return Created{}, errs.Forbiddenf("Jira issue creation is disabled")
	}
	if err := d.validate(); err != nil {
		return Created{}, err
	}
	if t.cfg.Jira.URL == "" {
		return Created{}, errs.Invalidf("Jira URL is not configured")
	}
	if _, _, err := t.failure(ctx, target); err != nil {
		return Created{}, err
	}
	project := cmp.Or(target.JiraProjectKey, t.cfg.Jira.ProjectKey)
	if project == "" {
		return Created{}, errs.Invalidf("no Jira project key: give jira_project_key or configure one")
	}
	if !integrations.ValidProjectKey(project) {
		return Created{}, errs.Invalidf("jira_project_key is not a Jira project key")
	}
	j, haveToken, err := t.jira(creds)
	if err != nil {
		return Created{}, err
	}
	if !haveToken {
		return Created{}, errs.Invalidf("no Jira credentials: give jira_token, save them in /api/user/tokens or configure the server's")
	}
	levelID := ""
	if name := strings.TrimSpace(target.JiraSecurityLevel); name != "" {
		levels, err := j.SecurityLevels(ctx, project)
		if err != nil {
			return Created{}, trackerFailure("Jira", err)
		}
		for _, l := range levels {
			if strings.EqualFold(l.Name, name) {
				levelID = l.ID
			}
		}
		if levelID == "" {
			return Created{}, errs.Invalidf("Jira project %s has no security level %q", project, name)
		}
	}
	is, err := j.CreateBug(ctx, project, d.Title, d.body(), levelID)
	if err != nil {
		return Created{}, trackerFailure("Jira", err)
	}
	out := Created{URL: is.URL, Key: is.Key, Title: d.Title}
	out.CommentID, err = t.backLink(ctx, target, d.Reporter, "Jira bug "+is.Key, is.URL)
	return out, err
}

// backLink comments on the failure with the filed issue's address, when
// someone is known to have filed it (seeds/001).
func (t *Trackers) backLink(ctx context.Context, target IssueTarget, reporter, what, url string) (int64, error) {
	if reporter == "" {
		return 0, nil
	}
	return t.svc.AddComment(ctx, target.JobID, target.Scope, fmt.Sprintf("Filed %s: %s", what, url), reporter)
}

// trackerFailure maps a client error to the caller's view: rejected
// credentials are 401, anything else the tracker did is 502.
func trackerFailure(system string, err error) error {
	switch integrations.StatusOf(err) {
	case 401:
		return errs.Unauthorizedf("%s token invalid or expired", system)
	}
	var ie *integrations.Error
	if errors.As(err, &ie) {
		return &TrackerError{Message: ie.Error(), Err: err}
	}
	return &TrackerError{Message: system + " is unreachable", Err: err}
}

// TokenCheck is the answer to a token validation.
type TokenCheck struct {
	Valid    bool   `json:"valid"`
	Username string `json:"username"`
	Message  string `json:"message"`
}

// ValidateToken checks a GitHub token (tracker "github") or Jira
// credentials ("jira"; email selects Cloud) against the configured
// systems. Invalid tokens and unreachable trackers are answers, not errors.
func (t *Trackers) ValidateToken(ctx context.Context, tracker, token, email string) (TokenCheck, error) {
	if strings.TrimSpace(token) == "" {
		return TokenCheck{Message: "token is empty"}, nil
	}
	var name string
	var err error
	switch tracker {
	case "github":
		var g *integrations.GitHub
		if g, err = t.github(token); err == nil {
			name, err = g.Login(ctx)
		}
	case "jira":
		if t.cfg.Jira.URL == "" {
			return TokenCheck{Message: "Jira URL is not configured"}, nil
		}
		var j *integrations.Jira
		if j, _, err = t.jira(Credentials{JiraEmail: email, JiraToken: token}); err == nil {
			name, err = j.Myself(ctx)
		}
	default:
		return TokenCheck{}, errs.InvalidField("token_type", "must be github or jira")
	}
	if err != nil {
		msg := "tracker unreachable or failing"
		switch integrations.StatusOf(err) {
		case 401, 403:
			msg = "token invalid or expired"
		}
		return TokenCheck{Message: msg}, nil
	}
	return TokenCheck{Valid: true, Username: name, Message: "token is valid"}, nil
}

// JiraProjects lists Jira projects visible to the caller's credentials
// matching query. Without caller credentials it returns only the
// configured project (the server's credentials are not lent for
// browsing). Failures are logged and answered with no projects.
func (t *Trackers) JiraProjects(ctx context.Context, creds Credentials, query string) []integrations.JiraProject {
	out := []integrations.JiraProject{}
	if creds.JiraToken == "" || t.cfg.Jira.URL == "" {
		if k := t.cfg.Jira.ProjectKey; k != "" {
			out = append(out, integrations.JiraProject{Key: k, Name: k})
		}
		return out
	}
	j, _, err := t.jira(creds)
	if err == nil {
		var found []integrations.JiraProject
		if found, err = j.Projects(ctx, query); err == nil {
			return found
		}
	}
	t.log.WarnContext(ctx, "jira project listing failed", "error", err.Error())
	return out
}

// JiraSecurityLevels lists a project's security levels with the caller's
// credentials, else the server's. Failures are logged and answered with
// no levels, as seeds/001 says.
func (t *Trackers) JiraSecurityLevels(ctx context.Context, creds Credentials, projectKey string) []integrations.JiraSecurityLevel {
	out := []integrations.JiraSecurityLevel{}
	if t.cfg.Jira.URL == "" {
		return out
	}
	j, haveToken, err := t.jira(creds)
	if err == nil && haveToken {
		var found []integrations.JiraSecurityLevel
		if found, err = j.SecurityLevels(ctx, projectKey); err == nil && found != nil {
			return found
		}
	}
	if err != nil {
		t.log.WarnContext(ctx, "jira security levels failed", "error", err.Error())
	}
	return out
}

// issueTitle drafts a title: the bug report's when the analysis wrote
// one, else the classification, the test and the first line of its error.
func issueTitle(f FailureAnalysis) string {
	if br := f.Analysis.ProductBugReport; br != nil && strings.TrimSpace(br.Title) != "" {
		return truncateRunes(br.Title, 200)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(f.Error), "\n")
	title := f.TestName
	if first != "" {
		title += ": " + first
	}
	if c := f.Analysis.Classification; c != "" {
		title = "[" + string(c) + "] " + title
	}
	return truncateRunes(title, 200)
}

// issueBody drafts a Markdown body from the failure's analysis.
func (t *Trackers) issueBody(stored StoredResult, f FailureAnalysis, links bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Failure\n`%s`\n\n", f.TestName)
	if c := f.Analysis.Classification; c != "" {
		fmt.Fprintf(&b, "## Classification\n%s\n\n", c)
	}
	if f.Error != "" {
		fmt.Fprintf(&b, "## Error\n```\n%s\n```\n\n", truncateRunes(f.Error, 4000))
	}
	if d := strings.TrimSpace(f.Analysis.Details); d != "" {
		fmt.Fprintf(&b, "## Analysis\n%s\n\n", d)
	}
	if fix := f.Analysis.CodeFix; fix != nil && (fix.File != "" || fix.Change != "") {
		fmt.Fprintf(&b, "## Suggested fix\n%s:%s\n%s\n\n", fix.File, fix.Line, fix.Change)
	}
	if br := f.Analysis.ProductBugReport; br != nil {
		if br.Description != "" {
			fmt.Fprintf(&b, "## Description\n%s\n\n", br.Description)
		}
		if br.Evidence != "" {
			fmt.Fprintf(&b, "## Evidence\n%s\n\n", br.Evidence)
		}
	}
	if links && t.cfg.PublicBaseURL != "" {
		fmt.Fprintf(&b, "## Links\n- Analysis report: %s/results/%s\n", t.cfg.PublicBaseURL, stored.JobID)
		if stored.JenkinsURL != "" {
			fmt.Fprintf(&b, "- Jenkins build: %s\n", stored.JenkinsURL)
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// searchKeywords are the words a duplicate search looks for: the bug
// report's keywords when the analysis gave some, else the title's.
func searchKeywords(f FailureAnalysis) []string {
	if br := f.Analysis.ProductBugReport; br != nil && len(br.JiraSearchKeywords) > 0 {
		return br.JiraSearchKeywords
	}
	if br := f.Analysis.ProductBugReport; br != nil && br.Title != "" {
		return []string{br.Title}
	}
	first, _, _ := strings.Cut(strings.TrimSpace(f.Error), "\n")
	return []string{truncateRunes(first, 100)}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// Problems lists what is wrong with the configuration, by setting name,
// without touching the network: URLs that are not absolute http(s) URLs
// (or carry credentials, which belong in the token settings), a Jira
// enabled without its URL, a default repository or project that is not one.
func (c TrackerConfig) Problems() map[string]string {
	out := map[string]string{}
	if c.PublicBaseURL != "" {
		if _, err := integrations.NewGitHub(c.PublicBaseURL, "", c.HTTP); err != nil {
			out["trackers.public_base_url"] = "must be an absolute http(s) URL without credentials or query"
		}
	}
	if c.GitHub.APIURL != "" {
		if _, err := integrations.NewGitHub(c.GitHub.APIURL, "", c.HTTP); err != nil {
			out["trackers.github.api_url"] = "must be an absolute http(s) URL without credentials or query"
		}
	}
	if c.GitHub.RepoURL != "" {
		if _, ok := integrations.ParseGitHubRepo(c.GitHub.RepoURL); !ok {
			out["trackers.github.repo_url"] = "must be a GitHub repository URL or owner/name"
		}
	}
	if c.Jira.URL != "" {
		if _, err := integrations.NewJira(c.Jira.URL, "", "", c.HTTP); err != nil {
			out["trackers.jira.url"] = "must be an absolute http(s) URL without credentials or query"
		}
	} else if c.Jira.Enabled {
		out["trackers.jira.url"] = "is required when Jira issues are enabled"
	}
	if c.Jira.ProjectKey != "" && !integrations.ValidProjectKey(c.Jira.ProjectKey) {
		out["trackers.jira.project_key"] = "must be a Jira project key"
	}
	c.ReportPortal.problems(c.HTTP, out)
	return out
}
