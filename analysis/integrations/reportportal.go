package integrations

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// ReportPortal is a client of one Report Portal project (API v1),
// authenticated by a Bearer API key.
type ReportPortal struct {
	c       *conn
	project string
}

// NewReportPortal returns a client of project on the Report Portal at
// baseURL (e.g. https://rp.example.com).
func NewReportPortal(baseURL, project, token string, opts Options) (*ReportPortal, error) {
	auth := func(h http.Header) {
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
	}
	c, err := newConn("reportportal", baseURL, opts, auth, token)
	if err != nil {
		return nil, err
	}
	return &ReportPortal{c: c, project: project}, nil
}

func (rp *ReportPortal) path(rest string) string {
	return "/api/v1/" + url.PathEscape(rp.project) + rest
}

// Launch is one launch (a run of a test suite).
type Launch struct {
	ID          int64  `json:"id"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Number      int    `json:"number"`
	Description string `json:"description"`
}

// page is Report Portal's paging envelope.
type page[T any] struct {
	Content []T `json:"content"`
	Page    struct {
		Number     int `json:"number"`
		TotalPages int `json:"totalPages"`
	} `json:"page"`
}

// FindLaunch returns the newest launch whose description contains text
// (bugflow looks for the build's URL, which CI plugins write there).
func (rp *ReportPortal) FindLaunch(ctx context.Context, text string) (Launch, bool, error) {
	var p page[Launch]
	err := rp.c.do(ctx, call{method: http.MethodGet, path: rp.path("/launch"), query: url.Values{
		"filter.cnt.description": {text}, "page.sort": {"startTime,DESC"}, "page.size": {"1"}}, out: &p})
	if err != nil || len(p.Content) == 0 {
		return Launch{}, false, err
	}
	return p.Content[0], true, nil
}

// TestItem is one test item of a launch.
type TestItem struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	CodeRef string `json:"codeRef"`
	Status  string `json:"status"`
	Type    string `json:"type"`
	Issue   *struct {
		IssueType string `json:"issueType"`
	} `json:"issue"`
}

// maxItemPages bounds how many pages of items one launch is read in.
const maxItemPages = 100

// FailedItems returns the failed steps of a launch, every page.
func (rp *ReportPortal) FailedItems(ctx context.Context, launchID int64) ([]TestItem, error) {
	var out []TestItem
	for n := 1; n <= maxItemPages; n++ {
		var p page[TestItem]
		err := rp.c.do(ctx, call{method: http.MethodGet, path: rp.path("/item"), query: url.Values{
			"filter.eq.launchId": {strconv.FormatInt(launchID, 10)}, "filter.eq.status": {"FAILED"},
			"filter.eq.type": {"STEP"}, "page.page": {strconv.Itoa(n)}, "page.size": {"300"}}, out: &p})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Content...)
		if n >= p.Page.TotalPages {
			break
		}
	}
	return out, nil
}

// DefectUpdate sets the defect of one test item.
type DefectUpdate struct {
	TestItemID int64
	// IssueType is a defect type locator: pb001 (product bug), ab001
	// (automation bug), si001 (system issue), ti001 (to investigate).
	IssueType string
	Comment   string
}

// UpdateDefects sets the defects of many items in one request.
func (rp *ReportPortal) UpdateDefects(ctx context.Context, updates []DefectUpdate) error {
	type issue struct {
		IssueType      string `json:"issueType"`
		Comment        string `json:"comment"`
		AutoAnalyzed   bool   `json:"autoAnalyzed"`
		IgnoreAnalyzer bool   `json:"ignoreAnalyzer"`
	}
	type definition struct {
		TestItemID int64 `json:"testItemId"`
		Issue      issue `json:"issue"`
	}
	body := struct {
		Issues []definition `json:"issues"`
	}{}
	for _, u := range updates {
		body.Issues = append(body.Issues, definition{TestItemID: u.TestItemID, Issue: issue{IssueType: u.IssueType, Comment: u.Comment}})
	}
	// Setting a defect is idempotent: the same body sets the same state.
	return rp.c.do(ctx, call{method: http.MethodPut, path: rp.path("/item"), body: body})
}
