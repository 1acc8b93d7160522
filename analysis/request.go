package analysis

import (
	"encoding/json"
	"strings"

	"github.com/bugflow/bugflow/errs"
)

// AIProviders are the ai_provider values accepted: seeds/001's CLI
// providers and openai (any OpenAI-compatible chat-completions server).
var AIProviders = []string{ProviderClaude, ProviderGemini, ProviderCursor, ProviderOpenAI}

// Peer debate round limits of seeds/001's peer_analysis_max_rounds.
const (
	MinPeerRounds = 1
	MaxPeerRounds = 10
)

// CheckAnalysisRequest checks the BaseAnalysisRequest fields of seeds/001
// in a decoded request body, as its model validation does: every problem is
// a field of the returned Invalid error (HTTP 422). Absent and null fields
// are fine; unknown fields are left alone.
func CheckAnalysisRequest(fields map[string]json.RawMessage) error {
	bad := errs.Invalidf("validation failed")
	present := func(name string) (json.RawMessage, bool) {
		raw, ok := fields[name]
		return raw, ok && string(raw) != "null"
	}
	for _, name := range []string{"tests_repo_url", "ai_model", "jira_url", "jira_email", "jira_api_token", "jira_pat",
		"jira_project_key", "raw_prompt", "github_token"} {
		if raw, ok := present(name); ok {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				bad = bad.WithField(name, "must be a string")
			}
		}
	}
	for _, name := range []string{"enable_jira", "jira_ssl_verify"} {
		if raw, ok := present(name); ok {
			var b bool
			if json.Unmarshal(raw, &b) != nil {
				bad = bad.WithField(name, "must be a boolean")
			}
		}
	}
	for _, name := range []string{"ai_cli_timeout", "jira_max_results"} {
		if raw, ok := present(name); ok {
			var n int
			if json.Unmarshal(raw, &n) != nil || n <= 0 {
				bad = bad.WithField(name, "must be an integer greater than 0")
			}
		}
	}
	if raw, ok := present("ai_provider"); ok {
		if msg := checkProvider(raw); msg != "" {
			bad = bad.WithField("ai_provider", msg)
		}
	}
	if raw, ok := present("peer_analysis_max_rounds"); ok {
		var n int
		if json.Unmarshal(raw, &n) != nil || n < MinPeerRounds || n > MaxPeerRounds {
			bad = bad.WithField("peer_analysis_max_rounds", "must be an integer from 1 to 10")
		}
	}
	if raw, ok := present("peer_ai_configs"); ok {
		var peers []map[string]json.RawMessage
		if json.Unmarshal(raw, &peers) != nil {
			bad = bad.WithField("peer_ai_configs", "must be an array of {ai_provider, ai_model}")
		}
		for _, p := range peers {
			if msg := checkProvider(p["ai_provider"]); msg != "" {
				bad = bad.WithField("peer_ai_configs", "ai_provider "+msg)
			}
			var model string
			if json.Unmarshal(p["ai_model"], &model) != nil || strings.TrimSpace(model) == "" {
				bad = bad.WithField("peer_ai_configs", "ai_model must be a non-blank string")
			}
		}
	}
	if raw, ok := present("additional_repos"); ok {
		var repos []struct {
			Name *string `json:"name"`
			URL  *string `json:"url"`
			Ref  string  `json:"ref"`
		}
		if json.Unmarshal(raw, &repos) != nil {
			bad = bad.WithField("additional_repos", "must be an array of {name, url, ref}")
		}
		checked := make([]AdditionalRepo, 0, len(repos))
		for _, r := range repos {
			if r.Name == nil || r.URL == nil || strings.TrimSpace(*r.URL) == "" {
				bad = bad.WithField("additional_repos", "name and url are required")
				continue
			}
			checked = append(checked, AdditionalRepo{Name: *r.Name, URL: *r.URL, Ref: r.Ref})
		}
		if msg := checkAdditionalRepos(checked); msg != "" {
			bad = bad.WithField("additional_repos", msg)
		}
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	return nil
}

// checkProvider returns why raw is no accepted ai_provider, or "".
func checkProvider(raw json.RawMessage) string {
	var p string
	if json.Unmarshal(raw, &p) != nil {
		return "must be one of claude, gemini, cursor, openai"
	}
	for _, ok := range AIProviders {
		if p == ok {
			return ""
		}
	}
	return "must be one of claude, gemini, cursor, openai"
}
