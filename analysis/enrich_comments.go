package analysis

import (
	"cmp"
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// CommentLink is a tracker item a comment mentions, with its live status
// (seeds/001 enrich-comments).
type CommentLink struct {
	// Type is github_pr, github_issue or jira.
	Type   string `json:"type"`
	Key    string `json:"key"`
	Status string `json:"status"`
}

// maxEnrichLookups bounds the tracker calls of one enrichment.
const maxEnrichLookups = 50

var (
	githubItemURL = regexp.MustCompile(`https?://([^/\s]+)/([\w.-]+)/([\w.-]+)/(issues|pull)/(\d+)`)
	jiraKey       = regexp.MustCompile(`\b([A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,9})\b`)
)

// EnrichComments resolves the GitHub issues and pull requests (by URL) and
// Jira issues (by key) that a job's comments mention to their current
// status, keyed by comment ID. Only enabled trackers are asked, each item
// once, at most 50 items; an item a tracker cannot resolve (unknown,
// forbidden, unreachable) is left out rather than failing the call.
func (t *Trackers) EnrichComments(ctx context.Context, jobID string, creds Credentials) (map[string][]CommentLink, error) {
	if err := checkNames(map[string]string{"job_id": jobID}); err != nil {
		return nil, err
	}
	comments, _, err := t.svc.Comments(ctx, jobID)
	if err != nil {
		return nil, err
	}
	out := map[string][]CommentLink{}
	resolved := map[string]*CommentLink{} // by type and key; nil: unresolvable
	lookups := 0
	resolve := func(kind, key string, ask func() (CommentLink, bool)) *CommentLink {
		id := kind + " " + key
		if l, ok := resolved[id]; ok {
			return l
		}
		if lookups == maxEnrichLookups {
			return nil
		}
		lookups++
		l, ok := ask()
		if !ok {
			resolved[id] = nil
			return nil
		}
		resolved[id] = &l
		return &l
	}
	ghHosts := t.githubHosts()
	jira, haveJira, err := t.jira(creds)
	haveJira = haveJira && err == nil && t.cfg.Jira.Enabled && t.cfg.Jira.URL != ""
	for _, c := range comments {
		var links []CommentLink
		seen := map[string]bool{}
		for _, m := range githubItemURL.FindAllStringSubmatch(c.Comment, -1) {
			if !t.cfg.GitHub.Enabled || !ghHosts[strings.ToLower(m[1])] {
				continue
			}
			repo, number := m[2]+"/"+m[3], m[5]
			key := repo + "#" + number
			if seen["gh "+key] {
				continue
			}
			seen["gh "+key] = true
			l := resolve("github", key, func() (CommentLink, bool) {
				n, _ := strconv.Atoi(number)
				g, err := t.github(cmp.Or(creds.GitHubToken, t.cfg.GitHub.Token))
				if err != nil {
					return CommentLink{}, false
				}
				status, pull, err := g.IssueStatus(ctx, repo, n)
				if err != nil {
					t.log.WarnContext(ctx, "github status lookup failed", "error", err.Error())
					return CommentLink{}, false
				}
				kind := "github_issue"
				if pull {
					kind = "github_pr"
				}
				return CommentLink{Type: kind, Key: key, Status: status}, true
			})
			if l != nil {
				links = append(links, *l)
			}
		}
		if haveJira {
			for _, key := range jiraKey.FindAllString(c.Comment, -1) {
				if seen["jira "+key] {
					continue
				}
				seen["jira "+key] = true
				l := resolve("jira", key, func() (CommentLink, bool) {
					status, err := jira.IssueStatus(ctx, key)
					if err != nil || status == "" {
						if err != nil {
							t.log.WarnContext(ctx, "jira status lookup failed", "error", err.Error())
						}
						return CommentLink{}, false
					}
					return CommentLink{Type: "jira", Key: key, Status: status}, true
				})
				if l != nil {
					links = append(links, *l)
				}
			}
		}
		if len(links) > 0 {
			out[strconv.FormatInt(c.ID, 10)] = links
		}
	}
	return out, nil
}

// githubHosts are the hosts whose issue and pull request URLs are GitHub's:
// github.com, and the host of a GitHub Enterprise API root.
func (t *Trackers) githubHosts() map[string]bool {
	hosts := map[string]bool{"github.com": true, "www.github.com": true}
	if u, err := url.Parse(t.cfg.GitHub.APIURL); err == nil && u.Host != "" && !strings.EqualFold(u.Host, "api.github.com") {
		hosts[strings.ToLower(u.Host)] = true
	}
	return hosts
}
