package workflow_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/workflow"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  string // part of the message when refused
	}{
		{in: "72:00:00", want: 72 * time.Hour},
		{in: "04:00:00", want: 4 * time.Hour},
		{in: "4:00:00", want: 4 * time.Hour},
		{in: "00:00:01", want: time.Second},
		{in: "00:59:59", want: 59*time.Minute + 59*time.Second},
		{in: "87600:00:00", want: workflow.MaxSLA},
		{in: "87600:00:01", bad: "at most 87600:00:00"},
		{in: "00:00:00", bad: "longer than 00:00:00"},
		{in: "00:60:00", bad: "HH:MM:SS"},
		{in: "00:00:60", bad: "HH:MM:SS"},
		{in: "01:5:00", bad: "HH:MM:SS"},
		{in: "1 00:00:00", bad: "HH:MM:SS"},
		{in: "-01:00:00", bad: "HH:MM:SS"},
		{in: "01:00", bad: "HH:MM:SS"},
		{in: "1234567:00:00", bad: "HH:MM:SS"},
		{in: "", bad: "HH:MM:SS"},
		{in: "٠١:00:00", bad: "HH:MM:SS"}, // Arabic-Indic digits are not hours
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := workflow.ParseDuration(tt.in)
			if tt.bad != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.bad)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, time.Duration(d))
		})
	}
}

func TestDurationJSON(t *testing.T) {
	d, err := workflow.ParseDuration("4:05:06")
	require.NoError(t, err)
	b, err := json.Marshal(workflow.SLAs{Urgent: &d})
	require.NoError(t, err)
	assert.JSONEq(t, `{"low_sla": null, "medium_sla": null, "high_sla": null, "urgent_sla": "04:05:06"}`, string(b))
	long := workflow.Duration(workflow.MaxSLA)
	assert.Equal(t, "87600:00:00", long.String())
}

func TestSLAOrder(t *testing.T) {
	tests := []struct {
		name                      string
		urgent, high, medium, low string
		badFields                 []string
	}{
		{name: "document example", urgent: "04:00:00", high: "24:00:00", medium: "48:00:00", low: "72:00:00"},
		{name: "one second apart", urgent: "00:00:01", high: "00:00:02", medium: "00:00:03", low: "00:00:04"},
		{name: "none"},
		{name: "some", urgent: "01:00:00", low: "02:00:00"},
		{name: "urgent equals high", urgent: "24:00:00", high: "24:00:00", medium: "48:00:00", low: "72:00:00", badFields: []string{"high_sla"}},
		{name: "high equals medium", urgent: "04:00:00", high: "48:00:00", medium: "48:00:00", low: "72:00:00", badFields: []string{"medium_sla"}},
		{name: "medium equals low", urgent: "04:00:00", high: "24:00:00", medium: "72:00:00", low: "72:00:00", badFields: []string{"low_sla"}},
		{name: "one second short", urgent: "04:00:00", high: "03:59:59", badFields: []string{"high_sla"}},
		{name: "reversed across a gap", urgent: "72:00:00", low: "04:00:00", badFields: []string{"low_sla"}},
		{name: "malformed", urgent: "4h", high: "24:00", medium: "48:00:00", low: "72:00:00", badFields: []string{"high_sla", "urgent_sla"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slas, err := workflow.WorkflowInput{Name: "w", UrgentSLA: tt.urgent, HighSLA: tt.high, MediumSLA: tt.medium, LowSLA: tt.low}.Validate()
			if len(tt.badFields) == 0 {
				require.NoError(t, err)
				if tt.urgent != "" {
					want, err := workflow.ParseDuration(tt.urgent)
					require.NoError(t, err)
					assert.Equal(t, want, *slas.Urgent)
				}
				return
			}
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, tt.badFields, errs.As(err).FieldNames())
		})
	}
}

func TestWorkflowInputLimits(t *testing.T) {
	ok := workflow.WorkflowInput{Name: strings.Repeat("n", workflow.MaxNameLength), Description: strings.Repeat("d", workflow.MaxTextLength)}
	_, err := ok.Validate()
	require.NoError(t, err)

	long := workflow.WorkflowInput{Name: strings.Repeat("n", workflow.MaxNameLength+1), Description: strings.Repeat("d", workflow.MaxTextLength+1), Category: "a\x00b"}
	_, err = long.Validate()
	require.ErrorIs(t, err, errs.ErrInvalid)
	assert.Equal(t, []string{"category", "description", "name"}, errs.As(err).FieldNames())

	_, err = workflow.WorkflowInput{Name: "  "}.Validate()
	assert.Equal(t, []string{"name"}, errs.As(err).FieldNames())
}

func TestStepInputValidate(t *testing.T) {
	w := func(v float64) *float64 { return &v }
	zero, one, neg := int64(0), int64(1), -1
	tests := []struct {
		name      string
		in        workflow.StepInput
		badFields []string
	}{
		{name: "minimal", in: workflow.StepInput{Name: "Triage"}},
		{name: "weight 0", in: workflow.StepInput{Name: "s", Weight: w(0)}},
		{name: "weight 1", in: workflow.StepInput{Name: "s", Weight: w(1), RoleID: &one}},
		{name: "weight above 1", in: workflow.StepInput{Name: "s", Weight: w(1.0001)}, badFields: []string{"weight"}},
		{name: "weight below 0", in: workflow.StepInput{Name: "s", Weight: w(-0.1)}, badFields: []string{"weight"}},
		{name: "no name", in: workflow.StepInput{}, badFields: []string{"name"}},
		{name: "role 0", in: workflow.StepInput{Name: "s", RoleID: &zero, EscalateTo: &zero}, badFields: []string{"escalate_to", "role_id"}},
		{name: "negative order", in: workflow.StepInput{Name: "s", Order: &neg}, badFields: []string{"order"}},
		{name: "design edge", in: workflow.StepInput{Name: "s", Design: workflow.Design{X: workflow.MaxCoordinate, Y: -workflow.MaxCoordinate}}},
		{name: "design beyond", in: workflow.StepInput{Name: "s", Design: workflow.Design{X: workflow.MaxCoordinate + 1}}, badFields: []string{"design.x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if len(tt.badFields) == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, tt.badFields, errs.As(err).FieldNames())
		})
	}
}

func TestGraphInputValidate(t *testing.T) {
	node := func(id string) workflow.NodeInput {
		return workflow.NodeInput{TempID: id, StepInput: workflow.StepInput{Name: "step " + id}}
	}
	edge := func(from, to string) workflow.EdgeInput { return workflow.EdgeInput{FromTempID: from, ToTempID: to} }
	tests := []struct {
		name      string
		g         workflow.GraphInput
		badFields []string
	}{
		{name: "empty"},
		{name: "two nodes", g: workflow.GraphInput{Nodes: []workflow.NodeInput{node("a"), node("b")}, Edges: []workflow.EdgeInput{edge("a", "b"), edge("b", "a")}}},
		{name: "missing temp_id", g: workflow.GraphInput{Nodes: []workflow.NodeInput{node("")}}, badFields: []string{"graph.nodes[0].temp_id"}},
		{name: "repeated temp_id", g: workflow.GraphInput{Nodes: []workflow.NodeInput{node("a"), node("a")}}, badFields: []string{"graph.nodes[1].temp_id"}},
		{name: "unknown end", g: workflow.GraphInput{Nodes: []workflow.NodeInput{node("a")}, Edges: []workflow.EdgeInput{edge("a", "zz")}}, badFields: []string{"graph.edges[0].to_temp_id"}},
		{name: "self loop", g: workflow.GraphInput{Nodes: []workflow.NodeInput{node("a")}, Edges: []workflow.EdgeInput{edge("a", "a")}}, badFields: []string{"graph.edges[0].to_temp_id"}},
		{name: "duplicate edge", g: workflow.GraphInput{Nodes: []workflow.NodeInput{node("a"), node("b")}, Edges: []workflow.EdgeInput{edge("a", "b"), edge("a", "b")}}, badFields: []string{"graph.edges[1].to_temp_id"}},
		{name: "bad node", g: workflow.GraphInput{Nodes: []workflow.NodeInput{{TempID: "a"}}}, badFields: []string{"graph.nodes[0].name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.g.Validate()
			if len(tt.badFields) == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, errs.ErrInvalid)
			assert.Equal(t, tt.badFields, errs.As(err).FieldNames())
		})
	}
}

func TestGraphInputSizeLimits(t *testing.T) {
	nodes := make([]workflow.NodeInput, workflow.MaxNodes+1)
	for i := range nodes {
		nodes[i] = workflow.NodeInput{TempID: fmt.Sprintf("n%d", i), StepInput: workflow.StepInput{Name: "s"}}
	}
	require.NoError(t, workflow.GraphInput{Nodes: nodes[:workflow.MaxNodes]}.Validate())
	err := workflow.GraphInput{Nodes: nodes}.Validate()
	require.ErrorIs(t, err, errs.ErrInvalid)
	assert.Equal(t, []string{"graph"}, errs.As(err).FieldNames())
}
