package server

import (
	"net/http"
	"strings"

	"github.com/bugflow/bugflow/analysis"
	"github.com/bugflow/bugflow/errs"
)

// trackerCreds are the tracker credentials a request carries in its body.
type trackerCreds struct {
	GitHubToken string `json:"github_token"`
	JiraToken   string `json:"jira_token"`
	JiraEmail   string `json:"jira_email"`
}

// credentials resolves whose tracker credentials a request acts with: the
// body's when it has a token, else the saved tokens of the signed-in user
// (/api/user/tokens); the trackers fall back to the server's. A guest's
// bare jji_username cookie proves nothing, so it never unlocks the saved
// tokens of that name: anyone could set it.
func (s *Server) credentials(r *http.Request, body trackerCreds) (analysis.Credentials, error) {
	c := analysis.Credentials{GitHubToken: body.GitHubToken, JiraEmail: body.JiraEmail, JiraToken: body.JiraToken}
	id := identityFrom(r.Context())
	if id == nil || id.User.Username == "" || (c.GitHubToken != "" && c.JiraToken != "") {
		return c, nil
	}
	saved, err := s.engine.Auth.UserTokens(r.Context(), id.User.Username)
	if err != nil {
		return c, err
	}
	if c.GitHubToken == "" {
		c.GitHubToken = saved.GitHubToken
	}
	if c.JiraToken == "" {
		c.JiraEmail, c.JiraToken = saved.JiraEmail, saved.JiraToken
	}
	return c, nil
}

// issueRequest is seeds/001's PreviewIssueRequest and CreateIssueRequest
// together; preview ignores title and body.
type issueRequest struct {
	TestName          *string `json:"test_name"`
	ChildJobName      string  `json:"child_job_name"`
	ChildBuildNumber  int     `json:"child_build_number"`
	IncludeLinks      bool    `json:"include_links"`
	AIProvider        string  `json:"ai_provider"`
	AIModel           string  `json:"ai_model"`
	JiraProjectKey    string  `json:"jira_project_key"`
	JiraSecurityLevel string  `json:"jira_security_level"`
	GitHubRepoURL     string  `json:"github_repo_url"`
	Title             *string `json:"title"`
	Body              *string `json:"body"`
	trackerCreds
}

// decodeIssue reads and checks an issue request; create also needs title
// and body (a blank title is model validation, 422).
func (s *Server) decodeIssue(r *http.Request, create bool) (issueRequest, analysis.IssueTarget, analysis.Credentials, error) {
	var body issueRequest
	if err := decodeJSON(r, &body); err != nil {
		return body, analysis.IssueTarget{}, analysis.Credentials{}, err
	}
	invalid := errs.Invalidf("validation failed")
	if body.TestName == nil || strings.TrimSpace(*body.TestName) == "" {
		invalid = invalid.WithField("test_name", "field required")
	}
	if body.ChildBuildNumber < 0 {
		invalid = invalid.WithField("child_build_number", "must be 0 or more")
	}
	if create {
		if body.Title == nil || strings.TrimSpace(*body.Title) == "" {
			invalid = invalid.WithField("title", "must not be blank")
		}
		if body.Body == nil {
			invalid = invalid.WithField("body", "field required")
		}
	}
	if len(invalid.Fields) > 0 {
		return body, analysis.IssueTarget{}, analysis.Credentials{}, invalid
	}
	target := analysis.IssueTarget{
		JobID: jobID(r), IncludeLinks: body.IncludeLinks,
		Scope:         analysis.Scope{TestName: *body.TestName, ChildJobName: body.ChildJobName, ChildBuildNumber: body.ChildBuildNumber},
		GitHubRepoURL: body.GitHubRepoURL, JiraProjectKey: body.JiraProjectKey, JiraSecurityLevel: body.JiraSecurityLevel,
	}
	creds, err := s.credentials(r, body.trackerCreds)
	return body, target, creds, err
}

func (s *Server) previewGitHubIssue(w http.ResponseWriter, r *http.Request) error {
	_, target, creds, err := s.decodeIssue(r, false)
	if err != nil {
		return err
	}
	p, err := s.engine.Trackers.PreviewGitHub(r.Context(), target, creds)
	if err != nil {
		return plainInvalid(err)
	}
	return reply(w, r, http.StatusOK, p)
}

func (s *Server) previewJiraBug(w http.ResponseWriter, r *http.Request) error {
	_, target, creds, err := s.decodeIssue(r, false)
	if err != nil {
		return err
	}
	p, err := s.engine.Trackers.PreviewJira(r.Context(), target, creds)
	if err != nil {
		return plainInvalid(err)
	}
	return reply(w, r, http.StatusOK, p)
}

// issueDraft is the final issue of a create request, attributed to the
// username context when there is one.
func (s *Server) issueDraft(r *http.Request, body issueRequest) (analysis.IssueDraft, error) {
	user, err := s.usernameContext(r)
	if err != nil {
		return analysis.IssueDraft{}, err
	}
	return analysis.IssueDraft{Title: *body.Title, Body: *body.Body, Reporter: user}, nil
}

func (s *Server) createGitHubIssue(w http.ResponseWriter, r *http.Request) error {
	body, target, creds, err := s.decodeIssue(r, true)
	if err != nil {
		return err
	}
	d, err := s.issueDraft(r, body)
	if err != nil {
		return err
	}
	c, err := s.engine.Trackers.CreateGitHub(r.Context(), target, d, creds)
	if err != nil {
		return plainInvalid(err)
	}
	return reply(w, r, http.StatusCreated, c)
}

func (s *Server) createJiraBug(w http.ResponseWriter, r *http.Request) error {
	body, target, creds, err := s.decodeIssue(r, true)
	if err != nil {
		return err
	}
	d, err := s.issueDraft(r, body)
	if err != nil {
		return err
	}
	c, err := s.engine.Trackers.CreateJira(r.Context(), target, d, creds)
	if err != nil {
		return plainInvalid(err)
	}
	return reply(w, r, http.StatusCreated, c)
}

func (s *Server) jiraProjects(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		trackerCreds
		Query string `json:"query"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	creds, err := s.credentials(r, body.trackerCreds)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, s.engine.Trackers.JiraProjects(r.Context(), creds, body.Query))
}

func (s *Server) jiraSecurityLevels(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		trackerCreds
		ProjectKey *string `json:"project_key"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.ProjectKey == nil || strings.TrimSpace(*body.ProjectKey) == "" {
		return errs.InvalidField("project_key", "field required")
	}
	creds, err := s.credentials(r, body.trackerCreds)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, s.engine.Trackers.JiraSecurityLevels(r.Context(), creds, *body.ProjectKey))
}

func (s *Server) validateToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		TokenType *string `json:"token_type"`
		Token     *string `json:"token"`
		Email     string  `json:"email"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	invalid := errs.Invalidf("validation failed")
	if body.TokenType == nil || (*body.TokenType != "github" && *body.TokenType != "jira") {
		invalid = invalid.WithField("token_type", "must be github or jira")
	}
	if body.Token == nil {
		invalid = invalid.WithField("token", "field required")
	}
	if len(invalid.Fields) > 0 {
		return invalid
	}
	check, err := s.engine.Trackers.ValidateToken(r.Context(), *body.TokenType, *body.Token, body.Email)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, check)
}
