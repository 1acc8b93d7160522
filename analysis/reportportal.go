package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bugflow/bugflow/analysis/integrations"
	"github.com/bugflow/bugflow/errs"
)

// ReportPortalConfig is the Report Portal that classifications are pushed
// to. It is on when URL, Project and Token are all set.
type ReportPortalConfig struct {
	// URL is the Report Portal, e.g. https://rp.example.com.
	URL string
	// Project is the project whose launches are updated.
	Project string
	// Token is an API key of a user who may edit the project's defects.
	Token string
	// InsecureSkipVerify turns TLS verification off.
	InsecureSkipVerify bool
}

func (c ReportPortalConfig) configured() bool { return c.URL != "" && c.Project != "" && c.Token != "" }

func (c ReportPortalConfig) problems(opts integrations.Options, out map[string]string) {
	if c.URL == "" {
		return
	}
	if _, err := integrations.NewReportPortal(c.URL, c.Project, "", opts); err != nil {
		out["trackers.reportportal.url"] = "must be an absolute http(s) URL without credentials or query"
	}
}

// DefectTypes maps classifications to Report Portal's default defect type
// locators (REFERENCE-NOTES).
var DefectTypes = map[Classification]string{ProductBug: "pb001", CodeIssue: "ab001", Infrastructure: "si001"}

// PushResult is seeds/001's ReportPortalPushResult. Integration problems
// are reported in Errors, not as errors of the call.
type PushResult struct {
	Pushed    int      `json:"pushed"`
	Unmatched []string `json:"unmatched"`
	Errors    []string `json:"errors"`
	LaunchID  *int64   `json:"launch_id"`
}

// pushNode is the part of a stored result a push needs, for both result
// shapes and child jobs.
type pushNode struct {
	JobName     string            `json:"job_name"`
	BuildNumber int               `json:"build_number"`
	JenkinsURL  *string           `json:"jenkins_url"`
	Failures    []FailureAnalysis `json:"failures"`
	Children    []pushNode        `json:"child_job_analyses"`
	Failed      []pushNode        `json:"failed_children"`
}

// PushReportPortal sets the defect types of a build's failed Report Portal
// items from a completed job's classifications: the launch is the newest
// whose description holds the build's URL; each failed item takes the
// classification of the failure with its name (exactly, else as a dotted
// suffix of one or the other); all in one bulk update. childJobName and
// childBuildNumber (both or neither) push a child job's failures to its
// own launch. Report Portal off, a bad child scope or no PublicBaseURL (the
// comments link back to the result) are errs.Invalid.
func (t *Trackers) PushReportPortal(ctx context.Context, jobID, childJobName string, childBuildNumber int) (PushResult, error) {
	out := PushResult{Unmatched: []string{}, Errors: []string{}}
	rp := t.cfg.ReportPortal
	if !rp.configured() {
		return out, errs.Invalidf("Report Portal is disabled or not configured")
	}
	if (childJobName == "") != (childBuildNumber == 0) || childBuildNumber < 0 {
		return out, errs.Invalidf("child_job_name and child_build_number go together")
	}
	if t.cfg.PublicBaseURL == "" {
		return out, errs.Invalidf("PUBLIC_BASE_URL is not configured: Report Portal comments link back to the result")
	}
	stored, err := completedResult(ctx, t.svc.store, jobID)
	if err != nil {
		return out, err
	}
	var root pushNode
	if err := json.Unmarshal(stored.Result, &root); err != nil {
		return out, fmt.Errorf("decode stored result: %w", err)
	}
	node, ok := &root, true
	if childJobName != "" {
		node, ok = findPushNode(append(root.Children, root.Failed...), childJobName, childBuildNumber)
		if !ok {
			return out, errs.NotFoundf("job %s has no child job %s #%d", jobID, childJobName, childBuildNumber)
		}
	}
	buildURL := ""
	if node.JenkinsURL != nil {
		buildURL = *node.JenkinsURL
	}
	if buildURL == "" && childJobName == "" {
		buildURL = stored.JenkinsURL
	}
	if buildURL == "" {
		out.Errors = append(out.Errors, "the job has no Jenkins build URL to find its Report Portal launch by")
		return out, nil
	}
	client, err := integrations.NewReportPortal(rp.URL, rp.Project, rp.Token, t.reportPortalHTTP())
	if err != nil {
		return out, err
	}
	launch, found, err := client.FindLaunch(ctx, buildURL)
	if err != nil {
		out.Errors = append(out.Errors, pushError(err))
		return out, nil
	}
	if !found {
		out.Errors = append(out.Errors, "no Report Portal launch mentions "+buildURL)
		return out, nil
	}
	out.LaunchID = &launch.ID
	items, err := client.FailedItems(ctx, launch.ID)
	if err != nil {
		out.Errors = append(out.Errors, pushError(err))
		return out, nil
	}
	var updates []integrations.DefectUpdate
	for _, it := range items {
		f, ok := matchItem(node.Failures, it)
		defect := DefectTypes[f.Analysis.Classification]
		if !ok || defect == "" {
			out.Unmatched = append(out.Unmatched, it.Name)
			continue
		}
		comment := fmt.Sprintf("bugflow: %s. %s\n%s/results/%s", f.Analysis.Classification,
			truncateRunes(strings.TrimSpace(f.Analysis.Details), 1000), t.cfg.PublicBaseURL, jobID)
		updates = append(updates, integrations.DefectUpdate{TestItemID: it.ID, IssueType: defect, Comment: comment})
	}
	if len(updates) == 0 {
		return out, nil
	}
	if err := client.UpdateDefects(ctx, updates); err != nil {
		out.Errors = append(out.Errors, pushError(err))
		return out, nil
	}
	out.Pushed = len(updates)
	return out, nil
}

func (t *Trackers) reportPortalHTTP() integrations.Options {
	opts := t.cfg.HTTP
	opts.InsecureSkipVerify = t.cfg.ReportPortal.InsecureSkipVerify
	return opts
}

func findPushNode(nodes []pushNode, name string, number int) (*pushNode, bool) {
	for i := range nodes {
		if nodes[i].JobName == name && nodes[i].BuildNumber == number {
			return &nodes[i], true
		}
		if n, ok := findPushNode(append(nodes[i].Children, nodes[i].Failed...), name, number); ok {
			return n, true
		}
	}
	return nil, false
}

// matchItem finds the failure a Report Portal item reports: one named
// exactly as the item (or its code reference), else the one failure whose
// name ends in "." + the item's name, or whose name the item's ends in.
// Several suffix candidates are no match: guessing would mislabel.
func matchItem(failures []FailureAnalysis, it integrations.TestItem) (FailureAnalysis, bool) {
	for _, f := range failures {
		if f.TestName == it.Name || (it.CodeRef != "" && f.TestName == it.CodeRef) {
			return f, true
		}
	}
	var found []FailureAnalysis
	for _, f := range failures {
		if strings.HasSuffix(f.TestName, "."+it.Name) || strings.HasSuffix(it.Name, "."+f.TestName) {
			found = append(found, f)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return FailureAnalysis{}, false
}

// pushError is the message of a failed Report Portal call (scrubbed by the
// client).
func pushError(err error) string {
	var ie *integrations.Error
	if errors.As(err, &ie) {
		return ie.Error()
	}
	return "Report Portal is unreachable"
}
