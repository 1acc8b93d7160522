package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// MaxAdditionalRepos bounds additional_repos: each is a clone made for
// every analysis, and a request must not make the server fetch dozens.
const MaxAdditionalRepos = 5

// DefaultCloneTimeout bounds one shallow clone of an additional
// repository. A clone that takes longer is abandoned (its process group
// killed) and the prompt says the repository could not be fetched.
const DefaultCloneTimeout = 2 * time.Minute

// repoDirName is what an additional repository's name may look like: it
// becomes a directory beside the others, so no separators, no dot files,
// no leading "-".
var repoDirName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$`)

// repoRef is what a ref (branch or tag) may look like; it is an argument
// of git clone --branch, so it must not start with "-".
var repoRef = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,199}$`)

// validRepoDir reports whether name can be a clone's directory name.
func validRepoDir(name string) bool {
	return repoDirName.MatchString(name) && !strings.Contains(name, "..")
}

// checkRepoURL returns why raw is no URL an additional repository may be
// cloned from, or "". Only http(s):// and file:// are accepted: git's
// other transports (ext::, ssh with options, fd::) can run commands, and
// credentials in the URL would end up in prompts and request_params.
func checkRepoURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || strings.HasPrefix(raw, "-") {
		return "url must be an http(s):// or file:// URL"
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "url must name a host"
		}
	case "file":
		if u.Host != "" || u.Path == "" {
			return "file:// url must be file:///absolute/path"
		}
	default:
		return "url must be an http(s):// or file:// URL"
	}
	if u.User != nil {
		return "url must not carry credentials"
	}
	return ""
}

// checkAdditionalRepos returns why repos cannot be used, or "".
func checkAdditionalRepos(repos []AdditionalRepo) string {
	if len(repos) > MaxAdditionalRepos {
		return fmt.Sprintf("at most %d repositories", MaxAdditionalRepos)
	}
	seen := map[string]bool{}
	for _, r := range repos {
		if !validRepoDir(r.Name) {
			return "name must be letters, digits and . _ -, not starting with . or -, without .."
		}
		if seen[r.Name] {
			return fmt.Sprintf("name %q is used twice", r.Name)
		}
		seen[r.Name] = true
		if msg := checkRepoURL(r.URL); msg != "" {
			return msg
		}
		if r.Ref != "" && (!repoRef.MatchString(r.Ref) || strings.Contains(r.Ref, "..")) {
			return "ref must be a branch or tag name, not starting with -"
		}
	}
	return ""
}

// ParseAdditionalRepos reads the --ai-additional-repos setting,
// name=url[@ref] entries separated by commas, and checks them as a
// request's additional_repos are checked.
func ParseAdditionalRepos(s string) ([]AdditionalRepo, error) {
	var out []AdditionalRepo
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, rest, ok := strings.Cut(entry, "=")
		if !ok || name == "" || rest == "" {
			return nil, fmt.Errorf("%q is not name=url[@ref]", entry)
		}
		r := AdditionalRepo{Name: name, URL: rest}
		// The ref follows the last "@" after the scheme; URLs with
		// credentials (user@) are refused anyway.
		if i := strings.LastIndex(rest, "@"); i > strings.Index(rest, "://") {
			r.URL, r.Ref = rest[:i], rest[i+1:]
		}
		out = append(out, r)
	}
	if msg := checkAdditionalRepos(out); msg != "" {
		return nil, errors.New(msg)
	}
	return out, nil
}

// checkout is the temporary working directory of the CLI runs of one
// analysis with the additional repositories cloned into it.
type checkout struct {
	dir string
	// fetched and failed name the repositories by outcome; failed says
	// why, without git's output (which may echo the URL).
	fetched []AdditionalRepo
	failed  map[string]string
}

// cloneRepos shallow-clones repos into a new temporary directory. A clone
// that fails is noted, not fatal. The caller removes dir.
func cloneRepos(ctx context.Context, repos []AdditionalRepo, timeout time.Duration) (*checkout, error) {
	dir, err := os.MkdirTemp("", "bugflow-ai-")
	if err != nil {
		return nil, fmt.Errorf("working directory for additional repositories: %w", err)
	}
	co := &checkout{dir: dir, failed: map[string]string{}}
	for _, r := range repos {
		if err := cloneRepo(ctx, r, filepath.Join(dir, r.Name), timeout); err != nil {
			if ctx.Err() != nil {
				_ = os.RemoveAll(dir)
				return nil, ctx.Err()
			}
			co.failed[r.Name] = err.Error()
			continue
		}
		co.fetched = append(co.fetched, r)
	}
	return co, nil
}

// workspace is what the CLI prompts of one analysis share: the additional
// repositories, shallow-cloned once, when the first prompt needs them, into
// a temporary directory where that prompt and every later one of the
// analysis run (each failure group; each peer, round and revision of a
// debate). Cloning for each prompt would fetch the same repositories dozens
// of times and leave the peers of a debate reading different checkouts.
//
// An analysis opens one with withWorkspace and ends it when it ends, by
// success, error, panic or cancellation: end stops clones in flight and
// removes every directory. A prompt run outside any analysis (an
// Analyzer called directly) gets a workspace of its own.
type workspace struct {
	// ctx is the analysis's: a clone outlives the prompt that asked for it
	// (which may time out) and serves the next; end cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	clones sync.WaitGroup

	mu        sync.Mutex
	ended     bool
	checkouts map[string]*pendingCheckout // by repository list
}

// pendingCheckout is a checkout being cloned; done is closed when co or
// err is set.
type pendingCheckout struct {
	done chan struct{}
	co   *checkout
	err  error
}

// workspaceKey carries an analysis's *workspace in its context.
type workspaceKey struct{}

// errWorkspaceEnded is a checkout asked for after its analysis ended.
var errWorkspaceEnded = errors.New("the analysis has ended")

// withWorkspace returns ctx carrying a new workspace for the analysis run
// under it, and the function that ends the workspace. When ctx already
// carries one (a Jenkins job analyses each child build within the job's
// analysis), that one is shared and the function does nothing.
func withWorkspace(ctx context.Context) (context.Context, func()) {
	if _, ok := ctx.Value(workspaceKey{}).(*workspace); ok {
		return ctx, func() {}
	}
	w := &workspace{checkouts: map[string]*pendingCheckout{}}
	w.ctx, w.cancel = context.WithCancel(ctx)
	return context.WithValue(ctx, workspaceKey{}, w), w.end
}

// workspaceOf returns the workspace of the analysis ctx belongs to, or a
// new one for the caller alone, with the function that ends it.
func workspaceOf(ctx context.Context) (*workspace, func()) {
	ctx, end := withWorkspace(ctx)
	return ctx.Value(workspaceKey{}).(*workspace), end
}

// checkout returns the directory holding repos, cloning them (each with
// timeout) unless a prompt of this analysis did already. It waits for a
// clone in flight, or until ctx ends.
func (w *workspace) checkout(ctx context.Context, repos []AdditionalRepo, timeout time.Duration) (*checkout, error) {
	key, err := json.Marshal(repos)
	if err != nil {
		return nil, fmt.Errorf("additional repositories: %w", err)
	}
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return nil, errWorkspaceEnded
	}
	p, ok := w.checkouts[string(key)]
	if !ok {
		p = &pendingCheckout{done: make(chan struct{})}
		w.checkouts[string(key)] = p
		w.clones.Add(1)
		go func() {
			defer w.clones.Done()
			p.co, p.err = cloneRepos(w.ctx, repos, timeout)
			close(p.done)
		}()
	}
	w.mu.Unlock()
	select {
	case <-p.done:
		return p.co, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// end stops the clones in flight, waits for them and removes every
// checkout. Checkouts asked for afterwards fail.
func (w *workspace) end() {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	w.cancel()
	w.clones.Wait()
	for _, p := range w.checkouts {
		if p.co != nil {
			_ = os.RemoveAll(p.co.dir)
		}
	}
}

// cloneRepo runs git clone --depth 1 without a shell, without prompting
// for credentials and with only the http(s) and file transports allowed
// (a second guard behind checkRepoURL).
func cloneRepo(ctx context.Context, r AdditionalRepo, dest string, timeout time.Duration) error {
	if msg := checkAdditionalRepos([]AdditionalRepo{r}); msg != "" {
		return errors.New(msg)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{"-c", "protocol.allow=never", "-c", "protocol.https.allow=always", "-c", "protocol.http.allow=always",
		"-c", "protocol.file.allow=always", "clone", "--quiet", "--depth", "1", "--no-tags"}
	if r.Ref != "" {
		args = append(args, "--branch", r.Ref)
	}
	args = append(args, "--", r.URL, dest)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(childEnv(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=")
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.WaitDelay = cliWaitDelay
	killProcessGroup(cmd)
	err := cmd.Run()
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("clone timed out after %s", timeout)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("git clone exited with status %d", exit.ExitCode())
		}
		return fmt.Errorf("git could not be run")
	}
	return nil
}

// promptSection tells the model where the repositories are and which
// could not be fetched.
func (co *checkout) promptSection(repos []AdditionalRepo) string {
	var b strings.Builder
	b.WriteString("\nThe additional repositories are checked out (shallow) in your working directory; read them for context:\n")
	for _, r := range repos {
		if why, ok := co.failed[r.Name]; ok {
			fmt.Fprintf(&b, "- %s could not be fetched (%s)\n", r.Name, why)
			continue
		}
		fmt.Fprintf(&b, "- %s: ./%s\n", r.Name, r.Name)
	}
	return b.String()
}

// notes are what the result's details say about repositories that could
// not be fetched.
func (co *checkout) notes(repos []AdditionalRepo) []string {
	var out []string
	for _, r := range repos {
		if why, ok := co.failed[r.Name]; ok {
			out = append(out, fmt.Sprintf("Additional repository %s could not be fetched (%s); the analysis ran without it.", r.Name, why))
		}
	}
	return out
}
