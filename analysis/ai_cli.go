package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// DefaultCLITimeout is how long a CLI provider may take for one prompt
// when neither the configuration nor the request (ai_cli_timeout) says.
const DefaultCLITimeout = 10 * time.Minute

// MaxCLITimeout bounds ai_cli_timeout: a request must not hold a process
// for hours.
const MaxCLITimeout = time.Hour

// cliWaitDelay is how long a killed command's pipes may stay open (held by
// a grandchild that escaped the process group) before Wait gives up.
const cliWaitDelay = 2 * time.Second

// cliRunner runs a configured command line with the prompt on stdin and
// reads the answer from stdout. The command comes from the server's
// configuration only; the request chooses the model, which is substituted
// for "{model}" in the arguments and passed as BUGFLOW_AI_MODEL.
type cliRunner struct {
	provider string
	model    string
	command  []string
	timeout  time.Duration
	// repos are cloned into the working directory of the runs, once per
	// analysis (see workspace).
	repos []AdditionalRepo
}

func (r *cliRunner) Provider() string { return r.provider }
func (r *cliRunner) Model() string    { return r.model }

// limitedBuffer keeps the first n bytes written and notes that more came.
type limitedBuffer struct {
	buf      bytes.Buffer
	n        int
	overflow bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	if l.buf.Len()+len(p) > l.n {
		l.overflow = true
	}
	return len(p), nil
}

// childEnv is the server's environment without bugflow's own settings:
// they hold its keys (admin key, tracker tokens, the chat-completions key),
// which a CLI provider has no business reading. The CLI's own variables
// (its API key, PATH, HOME) stay.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BUGFLOW_") {
			env = append(env, kv)
		}
	}
	return env
}

func (r *cliRunner) run(ctx context.Context, prompt string) (string, error) {
	out, _, err := r.runNoted(ctx, prompt)
	return out, err
}

// runNoted runs the command, in the directory of its analysis's workspace
// holding the additional repositories if it has any, and returns notes
// about those that could not be fetched for the result's details. The wait
// for the clones (made by the first prompt of the analysis) counts against
// the command's timeout: together they are one run.
func (r *cliRunner) runNoted(ctx context.Context, prompt string) (string, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var notes []string
	var workDir string
	if len(r.repos) > 0 {
		ws, end := workspaceOf(ctx)
		defer end()
		co, err := ws.checkout(ctx, r.repos, min(DefaultCloneTimeout, r.timeout))
		if err != nil {
			if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return "", nil, &AIError{Provider: r.provider, Reason: fmt.Sprintf("timed out after %s", r.timeout), Err: ctx.Err()}
			}
			if ctx.Err() != nil {
				return "", nil, ctx.Err()
			}
			return "", nil, &AIError{Provider: r.provider, Reason: "no working directory for the additional repositories", Err: err}
		}
		workDir = co.dir
		prompt += co.promptSection(r.repos)
		notes = co.notes(r.repos)
	}
	out, err := r.exec(ctx, prompt, workDir)
	return out, notes, err
}

// exec runs the command once in dir ("" is the server's directory).
func (r *cliRunner) exec(ctx context.Context, prompt, dir string) (string, error) {
	args := make([]string, len(r.command))
	for i, a := range r.command {
		args[i] = strings.ReplaceAll(a, "{model}", r.model)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(childEnv(), "BUGFLOW_AI_MODEL="+r.model, "BUGFLOW_AI_PROVIDER="+r.provider)
	cmd.Stdin = strings.NewReader(prompt)
	cmd.Dir = dir
	stdout := &limitedBuffer{n: MaxAIAnswerBytes}
	// Stderr is drained but never shown: CLIs print their configuration,
	// tokens included, when they fail.
	cmd.Stdout, cmd.Stderr = stdout, io.Discard
	cmd.WaitDelay = cliWaitDelay
	killProcessGroup(cmd)
	err := cmd.Run()
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", &AIError{Provider: r.provider, Reason: fmt.Sprintf("timed out after %s", r.timeout), Err: ctx.Err()}
	case ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", &AIError{Provider: r.provider, Reason: fmt.Sprintf("command exited with status %d", exit.ExitCode()), Err: err}
		}
		return "", &AIError{Provider: r.provider, Reason: "command could not be run", Err: err}
	case stdout.overflow:
		return "", &AIError{Provider: r.provider, Reason: fmt.Sprintf("answer larger than %d bytes", MaxAIAnswerBytes)}
	}
	return stdout.buf.String(), nil
}
