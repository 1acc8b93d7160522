package analytics

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
)

// The chart's canvas, in SVG user units.
const (
	chartWidth  = 800
	chartHeight = 400
	chartLeft   = 60
	chartRight  = 60
	chartTop    = 50
	chartBottom = 60
)

// SVG draws the dashboard's series as one SVG chart: ticket volume (bars,
// left axis), open backlog (a line, left axis) and SLA compliance (a line
// with a marker per day that has a rate, right axis 0-100 %; days without
// a decided ticket have none). Each series is a <g> whose id names it
// (volume, open-backlog, sla-compliance) and whose data-points attribute
// says how many points it draws. Plain SVG written here: no Go charting
// library in reach is both maintained and able to write SVG without a
// font rasteriser, and the chart is a few shapes.
func (d Dashboard) SVG() []byte {
	var b bytes.Buffer
	n := len(d.Series)
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	maxCount := 1
	for _, p := range d.Series {
		maxCount = max(maxCount, p.Created, p.OpenBacklog)
	}
	// Each day has a slot of equal width; its points sit in the middle.
	x := func(i int) float64 { return chartLeft + plotW*(float64(i)+0.5)/float64(max(n, 1)) }
	yCount := func(v int) float64 { return chartTop + plotH*(1-float64(v)/float64(maxCount)) }
	yRate := func(v float64) float64 { return chartTop + plotH*(1-v/100) }
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	text := func(s string) string {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(s)) // writing to a bytes.Buffer cannot fail
		return e.String()
	}

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, chartHeight, chartWidth, chartHeight)
	title := "Tickets " + d.Filters.From.Format("2006-01-02") + " to " + d.Filters.To.Format("2006-01-02 15:04") + " UTC"
	if d.Filters.WorkflowID != 0 {
		title += ", workflow " + strconv.FormatInt(d.Filters.WorkflowID, 10)
	}
	if d.Filters.Department != "" {
		title += ", department " + d.Filters.Department
	}
	if d.Filters.Priority != "" {
		title += ", priority " + d.Filters.Priority
	}
	fmt.Fprintf(&b, "<title>%s</title>\n", text(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, chartHeight)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16">%s</text>`+"\n", chartLeft, text(title))
	// Axes: counts on the left, percent on the right.
	bottom := chartTop + plotH
	fmt.Fprintf(&b, `<g id="axes" stroke="#555"><line x1="%d" y1="%d" x2="%d" y2="%s"/><line x1="%d" y1="%s" x2="%s" y2="%s"/><line x1="%s" y1="%d" x2="%s" y2="%s"/></g>`+"\n",
		chartLeft, chartTop, chartLeft, num(bottom), chartLeft, num(bottom), num(chartLeft+plotW), num(bottom), num(chartLeft+plotW), chartTop, num(chartLeft+plotW), num(bottom))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%d</text><text x="%d" y="%s" text-anchor="end">0</text>`+"\n", chartLeft-6, chartTop+4, maxCount, chartLeft-6, num(bottom+4))
	fmt.Fprintf(&b, `<text x="%s" y="%d">100 %%</text><text x="%s" y="%s">0 %%</text>`+"\n", num(chartLeft+plotW+6), chartTop+4, num(chartLeft+plotW+6), num(bottom+4))
	if n > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%s">%s</text><text x="%s" y="%s" text-anchor="end">%s</text>`+"\n",
			chartLeft, num(bottom+18), text(d.Series[0].Date), num(chartLeft+plotW), num(bottom+18), text(d.Series[n-1].Date))
	}

	// Volume: one bar per day.
	barW := plotW / float64(max(n, 1)) * 0.6
	fmt.Fprintf(&b, `<g id="volume" data-points="%d" fill="#9ecae1">`+"\n", n)
	for i, p := range d.Series {
		top := yCount(p.Created)
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s"><title>%s: %d created</title></rect>`+"\n",
			num(x(i)-barW/2), num(top), num(barW), num(bottom-top), text(p.Date), p.Created)
	}
	b.WriteString("</g>\n")

	// Open backlog: a line through every day.
	fmt.Fprintf(&b, `<g id="open-backlog" data-points="%d" stroke="#d62728" fill="none" stroke-width="2"><polyline points="`, n)
	for i, p := range d.Series {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(num(x(i)) + "," + num(yCount(p.OpenBacklog)))
	}
	b.WriteString("\"/></g>\n")

	// SLA compliance: a marker per day with a rate, joined by a line.
	var pts bytes.Buffer
	var marks bytes.Buffer
	rated := 0
	for i, p := range d.Series {
		if p.SLACompliance == nil {
			continue
		}
		if rated > 0 {
			pts.WriteByte(' ')
		}
		rated++
		pts.WriteString(num(x(i)) + "," + num(yRate(*p.SLACompliance)))
		fmt.Fprintf(&marks, `<circle cx="%s" cy="%s" r="3"><title>%s: %s %% met</title></circle>`+"\n",
			num(x(i)), num(yRate(*p.SLACompliance)), text(p.Date), num(*p.SLACompliance))
	}
	fmt.Fprintf(&b, `<g id="sla-compliance" data-points="%d" stroke="#2ca02c" fill="none" stroke-width="2">`+"\n", rated)
	if rated > 0 {
		fmt.Fprintf(&b, `<polyline points="%s"/>`+"\n", pts.String())
		b.WriteString(`<g fill="#2ca02c">` + "\n" + marks.String() + "</g>\n")
	}
	b.WriteString("</g>\n")

	// Legend.
	fmt.Fprintf(&b, `<g id="legend"><rect x="%d" y="%d" width="10" height="10" fill="#9ecae1"/><text x="%d" y="%d">tickets created</text>`+
		`<rect x="%d" y="%d" width="10" height="10" fill="#d62728"/><text x="%d" y="%d">open backlog</text>`+
		`<rect x="%d" y="%d" width="10" height="10" fill="#2ca02c"/><text x="%d" y="%d">SLA compliance (%%, right axis)</text></g>`+"\n",
		chartLeft, chartHeight-22, chartLeft+14, chartHeight-13,
		chartLeft+140, chartHeight-22, chartLeft+154, chartHeight-13,
		chartLeft+270, chartHeight-22, chartLeft+284, chartHeight-13)
	b.WriteString("</svg>\n")
	return b.Bytes()
}
