package integrations

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultGitHubAPI is api.github.com; GitHub Enterprise uses
// https://HOST/api/v3.
const DefaultGitHubAPI = "https://api.github.com"

// GitHub is a client of GitHub's REST API authenticated by one token.
type GitHub struct {
	c *conn
}

// NewGitHub returns a client of the API at apiURL ("" for api.github.com)
// acting with token.
func NewGitHub(apiURL, token string, opts Options) (*GitHub, error) {
	if apiURL == "" {
		apiURL = DefaultGitHubAPI
	}
	c, err := newConn("github", apiURL, opts, func(h http.Header) {
		h.Set("Accept", "application/vnd.github+json")
		h.Set("X-GitHub-Api-Version", "2022-11-28")
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
	}, token)
	if err != nil {
		return nil, err
	}
	return &GitHub{c: c}, nil
}

// GitHubIssue is an issue as bugflow uses it.
type GitHubIssue struct {
	Number  int    `json:"number"`
	Title   string `json:"title"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
}

// Login returns the login of the token's user (GET /user): the check that
// a token is valid.
func (g *GitHub) Login(ctx context.Context) (string, error) {
	var u struct {
		Login string `json:"login"`
	}
	err := g.c.do(ctx, call{method: http.MethodGet, path: "/user", out: &u})
	return u.Login, err
}

// SearchIssues finds up to limit issues of repo ("owner/name") matching
// keywords, with the query REFERENCE-NOTES gives: "<keywords> repo:o/r
// is:issue".
func (g *GitHub) SearchIssues(ctx context.Context, repo, keywords string, limit int) ([]GitHubIssue, error) {
	q := strings.TrimSpace(searchText(keywords) + " repo:" + repo + " is:issue")
	var out struct {
		Items []GitHubIssue `json:"items"`
	}
	err := g.c.do(ctx, call{method: http.MethodGet, path: "/search/issues",
		query: url.Values{"q": {q}, "per_page": {fmt.Sprint(limit)}}, out: &out})
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
	}
	return out.Items, err
}

// CreateIssue files an issue in repo ("owner/name").
func (g *GitHub) CreateIssue(ctx context.Context, repo, title, body string) (GitHubIssue, error) {
	var is GitHubIssue
	err := g.c.do(ctx, call{method: http.MethodPost, path: "/repos/" + repo + "/issues", create: true,
		body: map[string]string{"title": title, "body": body}, out: &is})
	return is, err
}

// ParseGitHubRepo turns a repository URL (https://github.com/o/r,
// with or without .git, or git@github.com:o/r.git) or "o/r" into "o/r".
func ParseGitHubRepo(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
	if rest, ok := strings.CutPrefix(s, "git@"); ok {
		_, path, found := strings.Cut(rest, ":")
		if !found {
			return "", false
		}
		s = path
	} else if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", false
		}
		s = strings.Trim(u.Path, "/")
	}
	parts := strings.Split(s, "/")
	if len(parts) != 2 || !repoPart(parts[0]) || !repoPart(parts[1]) {
		return "", false
	}
	return parts[0] + "/" + parts[1], true
}

// repoPart reports whether s is a plausible owner or repository name.
func repoPart(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// searchText keeps letters, digits and spaces of free text so that it
// cannot change a search query's meaning (quotes, qualifiers, operators).
func searchText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r > 127 && r != '\u00a0':
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// IssueStatus returns the state of an issue or pull request of repo
// ("owner/name"): "open", "closed", or "merged" for a merged pull request;
// pull reports whether it is a pull request.
func (g *GitHub) IssueStatus(ctx context.Context, repo string, number int) (status string, pull bool, err error) {
	owner, name, _ := strings.Cut(repo, "/")
	var is struct {
		State       string `json:"state"`
		PullRequest *struct {
			MergedAt *string `json:"merged_at"`
		} `json:"pull_request"`
	}
	err = g.c.do(ctx, call{method: http.MethodGet, path: "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name) + "/issues/" + strconv.Itoa(number), out: &is})
	if err != nil {
		return "", false, err
	}
	if is.PullRequest != nil && is.PullRequest.MergedAt != nil {
		return "merged", true, nil
	}
	return is.State, is.PullRequest != nil, nil
}
