package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/errs"
)

// The ai_provider values. claude, gemini and cursor are the document's CLI
// providers; openai is any OpenAI-compatible chat-completions server.
const (
	ProviderClaude = "claude"
	ProviderGemini = "gemini"
	ProviderCursor = "cursor"
	ProviderOpenAI = "openai"
)

// AISettings configures the AI analyzers of a server. The zero value
// configures none: every analysis is offline. Nothing of a request can
// choose a command or a URL; a request picks a configured provider and a
// model.
type AISettings struct {
	// Provider is the ai_provider used when a request names none; "" means
	// the offline analyzer.
	Provider string
	// Model is the ai_model used with Provider when a request names no
	// model.
	Model string
	// ClaudeCommand, GeminiCommand and CursorCommand are the command lines
	// (program and arguments, no shell) run for the CLI providers, with the
	// prompt on stdin and the answer read from stdout. An argument
	// "{model}" is replaced by the model; BUGFLOW_AI_MODEL carries it too.
	// Empty: the provider is not configured.
	ClaudeCommand []string
	GeminiCommand []string
	CursorCommand []string
	// CLITimeout bounds one run of a CLI provider when the request has no
	// ai_cli_timeout. Default DefaultCLITimeout; at most MaxCLITimeout.
	CLITimeout time.Duration
	// OpenAIURL is the base URL of an OpenAI-compatible chat-completions
	// API (e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1);
	// empty: the openai provider is not configured.
	OpenAIURL string
	// OpenAIKey is sent as the bearer token (optional for local servers).
	// It never appears in a log, an error, a result or request_params.
	OpenAIKey string
	// HTTP tunes the chat-completions client (timeouts, retries on 429/5xx,
	// size cap). Its per-attempt timeout defaults to 5 minutes here: models
	// are slow.
	HTTP integrations.Options
	// Peers are the peer_ai_configs of requests that omit them; empty: no
	// peer debate unless the request asks.
	Peers []AIConfig
	// PeerMaxRounds is the peer_analysis_max_rounds of requests that omit
	// it. Default DefaultPeerRounds.
	PeerMaxRounds int
	// AdditionalRepos are the additional_repos of requests that omit the
	// field (a request's [] disables them). CLI providers get each one
	// shallow-cloned into their working directory, once per analysis and
	// removed when it ends; openai, which cannot
	// read files, only sees them named in the prompt. At most
	// MaxAdditionalRepos, http(s):// or file:// URLs only.
	AdditionalRepos []AdditionalRepo
}

// DefaultAIHTTPTimeout is the per-attempt timeout of the chat-completions
// client when AISettings.HTTP does not set one.
const DefaultAIHTTPTimeout = 5 * time.Minute

// Configured lists the providers this configuration can run, in the order
// claude, gemini, cursor, openai.
func (c AISettings) Configured() []string {
	out := []string{}
	for _, p := range AIProviders {
		if c.configured(p) {
			out = append(out, p)
		}
	}
	return out
}

func (c AISettings) configured(provider string) bool {
	switch provider {
	case ProviderClaude:
		return len(c.ClaudeCommand) > 0
	case ProviderGemini:
		return len(c.GeminiCommand) > 0
	case ProviderCursor:
		return len(c.CursorCommand) > 0
	case ProviderOpenAI:
		return c.OpenAIURL != ""
	}
	return false
}

func (c AISettings) command(provider string) []string {
	switch provider {
	case ProviderClaude:
		return c.ClaudeCommand
	case ProviderGemini:
		return c.GeminiCommand
	case ProviderCursor:
		return c.CursorCommand
	}
	return nil
}

// modelName is what an ai_model may look like. It is passed as a command
// argument, so it must not start with "-" (it would be read as a flag).
var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$`)

// Problems reports what is wrong with the settings, by field name, for
// the engine's configuration check.
func (c AISettings) Problems() map[string]string {
	p := map[string]string{}
	if c.Provider != "" {
		if !slices.Contains(AIProviders, c.Provider) {
			p["ai.provider"] = "must be one of claude, gemini, cursor, openai"
		} else if !c.configured(c.Provider) {
			p["ai.provider"] = fmt.Sprintf("%s has no command or URL configured", c.Provider)
		}
	}
	if c.Model != "" && !modelName.MatchString(c.Model) {
		p["ai.model"] = "must be letters, digits and . _ : / @ + -, not starting with -"
	}
	if c.CLITimeout < 0 || c.CLITimeout > MaxCLITimeout {
		p["ai.cli_timeout"] = fmt.Sprintf("must be between 0 (default %s) and %s", DefaultCLITimeout, MaxCLITimeout)
	}
	if c.OpenAIURL != "" {
		if _, err := integrations.NewOpenAI(c.OpenAIURL, "", integrations.Options{}); err != nil {
			p["ai.openai_url"] = "must be an absolute http(s) URL without credentials or query"
		}
	}
	for _, peer := range c.Peers {
		if !c.configured(peer.AIProvider) || !modelName.MatchString(peer.AIModel) {
			p["ai.peers"] = "each peer needs a configured provider and a model"
		}
	}
	if msg := checkAdditionalRepos(c.AdditionalRepos); msg != "" {
		p["ai.additional_repos"] = msg
	}
	if c.PeerMaxRounds != 0 && (c.PeerMaxRounds < MinPeerRounds || c.PeerMaxRounds > MaxPeerRounds) {
		p["ai.peer_max_rounds"] = "must be from 1 to 10"
	}
	return p
}

// AIRequest is what one analysis request says about its analyzers (the
// BaseAnalysisRequest fields of seeds/001).
type AIRequest struct {
	Provider string
	Model    string
	// CLITimeout is ai_cli_timeout; 0 means the configuration's.
	CLITimeout time.Duration
	PromptContext
	// PromptContext.AdditionalRepos is additional_repos: nil (absent or
	// null) inherits the configuration's, empty disables them.
	//
	// Peers is peer_ai_configs; nil (absent) inherits the configuration's,
	// empty disables the debate.
	Peers []AIConfig
	// MaxRounds is peer_analysis_max_rounds; 0 means the configuration's.
	MaxRounds int
}

// ParseAIRequest reads the AI fields of a request body that
// CheckAnalysisRequest accepted.
func ParseAIRequest(fields map[string]json.RawMessage) AIRequest {
	var r AIRequest
	str := func(name string) string {
		var s string
		_ = json.Unmarshal(fields[name], &s)
		return s
	}
	r.Provider, r.Model, r.RawPrompt = str("ai_provider"), str("ai_model"), str("raw_prompt")
	var minutes int
	if json.Unmarshal(fields["ai_cli_timeout"], &minutes) == nil && minutes > 0 {
		r.CLITimeout = time.Duration(minutes) * time.Minute
	}
	_ = json.Unmarshal(fields["peer_analysis_max_rounds"], &r.MaxRounds)
	if raw := fields["peer_ai_configs"]; len(raw) > 0 && string(raw) != "null" {
		r.Peers = []AIConfig{}
		_ = json.Unmarshal(raw, &r.Peers)
	}
	if raw := fields["additional_repos"]; len(raw) > 0 && string(raw) != "null" {
		r.AdditionalRepos = []AdditionalRepo{}
		_ = json.Unmarshal(raw, &r.AdditionalRepos)
	}
	return r
}

// AnalyzerFor builds the analyzer of one request: the precedence of
// human labels, learned examples and rules over the AI analyzer the
// request (or the configuration) names, with its peer debate. A provider
// or model this server cannot run is errs.Invalid without fields (HTTP
// 400, "invalid analysis configuration"). With no provider at all it is
// the offline analyzer.
func (s *Service) AnalyzerFor(req AIRequest) (Analyzer, error) {
	if s.custom != nil {
		return s.custom, nil
	}
	cfg := s.ai
	provider, model := req.Provider, req.Model
	if provider == "" {
		provider = cfg.Provider
	}
	if model == "" && provider == cfg.Provider {
		model = cfg.Model
	}
	out := &PrecedenceAnalyzer{Offline: s.offline}
	if provider == "" {
		if req.Model != "" {
			return nil, errs.Invalidf("ai_model %q needs an ai_provider: this server has no default provider", req.Model)
		}
		if len(req.Peers) > 0 {
			return nil, errs.Invalidf("peer_ai_configs need an ai_provider to review: this server has no default provider")
		}
		return out, nil
	}
	timeout := req.CLITimeout
	if timeout == 0 {
		timeout = cfg.CLITimeout
	}
	if timeout == 0 {
		timeout = DefaultCLITimeout
	}
	if timeout > MaxCLITimeout {
		return nil, errs.Invalidf("ai_cli_timeout must be at most %d minutes", int(MaxCLITimeout/time.Minute))
	}
	if req.AdditionalRepos == nil {
		req.AdditionalRepos = cfg.AdditionalRepos
	}
	if msg := checkAdditionalRepos(req.AdditionalRepos); msg != "" {
		return nil, errs.Invalidf("additional_repos: %s", msg)
	}
	main, err := s.aiAnalyzer(provider, model, timeout, req.PromptContext)
	if err != nil {
		return nil, err
	}
	peers := req.Peers
	if peers == nil {
		peers = cfg.Peers
	}
	if len(peers) == 0 {
		out.AI = main
		return out, nil
	}
	rounds := req.MaxRounds
	if rounds == 0 {
		rounds = cfg.PeerMaxRounds
	}
	debate := &Debate{Main: main, MaxRounds: rounds}
	for _, p := range peers {
		a, err := s.aiAnalyzer(p.AIProvider, p.AIModel, timeout, req.PromptContext)
		if err != nil {
			return nil, errs.Invalidf("peer_ai_configs: %s", errs.As(err).Message)
		}
		debate.Peers = append(debate.Peers, a)
	}
	out.AI = debate
	return out, nil
}

// aiAnalyzer builds the analyzer of one configured provider and model.
func (s *Service) aiAnalyzer(provider, model string, timeout time.Duration, pc PromptContext) (*AIAnalyzer, error) {
	if !slices.Contains(AIProviders, provider) {
		return nil, errs.Invalidf("ai_provider %q is none of claude, gemini, cursor, openai", provider)
	}
	if model != "" && !modelName.MatchString(model) {
		return nil, errs.Invalidf("ai_model must be letters, digits and . _ : / @ + -, not starting with -")
	}
	if !s.ai.configured(provider) {
		configured := s.ai.Configured()
		if len(configured) == 0 {
			// A server with no AI provider at all answers with the
			// offline analyzer, saying why in each failure's details, so
			// that seeds/001's examples (which name claude or gemini)
			// work on a default server instead of being refused.
			return &AIAnalyzer{runner: unconfiguredRunner{provider: provider, model: model}, pc: pc}, nil
		}
		return nil, errs.Invalidf("ai_provider %s is not configured on this server (configured: %v)", provider, configured)
	}
	if provider == ProviderOpenAI {
		if model == "" {
			return nil, errs.Invalidf("ai_model is required for ai_provider openai")
		}
		opts := s.ai.HTTP
		if opts.Timeout == 0 {
			opts.Timeout = DefaultAIHTTPTimeout
		}
		client, err := integrations.NewOpenAI(s.ai.OpenAIURL, s.ai.OpenAIKey, opts)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "openai URL is not usable")
		}
		return &AIAnalyzer{runner: &openAIRunner{client: client, model: model}, pc: pc}, nil
	}
	command := s.ai.command(provider)
	if model == "" && slices.ContainsFunc(command, func(a string) bool { return strings.Contains(a, "{model}") }) {
		return nil, errs.Invalidf("ai_model is required: the %s command takes a model", provider)
	}
	return &AIAnalyzer{runner: &cliRunner{provider: provider, model: model, command: command, timeout: timeout, repos: pc.AdditionalRepos}, pc: pc}, nil
}

// AIProviders lists the AI providers this service can run (for
// GET /api/capabilities).
func (s *Service) AIProviders() []string { return s.ai.Configured() }

// unconfiguredRunner stands for a provider a request names on a server
// that has no AI provider configured: every prompt fails with the reason,
// so the precedence analyzer keeps the offline result and says why.
type unconfiguredRunner struct{ provider, model string }

func (u unconfiguredRunner) run(context.Context, string) (string, error) {
	return "", &AIError{Reason: "no AI provider is configured on this server"}
}

// Provider implements Describer.
func (u unconfiguredRunner) Provider() string { return u.provider }

// Model implements Describer.
func (u unconfiguredRunner) Model() string { return u.model }
