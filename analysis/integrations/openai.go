package integrations

import (
	"context"
	"net/http"
)

// OpenAI is a client of an OpenAI-compatible chat-completions API: OpenAI
// itself, or any local or hosted model server that speaks it (vLLM,
// llama.cpp, Ollama, LiteLLM, ...).
type OpenAI struct {
	c *conn
}

// NewOpenAI returns a client of the API at baseURL (e.g.
// https://api.openai.com/v1; /chat/completions is appended) sending key as
// a bearer token when it is not empty. The key never appears in an error.
func NewOpenAI(baseURL, key string, opts Options) (*OpenAI, error) {
	c, err := newConn("openai", baseURL, opts, func(h http.Header) {
		if key != "" {
			h.Set("Authorization", "Bearer "+key)
		}
	}, key)
	if err != nil {
		return nil, err
	}
	return &OpenAI{c: c}, nil
}

// ChatMessage is one message of a chat completion.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Complete asks model for the completion of messages and returns the first
// choice's content. A completion creates nothing, so 5xx answers are
// retried like 429s.
func (o *OpenAI) Complete(ctx context.Context, model string, messages []ChatMessage) (string, error) {
	body := struct {
		Model       string        `json:"model"`
		Messages    []ChatMessage `json:"messages"`
		Temperature float64       `json:"temperature"`
	}{Model: model, Messages: messages}
	var out struct {
		Choices []struct {
			Message ChatMessage `json:"message"`
		} `json:"choices"`
	}
	if err := o.c.do(ctx, call{method: http.MethodPost, path: "/chat/completions", body: body, out: &out}); err != nil {
		return "", err
	}
	if len(out.Choices) == 0 {
		return "", &Error{System: "openai", Op: "POST /chat/completions", Message: "answer has no choices"}
	}
	return out.Choices[0].Message.Content, nil
}
