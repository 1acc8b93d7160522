package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bugflow/bugflow/analysis"
)

// aiOptions are the serve flags of the AI analyzers.
type aiOptions struct {
	provider, model                             string
	claudeCommand, geminiCommand, cursorCommand string
	cliTimeout, openAIURL, openAIKey, peers     string
	peerRounds, additionalRepos                 string
}

// define adds the AI flags to serve.
func (o *aiOptions) define(c *command) {
	c.stringVar(&o.provider, "ai-provider", "PROVIDER", "BUGFLOW_AI_PROVIDER", "", "ai_provider of analyses that name none: claude, gemini, cursor or openai (it must be configured below); empty: the offline analyzer")
	c.stringVar(&o.model, "ai-model", "MODEL", "BUGFLOW_AI_MODEL", "", "ai_model used with --ai-provider when a request names none")
	c.stringVar(&o.claudeCommand, "ai-claude-command", "CMDLINE", "BUGFLOW_AI_CLAUDE_COMMAND", "", "command line run for ai_provider claude (split on spaces, no shell; {model} is replaced by the model), prompt on stdin, answer on stdout, e.g. \"claude -p --model {model}\"")
	c.stringVar(&o.geminiCommand, "ai-gemini-command", "CMDLINE", "BUGFLOW_AI_GEMINI_COMMAND", "", "command line run for ai_provider gemini, e.g. \"gemini -m {model}\"")
	c.stringVar(&o.cursorCommand, "ai-cursor-command", "CMDLINE", "BUGFLOW_AI_CURSOR_COMMAND", "", "command line run for ai_provider cursor, e.g. \"cursor-agent -p --model {model}\"")
	c.stringVar(&o.cliTimeout, "ai-cli-timeout", "DURATION", "BUGFLOW_AI_CLI_TIMEOUT", "10m", "how long one run of a CLI provider may take when the request has no ai_cli_timeout (at most 1h); its process group is killed then")
	c.stringVar(&o.openAIURL, "ai-openai-url", "URL", "BUGFLOW_AI_OPENAI_URL", "", "base URL of an OpenAI-compatible chat-completions API for ai_provider openai, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1")
	c.stringVar(&o.openAIKey, "ai-openai-api-key", "KEY", "BUGFLOW_AI_OPENAI_API_KEY", "", "bearer key of --ai-openai-url (prefer the environment: flags show in process lists); never logged or returned")
	c.stringVar(&o.peers, "ai-peers", "LIST", "BUGFLOW_AI_PEERS", "", "peer_ai_configs of requests that omit them, as provider:model,provider:model; empty: no peer debate")
	c.stringVar(&o.peerRounds, "ai-peer-max-rounds", "N", "BUGFLOW_AI_PEER_MAX_ROUNDS", strconv.Itoa(analysis.DefaultPeerRounds), "peer_analysis_max_rounds of requests that omit it (1-10)")
	c.stringVar(&o.additionalRepos, "ai-additional-repos", "LIST", "BUGFLOW_AI_ADDITIONAL_REPOS", "", "additional_repos of requests that omit them, as name=url[@ref],... (at most 5, http(s):// or file:// URLs); CLI providers get them shallow-cloned into their working directory, openai only sees them named; a request's [] disables them")
}

// settings builds the analysis AI settings from the flags.
func (o aiOptions) settings() (analysis.AISettings, error) {
	s := analysis.AISettings{Provider: o.provider, Model: o.model, OpenAIURL: o.openAIURL, OpenAIKey: o.openAIKey,
		ClaudeCommand: strings.Fields(o.claudeCommand), GeminiCommand: strings.Fields(o.geminiCommand), CursorCommand: strings.Fields(o.cursorCommand)}
	if o.cliTimeout != "" {
		d, err := time.ParseDuration(o.cliTimeout)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("--ai-cli-timeout: %q is not a positive duration such as 10m", o.cliTimeout)
		}
		s.CLITimeout = d
	}
	if o.peerRounds != "" {
		n, err := strconv.Atoi(o.peerRounds)
		if err != nil {
			return s, fmt.Errorf("--ai-peer-max-rounds: %q is not a number from 1 to 10", o.peerRounds)
		}
		s.PeerMaxRounds = n
	}
	repos, err := analysis.ParseAdditionalRepos(o.additionalRepos)
	if err != nil {
		return s, fmt.Errorf("--ai-additional-repos: %w", err)
	}
	s.AdditionalRepos = repos
	for _, entry := range strings.Split(o.peers, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		provider, model, ok := strings.Cut(entry, ":")
		if !ok || provider == "" || model == "" {
			return s, fmt.Errorf("--ai-peers: %q is not provider:model", entry)
		}
		s.Peers = append(s.Peers, analysis.AIConfig{AIProvider: provider, AIModel: model})
	}
	return s, nil
}
