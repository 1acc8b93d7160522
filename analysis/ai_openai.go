package analysis

import (
	"context"
	"errors"

	"github.com/bugflow/bugflow/analysis/integrations"
)

// openAIRunner asks an OpenAI-compatible chat-completions server.
type openAIRunner struct {
	client *integrations.OpenAI
	model  string
}

func (r *openAIRunner) Provider() string { return ProviderOpenAI }
func (r *openAIRunner) Model() string    { return r.model }

func (r *openAIRunner) run(ctx context.Context, prompt string) (string, error) {
	out, err := r.client.Complete(ctx, r.model, []integrations.ChatMessage{
		{Role: "system", Content: "You classify CI test failures and answer with JSON only."},
		{Role: "user", Content: prompt},
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		// The client's message names the operation and status only; it is
		// scrubbed of the key.
		var ie *integrations.Error
		if errors.As(err, &ie) {
			return "", &AIError{Provider: ProviderOpenAI, Reason: ie.Error(), Err: err}
		}
		return "", &AIError{Provider: ProviderOpenAI, Reason: "request failed", Err: err}
	}
	return out, nil
}
