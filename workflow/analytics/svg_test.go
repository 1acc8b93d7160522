package analytics_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
	"github.com/bugflow/bugflow/workflow/analytics"
)

// svgSeries reads an SVG document with encoding/xml (so it must be
// well-formed) and returns, for each <g> with an id, its data-points
// attribute and how many rect, circle and polyline points it holds.
type svgGroup struct {
	dataPoints string
	rects      int
	circles    int
	linePoints int
}

func parseSVG(t *testing.T, doc []byte) (root string, groups map[string]*svgGroup) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	groups = map[string]*svgGroup{}
	var stack []*svgGroup
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "well-formed XML")
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Space + " " + el.Name.Local
			}
			attr := func(name string) string {
				for _, a := range el.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			var cur *svgGroup
			if len(stack) > 0 {
				cur = stack[len(stack)-1]
			}
			switch el.Name.Local {
			case "g":
				if id := attr("id"); id != "" {
					g := &svgGroup{dataPoints: attr("data-points")}
					groups[id] = g
					cur = g
				}
				stack = append(stack, cur)
				continue
			case "rect":
				if cur != nil {
					cur.rects++
				}
			case "circle":
				if cur != nil {
					cur.circles++
				}
			case "polyline":
				if cur != nil {
					cur.linePoints += len(strings.Fields(attr("points")))
				}
			}
		case xml.EndElement:
			if el.Name.Local == "g" {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return root, groups
}

func TestDashboardSVGDrawsTheThreeSeries(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		svc, f := seeded(t, db)
		d, err := svc.Dashboard(context.Background(), f)
		require.NoError(t, err)
		root, groups := parseSVG(t, d.SVG())
		assert.Equal(t, "http://www.w3.org/2000/svg svg", root)

		// Five days; SLA rates on four of them (03-12 has none decided).
		require.Contains(t, groups, "volume")
		assert.Equal(t, "5", groups["volume"].dataPoints)
		assert.Equal(t, 5, groups["volume"].rects)
		require.Contains(t, groups, "open-backlog")
		assert.Equal(t, "5", groups["open-backlog"].dataPoints)
		assert.Equal(t, 5, groups["open-backlog"].linePoints)
		require.Contains(t, groups, "sla-compliance")
		assert.Equal(t, "4", groups["sla-compliance"].dataPoints)
		assert.Equal(t, 4, groups["sla-compliance"].circles)
		assert.Equal(t, 4, groups["sla-compliance"].linePoints)
	})
}

// A day with nothing decided draws no SLA marker; one day draws one bar,
// and text from the filter is escaped.
func TestDashboardSVGEdgeCases(t *testing.T) {
	d := analytics.Dashboard{Series: []analytics.DashboardPoint{{Date: "2026-03-10", Created: 0, OpenBacklog: 0}}}
	d.Filters.Department = `<&">`
	_, groups := parseSVG(t, d.SVG())
	assert.Equal(t, 1, groups["volume"].rects)
	assert.Equal(t, 1, groups["open-backlog"].linePoints)
	assert.Equal(t, "0", groups["sla-compliance"].dataPoints)
	assert.Equal(t, 0, groups["sla-compliance"].circles)
}
