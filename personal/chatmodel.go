package personal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/bugflow/bugflow/errs"
)

// ModelPlanner is a Planner backed by an OpenAI-compatible
// chat-completions endpoint with tool calling: the model picks one of the
// agent's tools and its arguments. Service.Chat falls back to the built-in
// parser when the model fails or answers something unusable, so the chat
// keeps working while the model is down.
type ModelPlanner struct {
	url    string
	model  string
	apiKey string
	http   *retryablehttp.Client
}

// ModelOption configures NewModelPlanner.
type ModelOption func(*ModelPlanner)

// WithModelHTTPClient sends each attempt through hc (timeouts, proxies).
func WithModelHTTPClient(hc *http.Client) ModelOption {
	return func(p *ModelPlanner) { p.http.HTTPClient = hc }
}

// WithModelRetries makes up to n further attempts after a connection
// error, a 429 or a 5xx, waiting what Retry-After asks or backing off from
// minWait. Default 2 retries from 500 ms.
func WithModelRetries(n int, minWait time.Duration) ModelOption {
	return func(p *ModelPlanner) { p.http.RetryMax, p.http.RetryWaitMin = max(0, n), minWait }
}

// modelTimeout bounds one attempt: a tool choice is a short answer.
const modelTimeout = 30 * time.Second

// NewModelPlanner returns a planner for the chat-completions API at
// baseURL (e.g. https://api.openai.com/v1, or a local server's /v1), using
// model and, when not "", apiKey as the bearer token.
func NewModelPlanner(baseURL, model, apiKey string, opts ...ModelOption) (*ModelPlanner, error) {
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return nil, errs.InvalidField("chat_url", "must be an http:// or https:// URL")
	}
	if strings.TrimSpace(model) == "" {
		return nil, errs.InvalidField("chat_model", "is required with a chat URL")
	}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = &http.Client{Timeout: modelTimeout}
	rc.RetryMax, rc.RetryWaitMin, rc.RetryWaitMax = 2, 500*time.Millisecond, 10*time.Second
	// After the last attempt, hand back that answer rather than
	// retryablehttp's own error, so that its status can be reported.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	p := &ModelPlanner{url: strings.TrimRight(baseURL, "/") + "/chat/completions", model: model, apiKey: apiKey, http: rc}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// chatTools are the agent's tools as the model sees them: one function
// each, sharing one argument schema.
var chatTools = []struct {
	name Tool
	desc string
}{
	{ToolAdd, "Create a task. task is its name."},
	{ToolRemove, "Delete the task that task names."},
	{ToolComplete, "Mark the task that task names completed."},
	{ToolSetStatus, "Set the status of the task that task names."},
	{ToolSetPriority, "Change the priority of the task that task names."},
	{ToolReschedule, "Change the due date of the task that task names."},
	{ToolRename, "Rename the task that task names to new_name."},
	{ToolList, "List tasks, optionally by status, priority, or due today."},
	{ToolSearch, "Find tasks whose name or description contains query."},
	{ToolOverdue, "List unfinished tasks whose due date has passed."},
	{ToolStatistics, "Count tasks by status, and overdue ones."},
	{ToolByTag, "List tasks carrying tags[0]."},
	{ToolGroup, "List tasks grouped by group_by: priority or status."},
}

// toolArguments is the argument schema of every tool.
var toolArguments = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"task":      map[string]any{"type": "string", "description": "the new task's name, or words naming an existing task"},
		"new_name":  map[string]any{"type": "string"},
		"priority":  map[string]any{"type": "string", "enum": []string{"low", "medium", "high", "urgent"}},
		"status":    map[string]any{"type": "string", "enum": []string{"not_started", "in_progress", "completed", "blocked"}},
		"due":       map[string]any{"type": "string", "description": "due date, YYYY-MM-DD or RFC 3339"},
		"due_today": map[string]any{"type": "boolean"},
		"tags":      map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"query":     map[string]any{"type": "string"},
		"group_by":  map[string]any{"type": "string", "enum": []string{"priority", "status"}},
	},
}

type modelMessage struct {
	Role      string          `json:"role"`
	Content   string          `json:"content"`
	ToolCalls []modelToolCall `json:"tool_calls,omitempty"`
}

type modelToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// Plan implements Planner.
func (p *ModelPlanner) Plan(ctx context.Context, history []ChatMessage, message string, now time.Time, loc *time.Location) (Intent, error) {
	msgs := []modelMessage{{Role: "system", Content: fmt.Sprintf(
		"You manage the user's personal task list by calling exactly one tool. It is now %s (%s). Answer dates as YYYY-MM-DD.",
		now.In(loc).Format("Monday 2 January 2006 15:04"), loc)}}
	for _, m := range history {
		msgs = append(msgs, modelMessage{Role: m.Role, Content: m.Content})
	}
	msgs = append(msgs, modelMessage{Role: "user", Content: message})
	tools := make([]map[string]any, len(chatTools))
	for i, t := range chatTools {
		tools[i] = map[string]any{"type": "function", "function": map[string]any{"name": string(t.name), "description": t.desc, "parameters": toolArguments}}
	}
	body, err := json.Marshal(map[string]any{"model": p.model, "messages": msgs, "tools": tools, "tool_choice": "auto"})
	if err != nil {
		return Intent{}, err
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return Intent{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if p.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return Intent{}, errs.Wrap(errs.Unavailable, err, "the chat model is unreachable")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Intent{}, errs.Wrap(errs.Unavailable, err, "the chat model's answer could not be read")
	}
	if resp.StatusCode != http.StatusOK {
		// Never the caller's own 401 or 429: the model's problem is
		// bugflow's dependency being unavailable.
		return Intent{}, errs.Unavailablef("the chat model answered %d", resp.StatusCode)
	}
	var out struct {
		Choices []struct {
			Message modelMessage `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Choices) == 0 {
		return Intent{}, errs.Unavailablef("the chat model's answer is not a chat completion")
	}
	m := out.Choices[0].Message
	if len(m.ToolCalls) == 0 {
		return Intent{Tool: ToolHelp, Reply: m.Content}, nil
	}
	return p.intent(m.ToolCalls[0], loc)
}

// intent reads a tool call, refusing one the agent has no tool for or
// whose arguments are not what the schema says.
func (p *ModelPlanner) intent(call modelToolCall, loc *time.Location) (Intent, error) {
	tool := Tool(call.Function.Name)
	if !slices.ContainsFunc(chatTools, func(t struct {
		name Tool
		desc string
	}) bool {
		return t.name == tool
	}) {
		return Intent{}, errs.Unavailablef("the chat model called an unknown tool %q", call.Function.Name)
	}
	var args struct {
		Task     string   `json:"task"`
		NewName  string   `json:"new_name"`
		Priority Priority `json:"priority"`
		Status   Status   `json:"status"`
		Due      string   `json:"due"`
		DueToday bool     `json:"due_today"`
		Tags     []string `json:"tags"`
		Query    string   `json:"query"`
		GroupBy  string   `json:"group_by"`
	}
	if err := json.Unmarshal([]byte(call.Function.Arguments), &args); err != nil {
		return Intent{}, errs.Unavailablef("the chat model's tool call has malformed arguments")
	}
	in := Intent{Tool: tool, Task: args.Task, NewName: args.NewName, Priority: args.Priority, Status: args.Status,
		DueToday: args.DueToday, Tags: args.Tags, Query: args.Query, GroupBy: args.GroupBy}
	if args.Due != "" {
		due, ok := parseModelDate(args.Due, loc)
		if !ok {
			return Intent{}, errs.Unavailablef("the chat model's tool call has a malformed due date %q", args.Due)
		}
		in.Due = &due
	}
	if tool == ToolByTag && len(in.Tags) == 0 {
		return Intent{}, errs.Unavailablef("the chat model called %s without a tag", tool)
	}
	return in, nil
}

// parseModelDate reads a model's date: RFC 3339, or a day (due at its end
// in loc).
func parseModelDate(s string, loc *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, loc).UTC(), true
	}
	return time.Time{}, false
}
