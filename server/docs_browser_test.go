package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/apitest"
)

// chromeBinary finds a Chrome or Chromium to drive: $BUGFLOW_TEST_CHROME,
// or the usual names on PATH.
func chromeBinary() (string, bool) {
	if p := os.Getenv("BUGFLOW_TEST_CHROME"); p != "" {
		return p, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// browserLog collects what a page reports as going wrong: uncaught
// exceptions, console errors, and the browser's own errors (among them
// every Content-Security-Policy violation).
type browserLog struct {
	mu       sync.Mutex
	problems []string
}

func (b *browserLog) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		what := e.ExceptionDetails.Text
		if ex := e.ExceptionDetails.Exception; ex != nil {
			what += " " + ex.Description
		}
		b.problems = append(b.problems, "exception: "+what)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range e.Args {
				args = append(args, strings.TrimSpace(string(a.Value)+" "+a.Description))
			}
			b.problems = append(b.problems, "console.error: "+strings.Join(args, " "))
		}
	case *cdplog.EventEntryAdded:
		// ReDoc's menu shows Redocly's logo from their CDN; the policy
		// blocks it (the page must not reach out) and ReDoc then hides it.
		if strings.Contains(e.Entry.Text, "https://cdn.redoc.ly/redoc/logo-mini.svg") {
			return
		}
		if e.Entry.Level == cdplog.EntryLevelError {
			b.problems = append(b.problems, fmt.Sprintf("%s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	}
}

func (b *browserLog) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// TestDocsInABrowser loads the docs pages in headless Chromium. On /docs,
// opened at the deep link of GET /health, it runs "Try it out" against the
// server and reads the answer the page shows, then scrolls through the whole
// operation list and checks that every documented operation was rendered
// under each of its tags. On /redoc it finds every operation too. Neither
// page may log an error, a Content-Security-Policy violation or an uncaught
// exception, and Swagger UI may report no error in the document. It skips
// when no Chromium is installed (apt-get install chromium).
func TestDocsInABrowser(t *testing.T) {
	bin, ok := chromeBinary()
	if !ok {
		t.Skip("no Chrome or Chromium binary found (looked for $BUGFLOW_TEST_CHROME, then chromium, chromium-browser, google-chrome, google-chrome-stable and headless-shell on PATH; install it with apt-get install -y chromium): the headless browser test of /docs and /redoc is skipped")
	}
	doc, err := apitest.LoadDocument()
	require.NoError(t, err)
	swaggerIDs, redocIDs := documentedOperations(doc)
	srv := apitest.Start(t, apitest.Config{})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	// The first call starts the browser and ties it to its context, so
	// this bound is the whole test's: a stuck browser or a page that
	// never settles fails the test instead of hanging it.
	browserCtx, cancel := context.WithTimeout(browserCtx, 2*time.Minute)
	defer cancel()
	var problems browserLog
	// chromedp enables the runtime and log domains of every page.
	require.NoError(t, chromedp.Listen(browserCtx, problems.listen), "start %s", bin)
	// page bounds the work on one page: a bound for a stuck page, not a
	// performance assertion (each page took 4 to 18 s on a 2-core machine
	// with a load average of 6 to 14, the race detector on).
	page := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(browserCtx, pageTimeout)
	}

	ctx, cancelPage := page()
	defer cancelPage()
	started := time.Now()
	// The deep link opens the operation and scrolls to it: with this many
	// operations Swagger UI renders only the part of the list near the
	// viewport, so an operation further down is not in the page until it
	// is scrolled to.
	const health = `#operations-system-getHealth`
	live := health + ` .live-responses-table`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/docs#/system/getHealth"),
		chromedp.Click(chromedp.CSS(health+` .try-out__btn`), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(health+` .execute`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(live+` .response-col_status`)),
	), "open /docs#/system/getHealth and try it out; the page logged: %v", problems.all())
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return strings.TrimSpace(s)
	}
	assert.Equal(t, srv.URL+"/health", text(ctx, health+` .request-url pre`), "Try it out calls the server the page came from")
	assert.Equal(t, "200", text(ctx, live+` tr.response .response-col_status`))
	assert.Contains(t, text(ctx, live+` tr.response .response-col_description pre`), `"status": "healthy"`)

	rendered, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](scrollSwaggerUI, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "scroll through /docs; the page logged: %v", problems.all())
	assert.Empty(t, without(swaggerIDs, rendered), "documented operations that /docs did not render (it rendered %d)", len(rendered))
	assert.Empty(t, without(rendered, swaggerIDs), "operations /docs rendered that the document does not hold")
	uiErrors, err := chromedp.Run(ctx, chromedp.Evaluate[[]any](`window.ui.errSelectors.allErrors().toJS()`))
	require.NoError(t, err)
	assert.Empty(t, uiErrors, "Swagger UI found errors in the document")
	cancelPage()
	t.Logf("/docs took %s", time.Since(started))

	ctx, cancelPage = page()
	defer cancelPage()
	started = time.Now()
	const redocHealth = `[data-section-id="operation/getHealth"]`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/redoc"),
		chromedp.WaitVisible(chromedp.CSS(redocHealth)),
	), "load /redoc; the page logged: %v", problems.all())
	assert.Equal(t, "Health check", text(ctx, redocHealth+` h2`))
	rendered, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-section-id^="operation/"]'), e => e.dataset.sectionId)`))
	require.NoError(t, err)
	assert.Empty(t, without(redocIDs, rendered), "documented operations that /redoc did not render (it rendered %d)", len(rendered))
	assert.Empty(t, without(rendered, redocIDs), "operations /redoc rendered that the document does not hold")
	t.Logf("/redoc took %s", time.Since(started))
	assert.Empty(t, problems.all(), "the pages logged errors")
}

// pageTimeout bounds the work on one docs page in TestDocsInABrowser.
const pageTimeout = 30 * time.Second

// documentedOperations lists what the docs pages show for each operation of
// doc: the element ids of Swagger UI (an operation appears under each of its
// tags, or under "default") and the section ids of ReDoc.
func documentedOperations(doc *openapi3.T) (swaggerIDs, redocIDs []string) {
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			tags := op.Tags
			if len(tags) == 0 {
				tags = []string{"default"}
			}
			for _, tag := range tags {
				swaggerIDs = append(swaggerIDs, "operations-"+tag+"-"+op.OperationID)
			}
			redocIDs = append(redocIDs, "operation/"+op.OperationID)
		}
	}
	return swaggerIDs, redocIDs
}

// without returns the elements of list that are not in drop, sorted.
func without(list, drop []string) []string {
	dropped := make(map[string]bool, len(drop))
	for _, s := range drop {
		dropped[s] = true
	}
	var out []string
	for _, s := range list {
		if !dropped[s] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// scrollSwaggerUI scrolls Swagger UI's page from the top to the bottom and
// returns the id of every operation it rendered on the way. Swagger UI
// (since 5.33) renders a long operation list only near the viewport, so the
// list is read a screen at a time; the walk stops when the page no longer
// scrolls, or after a bounded number of steps.
const scrollSwaggerUI = `(async () => {
  const seen = new Set();
  const settle = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  window.scrollTo({ top: 0, behavior: "instant" });
  let lastY = -1, still = 0;
  for (let step = 0; step < 2000 && still < 4; step++) {
    await settle();
    document.querySelectorAll(".opblock[id^='operations-']").forEach(e => seen.add(e.id));
    still = window.scrollY === lastY ? still + 1 : 0;
    lastY = window.scrollY;
    window.scrollBy({ top: Math.ceil(window.innerHeight / 2), behavior: "instant" });
  }
  return Array.from(seen);
})()`
