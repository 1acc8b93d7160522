package workflow

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Status is where a workflow is in its life. A draft may be edited freely;
// Initialize checks the rules (see Service.Initialize) and makes it usable.
// Every workflow that is not a draft keeps satisfying those rules: a change
// that would break one is refused.
type Status string

// The workflow statuses.
const (
	StatusDraft       Status = "draft"
	StatusInitialized Status = "initialized"
	StatusDeployed    Status = "deployed"
	StatusPaused      Status = "paused"
)

// Statuses lists every Status.
var Statuses = []Status{StatusDraft, StatusInitialized, StatusDeployed, StatusPaused}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Limits on what callers store.
const (
	MaxNameLength = 200   // workflow, step and transition names; category, sub_category, department
	MaxTextLength = 10000 // descriptions and instructions
	MaxTempID     = 100   // a graph node's temp_id
	MaxNodes      = 500   // steps in one graph
	MaxEdges      = 2000  // transitions in one graph
	// MaxCoordinate bounds a step's design x and y either way.
	MaxCoordinate = 1e6
	// MaxSLA is the longest SLA duration, 87600:00:00 (ten years).
	MaxSLA = 87600 * time.Hour
)

// DefaultWeight is a step's weight when none is given. A step's share of a
// task's SLA is its weight over the sum of its workflow's step weights.
const DefaultWeight = 0.5

// Duration is an SLA duration, whole seconds, written as HH:MM:SS (hours
// may exceed 24: "72:00:00").
type Duration time.Duration

var durationPattern = regexp.MustCompile(`^([0-9]{1,6}):([0-5][0-9]):([0-5][0-9])$`)

// ParseDuration reads an HH:MM:SS duration: one or more digits of hours,
// two of minutes and two of seconds (each below 60), more than zero and at
// most MaxSLA.
func ParseDuration(s string) (Duration, error) {
	m := durationPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("must be a duration as HH:MM:SS, e.g. 48:00:00")
	}
	h, _ := strconv.Atoi(m[1])
	min, _ := strconv.Atoi(m[2])
	sec, _ := strconv.Atoi(m[3])
	d := time.Duration(h)*time.Hour + time.Duration(min)*time.Minute + time.Duration(sec)*time.Second
	switch {
	case d <= 0:
		return 0, fmt.Errorf("must be longer than 00:00:00")
	case d > MaxSLA:
		return 0, fmt.Errorf("must be at most %s", Duration(MaxSLA))
	}
	return Duration(d), nil
}

// String writes d as HH:MM:SS.
func (d Duration) String() string {
	s := int64(time.Duration(d) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// MarshalJSON writes d as a "HH:MM:SS" string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.String() + `"`), nil
}

// SLAs are a workflow's resolution targets, one per ticket priority; nil
// means none for that priority.
type SLAs struct {
	Low    *Duration `json:"low_sla"`
	Medium *Duration `json:"medium_sla"`
	High   *Duration `json:"high_sla"`
	Urgent *Duration `json:"urgent_sla"`
}

// Workflow is a process definition: its details and status. Its graph
// (steps and transitions) is read with Service.Graph.
type Workflow struct {
	ID          int64  `json:"workflow_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Category    string `json:"category"`
	SubCategory string `json:"sub_category"`
	Department  string `json:"department"`
	Status      Status `json:"status"`
	SLAs
	// Calendar, when set, makes the workflow's SLAs working time on it;
	// nil counts them around the clock.
	Calendar *Calendar `json:"calendar"`
	// SLAVersion is the version of the SLA policy (the SLAs and the
	// calendar): 1 at creation, one more at each change of either.
	SLAVersion int       `json:"sla_version"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// WorkflowInput is a workflow's details as a caller gives them, to create
// one or to replace the details of one. SLAs are HH:MM:SS strings ("" for
// none) and, where given, must grow strictly from urgent to high, medium
// and low.
type WorkflowInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Category    string `json:"category"`
	SubCategory string `json:"sub_category"`
	Department  string `json:"department"`
	LowSLA      string `json:"low_sla"`
	MediumSLA   string `json:"medium_sla"`
	HighSLA     string `json:"high_sla"`
	UrgentSLA   string `json:"urgent_sla"`
	// Calendar is the optional business-hours calendar of the SLAs; nil
	// (or absent) for none.
	Calendar *Calendar `json:"calendar"`
}

// Validate checks in and returns its SLAs parsed, or an Invalid error
// naming every bad field.
func (in WorkflowInput) Validate() (SLAs, error) {
	p := problems{}
	slas := in.check(p)
	return slas, p.err("invalid workflow")
}

func (in WorkflowInput) check(p problems) SLAs {
	if strings.TrimSpace(in.Name) == "" {
		p.add("name", "This field is required.")
	}
	p.text("name", in.Name, MaxNameLength)
	p.text("description", in.Description, MaxTextLength)
	p.text("category", in.Category, MaxNameLength)
	p.text("sub_category", in.SubCategory, MaxNameLength)
	p.text("department", in.Department, MaxNameLength)

	var slas SLAs
	// From the shortest target to the longest.
	ordered := []struct {
		field string
		raw   string
		dst   **Duration
	}{
		{"urgent_sla", in.UrgentSLA, &slas.Urgent},
		{"high_sla", in.HighSLA, &slas.High},
		{"medium_sla", in.MediumSLA, &slas.Medium},
		{"low_sla", in.LowSLA, &slas.Low},
	}
	prev, prevField := Duration(0), ""
	for _, o := range ordered {
		if o.raw == "" {
			continue
		}
		d, err := ParseDuration(o.raw)
		if err != nil {
			p.add(o.field, err.Error())
			prevField = "" // an unreadable SLA is compared with nothing
			continue
		}
		*o.dst = &d
		if prevField != "" && d <= prev {
			p.add(o.field, fmt.Sprintf("must be longer than %s (%s)", prevField, prev))
		}
		prev, prevField = d, o.field
	}
	if in.Calendar != nil {
		in.Calendar.check(p, "calendar.")
	}
	return slas
}

// Design is where a step is drawn in a graph editor.
type Design struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Step is one stage of a workflow, worked by the holders of a role.
type Step struct {
	ID          int64  `json:"step_id"`
	WorkflowID  int64  `json:"workflow_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Instruction string `json:"instruction"`
	// RoleID is the role whose holders work the step; nil until chosen
	// (Initialize requires one). RoleName is that role's name, "" when the
	// role is unknown.
	RoleID   *int64 `json:"role_id"`
	RoleName string `json:"role_name"`
	// EscalateTo is the role that an escalated task goes to, if any.
	EscalateTo *int64  `json:"escalate_to"`
	Weight     float64 `json:"weight"`
	Order      int     `json:"order"`
	IsStart    bool    `json:"is_start"`
	IsEnd      bool    `json:"is_end"`
	Design     Design  `json:"design"`
}

// StepInput is a step as a caller gives it. Weight nil means
// DefaultWeight; Order nil means after the workflow's last step when
// creating, and the step's current order when updating.
type StepInput struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Instruction string   `json:"instruction"`
	RoleID      *int64   `json:"role_id"`
	EscalateTo  *int64   `json:"escalate_to"`
	Weight      *float64 `json:"weight"`
	Order       *int     `json:"order"`
	IsStart     bool     `json:"is_start"`
	IsEnd       bool     `json:"is_end"`
	Design      Design   `json:"design"`
}

// Validate checks in, naming each problem under prefix + its field (prefix
// "" for a lone step).
func (in StepInput) Validate() error {
	p := problems{}
	in.check(p, "")
	return p.err("invalid step")
}

func (in StepInput) check(p problems, prefix string) {
	if strings.TrimSpace(in.Name) == "" {
		p.add(prefix+"name", "This field is required.")
	}
	p.text(prefix+"name", in.Name, MaxNameLength)
	p.text(prefix+"description", in.Description, MaxTextLength)
	p.text(prefix+"instruction", in.Instruction, MaxTextLength)
	for _, r := range []struct {
		field string
		id    *int64
	}{{"role_id", in.RoleID}, {"escalate_to", in.EscalateTo}} {
		if r.id != nil && *r.id <= 0 {
			p.add(prefix+r.field, "must be a role id (a positive integer)")
		}
	}
	if in.Weight != nil && !(*in.Weight >= 0 && *in.Weight <= 1) {
		p.add(prefix+"weight", "must be between 0 and 1")
	}
	if in.Order != nil && (*in.Order < 0 || *in.Order > math.MaxInt32) {
		p.add(prefix+"order", "must be between 0 and 2147483647")
	}
	for _, c := range []struct {
		field string
		v     float64
	}{{"design.x", in.Design.X}, {"design.y", in.Design.Y}} {
		if !(math.Abs(c.v) <= MaxCoordinate) {
			p.add(prefix+c.field, fmt.Sprintf("must be between %g and %g", -MaxCoordinate, float64(MaxCoordinate)))
		}
	}
}

// Transition is a move a task can make from one step of a workflow to
// another of the same workflow.
type Transition struct {
	ID         int64  `json:"transition_id"`
	WorkflowID int64  `json:"workflow_id"`
	FromStepID int64  `json:"from_step_id"`
	ToStepID   int64  `json:"to_step_id"`
	Name       string `json:"name"`
}

// TransitionInput is a transition as a caller gives it.
type TransitionInput struct {
	FromStepID int64  `json:"from_step_id"`
	ToStepID   int64  `json:"to_step_id"`
	Name       string `json:"name"`
}

// Validate checks what can be checked without the steps.
func (in TransitionInput) Validate() error {
	p := problems{}
	if in.FromStepID <= 0 {
		p.add("from_step_id", "This field is required.")
	}
	if in.ToStepID <= 0 {
		p.add("to_step_id", "This field is required.")
	}
	if in.FromStepID > 0 && in.FromStepID == in.ToStepID {
		p.add("to_step_id", "a transition cannot lead from a step to itself")
	}
	p.text("name", in.Name, MaxNameLength)
	return p.err("invalid transition")
}

// NodeInput is a step of a graph given whole, named by a temp_id that the
// graph's edges refer to.
type NodeInput struct {
	TempID string `json:"temp_id"`
	StepInput
}

// EdgeInput is a transition of a graph given whole, between the nodes
// with these temp_ids.
type EdgeInput struct {
	FromTempID string `json:"from_temp_id"`
	ToTempID   string `json:"to_temp_id"`
	Name       string `json:"name"`
}

// GraphInput is a workflow's whole graph. Nodes without an order take
// their position (from 1).
type GraphInput struct {
	Nodes []NodeInput `json:"nodes"`
	Edges []EdgeInput `json:"edges"`
}

// Validate checks the graph's shape: each node valid and with a temp_id of
// its own, each edge between two different known nodes, no edge twice.
// Problems are named under "graph". Whether the graph can run is
// Initialize's question, so a draft may be incomplete.
func (g GraphInput) Validate() error {
	p := problems{}
	g.check(p)
	return p.err("invalid graph")
}

func (g GraphInput) check(p problems) {
	if len(g.Nodes) > MaxNodes || len(g.Edges) > MaxEdges {
		p.add("graph", fmt.Sprintf("at most %d nodes and %d edges", MaxNodes, MaxEdges))
		return
	}
	seen := map[string]bool{}
	for i, n := range g.Nodes {
		prefix := fmt.Sprintf("graph.nodes[%d].", i)
		switch {
		case n.TempID == "":
			p.add(prefix+"temp_id", "This field is required.")
		case seen[n.TempID]:
			p.add(prefix+"temp_id", fmt.Sprintf("temp_id %q is used by an earlier node", n.TempID))
		}
		p.text(prefix+"temp_id", n.TempID, MaxTempID)
		seen[n.TempID] = true
		n.check(p, prefix)
	}
	type pair struct{ from, to string }
	edges := map[pair]bool{}
	for i, e := range g.Edges {
		prefix := fmt.Sprintf("graph.edges[%d].", i)
		for _, end := range []struct{ field, id string }{{"from_temp_id", e.FromTempID}, {"to_temp_id", e.ToTempID}} {
			if !seen[end.id] {
				p.add(prefix+end.field, fmt.Sprintf("no node has temp_id %q", end.id))
			}
		}
		if e.FromTempID == e.ToTempID {
			p.add(prefix+"to_temp_id", "a transition cannot lead from a step to itself")
		}
		if edges[pair{e.FromTempID, e.ToTempID}] {
			p.add(prefix+"to_temp_id", fmt.Sprintf("an earlier edge already leads from %q to %q", e.FromTempID, e.ToTempID))
		}
		edges[pair{e.FromTempID, e.ToTempID}] = true
		p.text(prefix+"name", e.Name, MaxNameLength)
	}
}

// Graph is a workflow's steps, in order, and its transitions.
type Graph struct {
	Nodes []Node       `json:"nodes"`
	Edges []Transition `json:"edges"`
}

// Node is a step in a Graph. TempID is the caller's name for it in the
// call that created it, and "" in any other answer.
type Node struct {
	Step
	TempID string `json:"temp_id,omitempty"`
}

// Detail is a workflow with its graph.
type Detail struct {
	Workflow
	Graph Graph `json:"graph"`
}

// Created is what storing a graph answers: the workflow, its graph and
// which step id each node's temp_id became.
type Created struct {
	Detail
	TempIDMapping map[string]int64 `json:"temp_id_mapping"`
}

// ListOptions selects a page of a list. Page counts from 1 (0 means 1);
// PageSize 0 means DefaultPageSize and may not exceed MaxPageSize.
type ListOptions struct {
	Page     int
	PageSize int
}

// Page size bounds of ListOptions.
const (
	DefaultPageSize = 10
	MaxPageSize     = 100
)

// window checks o and returns the limit and offset it selects.
func (o ListOptions) window() (limit, offset int, err error) {
	p := problems{}
	size := o.PageSize
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 1 || size > MaxPageSize {
		p.add("page_size", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	// Bounded so that page times size cannot overflow.
	if o.Page < 0 || o.Page > math.MaxInt32/MaxPageSize {
		p.add("page", fmt.Sprintf("must be between 1 and %d", math.MaxInt32/MaxPageSize))
	}
	if err := p.err("invalid page"); err != nil {
		return 0, 0, err
	}
	w := store.PageNumber(o.Page, size)
	return w.Limit, w.Offset, nil
}

// problems collects field messages for one Invalid error.
type problems map[string][]string

func (p problems) add(field, msg string) { p[field] = append(p[field], msg) }

// text checks that v can be stored and is at most max characters.
func (p problems) text(field, v string, max int) {
	switch {
	case !store.ValidText(v):
		p.add(field, store.TextRule)
	case utf8.RuneCountInString(v) > max:
		p.add(field, fmt.Sprintf("Ensure this field has no more than %d characters.", max))
	}
}

// err is nil without problems, else an Invalid error with message and
// every field's messages.
func (p problems) err(message string) error {
	if len(p) == 0 {
		return nil
	}
	fields := slices.Sorted(maps.Keys(p))
	e := errs.Invalidf("%s: %s", message, strings.Join(fields, ", "))
	for _, field := range fields {
		for _, m := range p[field] {
			e = e.WithField(field, m)
		}
	}
	return e
}
