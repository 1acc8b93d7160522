package integrations

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Jira is a client of one Jira site. With an e-mail it speaks Jira Cloud's
// REST API v3 with Basic e-mail:token authentication; without, Jira
// Server/Data Center's v2 with a personal access token as Bearer.
type Jira struct {
	c     *conn
	base  string
	cloud bool
}

// NewJira returns a client of the Jira at baseURL (e.g.
// https://acme.atlassian.net). email selects Cloud (see Jira).
func NewJira(baseURL, email, token string, opts Options) (*Jira, error) {
	cloud := email != ""
	basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + token))
	auth := func(h http.Header) {
		switch {
		case token == "":
		case cloud:
			h.Set("Authorization", "Basic "+basic)
		default:
			h.Set("Authorization", "Bearer "+token)
		}
	}
	secrets := []string{token}
	if token != "" {
		secrets = append(secrets, basic)
	}
	c, err := newConn("jira", baseURL, opts, auth, secrets...)
	if err != nil {
		return nil, err
	}
	return &Jira{c: c, base: c.base.String(), cloud: cloud}, nil
}

// Cloud reports whether the client speaks Jira Cloud's v3.
func (j *Jira) Cloud() bool { return j.cloud }

func (j *Jira) api(path string) string {
	if j.cloud {
		return "/rest/api/3" + path
	}
	return "/rest/api/2" + path
}

// BrowseURL is the web address of an issue.
func (j *Jira) BrowseURL(key string) string { return j.base + "/browse/" + key }

// Myself returns the display name of the credentials' user: the check that
// they are valid.
func (j *Jira) Myself(ctx context.Context) (string, error) {
	var me struct {
		DisplayName string `json:"displayName"`
	}
	err := j.c.do(ctx, call{method: http.MethodGet, path: j.api("/myself"), out: &me})
	return me.DisplayName, err
}

// JiraIssue is an issue as bugflow uses it.
type JiraIssue struct {
	Key      string
	Summary  string
	Status   string
	Priority string
	URL      string
}

type jiraIssueJSON struct {
	Key    string `json:"key"`
	Fields struct {
		Summary string `json:"summary"`
		Status  *struct {
			Name string `json:"name"`
		} `json:"status"`
		Priority *struct {
			Name string `json:"name"`
		} `json:"priority"`
	} `json:"fields"`
}

// BugJQL is REFERENCE-NOTES' duplicate search: project = K AND issuetype =
// Bug AND (summary ~ "kw1" OR ...) ORDER BY updated DESC, with every
// keyword stripped of characters JQL or Lucene would read as syntax.
// It returns "" when no keyword is left or the key is no project key.
func BugJQL(projectKey string, keywords []string) string {
	if !ValidProjectKey(projectKey) {
		return ""
	}
	var terms []string
	for _, kw := range keywords {
		if kw = searchText(kw); kw != "" {
			terms = append(terms, fmt.Sprintf("summary ~ %q", kw))
		}
	}
	if len(terms) == 0 {
		return ""
	}
	return fmt.Sprintf("project = %s AND issuetype = Bug AND (%s) ORDER BY updated DESC", projectKey, strings.Join(terms, " OR "))
}

// ValidProjectKey reports whether k looks like a Jira project key
// (letters, digits, underscore; starting with a letter).
func ValidProjectKey(k string) bool {
	if k == "" || len(k) > 100 {
		return false
	}
	for i, r := range k {
		letter := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '_')) {
			return false
		}
	}
	return true
}

// SearchBugs runs BugJQL and returns up to limit issues.
func (j *Jira) SearchBugs(ctx context.Context, projectKey string, keywords []string, limit int) ([]JiraIssue, error) {
	jql := BugJQL(projectKey, keywords)
	if jql == "" {
		return nil, nil
	}
	path := j.api("/search")
	if j.cloud {
		// Cloud retired /search for /search/jql.
		path = j.api("/search/jql")
	}
	var out struct {
		Issues []jiraIssueJSON `json:"issues"`
	}
	err := j.c.do(ctx, call{method: http.MethodPost, path: path, out: &out, body: map[string]any{
		"jql": jql, "maxResults": limit, "fields": []string{"summary", "status", "priority"},
	}})
	issues := make([]JiraIssue, 0, len(out.Issues))
	for _, is := range out.Issues {
		if len(issues) == limit {
			break
		}
		ji := JiraIssue{Key: is.Key, Summary: is.Fields.Summary, URL: j.BrowseURL(is.Key)}
		if is.Fields.Status != nil {
			ji.Status = is.Fields.Status.Name
		}
		if is.Fields.Priority != nil {
			ji.Priority = is.Fields.Priority.Name
		}
		issues = append(issues, ji)
	}
	return issues, err
}

// CreateBug files a Bug in the project. securityLevelID may be "". On
// Cloud the description is sent as Atlassian Document Format paragraphs.
func (j *Jira) CreateBug(ctx context.Context, projectKey, summary, description, securityLevelID string) (JiraIssue, error) {
	fields := map[string]any{
		"project":   map[string]string{"key": projectKey},
		"summary":   summary,
		"issuetype": map[string]string{"name": "Bug"},
	}
	if j.cloud {
		fields["description"] = adfDocument(description)
	} else {
		fields["description"] = description
	}
	if securityLevelID != "" {
		fields["security"] = map[string]string{"id": securityLevelID}
	}
	var out struct {
		Key string `json:"key"`
	}
	err := j.c.do(ctx, call{method: http.MethodPost, path: j.api("/issue"), create: true, body: map[string]any{"fields": fields}, out: &out})
	if err != nil {
		return JiraIssue{}, err
	}
	return JiraIssue{Key: out.Key, Summary: summary, URL: j.BrowseURL(out.Key)}, nil
}

// adfDocument wraps plain text in an ADF document, one paragraph per
// blank-line separated block.
func adfDocument(text string) map[string]any {
	content := []any{}
	for _, block := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(block) == "" {
			continue
		}
		content = append(content, map[string]any{
			"type":    "paragraph",
			"content": []any{map[string]any{"type": "text", "text": block}},
		})
	}
	return map[string]any{"type": "doc", "version": 1, "content": content}
}

// JiraProject is a project's key and name.
type JiraProject struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Projects lists the projects visible to the credentials whose key or name
// contains query (all when query is ""), at most 50.
func (j *Jira) Projects(ctx context.Context, query string) ([]JiraProject, error) {
	var all []JiraProject
	if j.cloud {
		var page struct {
			Values []JiraProject `json:"values"`
		}
		err := j.c.do(ctx, call{method: http.MethodGet, path: j.api("/project/search"),
			query: url.Values{"query": {query}, "maxResults": {"50"}}, out: &page})
		if err != nil {
			return nil, err
		}
		all = page.Values
	} else if err := j.c.do(ctx, call{method: http.MethodGet, path: j.api("/project"), out: &all}); err != nil {
		return nil, err
	}
	q := strings.ToLower(query)
	out := []JiraProject{}
	for _, p := range all {
		if len(out) == 50 {
			break
		}
		if q == "" || strings.Contains(strings.ToLower(p.Key), q) || strings.Contains(strings.ToLower(p.Name), q) {
			out = append(out, p)
		}
	}
	return out, nil
}

// JiraSecurityLevel is one issue security level of a project.
type JiraSecurityLevel struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// SecurityLevels lists the security levels the credentials may set in the
// project.
func (j *Jira) SecurityLevels(ctx context.Context, projectKey string) ([]JiraSecurityLevel, error) {
	if !ValidProjectKey(projectKey) {
		return nil, fmt.Errorf("jira: %q is not a project key", projectKey)
	}
	var out struct {
		Levels []JiraSecurityLevel `json:"levels"`
	}
	err := j.c.do(ctx, call{method: http.MethodGet, path: j.api("/project/" + projectKey + "/securitylevel"), out: &out})
	return out.Levels, err
}

// IssueStatus returns the name of an issue's status ("Open", "Done").
func (j *Jira) IssueStatus(ctx context.Context, key string) (string, error) {
	var is jiraIssueJSON
	err := j.c.do(ctx, call{method: http.MethodGet, path: j.api("/issue/" + url.PathEscape(key)), query: url.Values{"fields": {"status"}}, out: &is})
	if err != nil || is.Fields.Status == nil {
		return "", err
	}
	return is.Fields.Status.Name, nil
}
