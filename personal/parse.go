package personal

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Tool names what a chat message asks for: the chat agent's tools.
type Tool string

// The chat agent's tools.
const (
	ToolAdd         Tool = "add_task"
	ToolRemove      Tool = "remove_task"
	ToolComplete    Tool = "complete_task"
	ToolSetStatus   Tool = "set_status"
	ToolSetPriority Tool = "change_priority"
	ToolReschedule  Tool = "reschedule_task"
	ToolRename      Tool = "rename_task"
	ToolList        Tool = "list_tasks"
	ToolSearch      Tool = "search_tasks"
	ToolOverdue     Tool = "overdue_tasks"
	ToolStatistics  Tool = "statistics"
	ToolByTag       Tool = "tasks_by_tag"
	ToolGroup       Tool = "group_tasks"
	ToolHelp        Tool = "help"
)

// Intent is one tool call: what a message asks for, with its arguments.
type Intent struct {
	Tool Tool `json:"tool"`
	// Task is the new task's name (add) or the words naming an existing
	// one (every other tool that changes a task).
	Task     string     `json:"task,omitempty"`
	NewName  string     `json:"new_name,omitempty"`
	Priority Priority   `json:"priority,omitempty"`
	Status   Status     `json:"status,omitempty"`
	Due      *time.Time `json:"due,omitempty"`
	// DueToday narrows a list to tasks due today.
	DueToday bool     `json:"due_today,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Query    string   `json:"query,omitempty"`
	// GroupBy is "priority" or "status".
	GroupBy string `json:"group_by,omitempty"`
	// Reply is a planner's own answer to a message that asks for no tool.
	Reply string `json:"reply,omitempty"`
}

const weekdayNames = `monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun`
const monthNames = `jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept|september|oct|october|nov|november|dec|december`

// dateExpr matches the dates the parser understands, with the word that
// may introduce them.
var dateExpr = regexp.MustCompile(`(?i)(?:[,\s]+(?:by|on|due(?:\s+on|\s+by)?|before|until|for))?[,\s]+(today|tonight|tomorrow|next\s+week|next\s+(?:` + weekdayNames + `)|(?:this\s+)?(?:` + weekdayNames + `)|in\s+(\d{1,3}|a|one|two|three)\s+(days?|weeks?)|(?:` + monthNames + `)\.?\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+(?:` + monthNames + `)|\d{4}-\d{2}-\d{2})\b`)

var (
	priorityExpr = regexp.MustCompile(`(?i)[,\s]+(?:with\s+|at\s+)?(?:a\s+)?(low|medium|high|urgent)\s+priority\b|[,\s]+priority[:\s]+(low|medium|high|urgent)\b`)
	tagExpr      = regexp.MustCompile(`(?i)[,\s]+#([\p{L}\d_-]+)|[,\s]+tagged\s+([\p{L}\d_-]+)`)
)

// rule is one phrasing family: a pattern and how its match becomes an
// Intent (nil when the match is no such request after all).
type rule struct {
	re    *regexp.Regexp
	build func(m []string, p *parser) *Intent
}

// parser turns a message into an Intent, reading dates against now in
// loc.
type parser struct {
	now time.Time
	loc *time.Location
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)^` + s + `$`) }

// rules are tried in order: changes to tasks (which start with their
// verb) before questions, which are looser.
var rules = []rule{
	{re(`(?:please\s+)?(?:remind\s+me\s+to|i\s+(?:need|have|must|should)\s+to|(?:add|create|make)(?:\s+an?)?(?:\s+new)?(?:\s+(low|medium|high|urgent))?(?:\s+priority)?\s+(?:task|todo|to-do|reminder)(?:\s+to|\s+for)?:?|add|new\s+task:?|todo:?|to-do:?)\s+(.+)`),
		func(m []string, p *parser) *Intent {
			in := &Intent{Tool: ToolAdd, Priority: Priority(strings.ToLower(m[1]))}
			rest := p.takeDetails(m[2], in)
			in.Task = cleanName(rest)
			if in.Task == "" {
				return nil
			}
			return in
		}},
	{re(`(?:mark|set)\s+(.+?)\s+(?:as\s+)?(?:done|complete|completed|finished)`), ref(ToolComplete)},
	{re(`(?:complete|finish|close|tick\s+off|check\s+off)\s+(.+)`), ref(ToolComplete)},
	{re(`i(?:'ve|\s+have)?\s+(?:finished|completed|done)\s+(.+)`), ref(ToolComplete)},
	{re(`done\s+with\s+(.+)`), ref(ToolComplete)},
	{re(`(?:mark|set)\s+(.+?)\s+(?:as\s+)?(in\s+progress|blocked|not\s+started|to\s*do)`), func(m []string, _ *parser) *Intent {
		st := map[string]Status{"in progress": InProgress, "blocked": Blocked, "not started": NotStarted, "to do": NotStarted, "todo": NotStarted}[strings.Join(strings.Fields(strings.ToLower(m[2])), " ")]
		return &Intent{Tool: ToolSetStatus, Task: cleanRef(m[1]), Status: st}
	}},
	{re(`(?:start|begin|start\s+working\s+on|work\s+on)\s+(.+)`), func(m []string, _ *parser) *Intent {
		return &Intent{Tool: ToolSetStatus, Task: cleanRef(m[1]), Status: InProgress}
	}},
	{re(`(.+?)\s+is\s+blocked`), func(m []string, _ *parser) *Intent {
		return &Intent{Tool: ToolSetStatus, Task: cleanRef(m[1]), Status: Blocked}
	}},
	{re(`(?:set|change|update)\s+(?:the\s+)?priority\s+(?:of|for|on)\s+(.+?)\s+to\s+(low|medium|high|urgent)`), func(m []string, _ *parser) *Intent {
		return &Intent{Tool: ToolSetPriority, Task: cleanRef(m[1]), Priority: Priority(strings.ToLower(m[2]))}
	}},
	{re(`(?:make|set|mark)\s+(.+?)\s+(?:as\s+)?(low|medium|high|urgent)(?:\s+priority)?`), func(m []string, _ *parser) *Intent {
		return &Intent{Tool: ToolSetPriority, Task: cleanRef(m[1]), Priority: Priority(strings.ToLower(m[2]))}
	}},
	{re(`(?:move|reschedule|postpone|push|delay)\s+(.+?)\s+(?:to|until|till)\s+(.+)`), func(m []string, p *parser) *Intent {
		due, ok := p.date(m[2])
		if !ok {
			return nil
		}
		return &Intent{Tool: ToolReschedule, Task: cleanRef(m[1]), Due: &due}
	}},
	{re(`rename\s+(.+?)\s+to\s+(.+)`), func(m []string, _ *parser) *Intent {
		return &Intent{Tool: ToolRename, Task: cleanRef(m[1]), NewName: cleanName(m[2])}
	}},
	{re(`(?:delete|remove|cancel|drop|forget(?:\s+about)?)\s+(.+)`), ref(ToolRemove)},
	{re(`.*\bgroup(?:ed)?\b.*\bby\s+(priority|status)`), func(m []string, _ *parser) *Intent {
		return &Intent{Tool: ToolGroup, GroupBy: strings.ToLower(m[1])}
	}},
	{re(`.*\b(?:stat(?:istic)?s|how\s+am\s+i\s+doing|how\s+many\s+tasks|summary|my\s+progress)\b.*`), func([]string, *parser) *Intent {
		return &Intent{Tool: ToolStatistics}
	}},
	{re(`.*\b(?:overdue|late|past\s+due|behind)\b.*`), func([]string, *parser) *Intent {
		return &Intent{Tool: ToolOverdue}
	}},
	{re(`.*\b(?:tagged|with\s+(?:the\s+)?tag|tag)\s+#?([\p{L}\d_-]+).*`), func(m []string, _ *parser) *Intent {
		return &Intent{Tool: ToolByTag, Tags: []string{strings.ToLower(m[1])}}
	}},
	{re(`(?:search|find|look)\s+(?:up\s+)?(?:for\s+)?(?:my\s+)?(?:tasks?\s+)?(?:about|with|mentioning|containing|named|called)?\s*(.+)`), func(m []string, _ *parser) *Intent {
		q := cleanRef(m[1])
		if q == "" {
			return nil
		}
		return &Intent{Tool: ToolSearch, Query: q}
	}},
	{re(`(?:list|show|display|give\s+me|what(?:'s|\s+is|\s+are)?|which|what\s+do\s+i\s+have|what\s+should\s+i\s+do|my)\b.*`), func(m []string, _ *parser) *Intent {
		in := &Intent{Tool: ToolList}
		low := strings.ToLower(m[0])
		for _, pr := range Priorities {
			if strings.Contains(low, string(pr)+" priority") || strings.Contains(low, string(pr)+" tasks") {
				in.Priority = pr
			}
		}
		for word, st := range map[string]Status{"completed": Completed, "done": Completed, "finished": Completed, "in progress": InProgress, "blocked": Blocked, "not started": NotStarted} {
			if strings.Contains(low, word) {
				in.Status = st
			}
		}
		in.DueToday = strings.Contains(low, "today")
		return in
	}},
}

// ref builds an intent of tool on the task its match names.
func ref(tool Tool) func(m []string, _ *parser) *Intent {
	return func(m []string, _ *parser) *Intent {
		r := cleanRef(m[1])
		if r == "" {
			return nil
		}
		return &Intent{Tool: tool, Task: r}
	}
}

// Parse turns a message into the Intent it asks for; a message it does
// not understand is ToolHelp. Relative dates ("tomorrow", "next Monday",
// "in 3 days", "Dec 31") are read against now in loc; a date is due at
// the end of its day.
func Parse(message string, now time.Time, loc *time.Location) Intent {
	p := &parser{now: now.In(loc), loc: loc}
	msg := strings.TrimSpace(strings.Join(strings.Fields(message), " "))
	msg = strings.TrimRight(msg, "?!. ")
	for _, r := range rules {
		if m := r.re.FindStringSubmatch(msg); m != nil {
			if in := r.build(m, p); in != nil {
				return *in
			}
		}
	}
	return Intent{Tool: ToolHelp}
}

// takeDetails removes the priority, tags and due date from the text of a
// new task, setting them on in, and returns the rest.
func (p *parser) takeDetails(text string, in *Intent) string {
	text = " " + text
	if m := priorityExpr.FindStringSubmatchIndex(text); m != nil {
		sub := priorityExpr.FindStringSubmatch(text)
		in.Priority = Priority(strings.ToLower(sub[1] + sub[2]))
		text = text[:m[0]] + text[m[1]:]
	}
	for _, m := range tagExpr.FindAllStringSubmatch(text, -1) {
		in.Tags = append(in.Tags, strings.ToLower(m[1]+m[2]))
	}
	text = tagExpr.ReplaceAllString(text, "")
	if m := dateExpr.FindStringSubmatchIndex(text); m != nil {
		if due, ok := p.date(text[m[2]:m[3]]); ok {
			in.Due = &due
			text = text[:m[0]] + text[m[1]:]
		}
	}
	return text
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March, "apr": time.April, "may": time.May, "jun": time.June,
	"jul": time.July, "aug": time.August, "sep": time.September, "oct": time.October, "nov": time.November, "dec": time.December,
}

var (
	inExpr       = regexp.MustCompile(`(?i)^in\s+(\d{1,3}|a|one|two|three)\s+(day|week)s?$`)
	monthDayExpr = regexp.MustCompile(`(?i)^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?$`)
	dayMonthExpr = regexp.MustCompile(`(?i)^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)$`)
)

// date reads one date expression as the end of that day in p.loc.
// A bare weekday is the next such day from today on (today included);
// "next Monday" is the first Monday after today; a month and day without
// a year is the next one from today on.
func (p *parser) date(expr string) (time.Time, bool) {
	s := strings.ToLower(strings.Join(strings.Fields(expr), " "))
	today := time.Date(p.now.Year(), p.now.Month(), p.now.Day(), 0, 0, 0, 0, p.loc)
	endOf := func(d time.Time) (time.Time, bool) {
		return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, p.loc).UTC(), true
	}
	switch s {
	case "today", "tonight":
		return endOf(today)
	case "tomorrow":
		return endOf(today.AddDate(0, 0, 1))
	case "next week":
		return endOf(today.AddDate(0, 0, 7))
	}
	if rest, ok := strings.CutPrefix(s, "next "); ok {
		if wd, ok := weekdays[rest[:min(3, len(rest))]]; ok {
			ahead := (int(wd) - int(today.Weekday()) + 7) % 7
			if ahead == 0 {
				ahead = 7
			}
			return endOf(today.AddDate(0, 0, ahead))
		}
	}
	s = strings.TrimPrefix(s, "this ")
	if wd, ok := weekdays[s[:min(3, len(s))]]; ok && len(s) <= 9 {
		return endOf(today.AddDate(0, 0, (int(wd)-int(today.Weekday())+7)%7))
	}
	if m := inExpr.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			n = map[string]int{"a": 1, "one": 1, "two": 2, "three": 3}[m[1]]
		}
		if m[2] == "week" {
			n *= 7
		}
		return endOf(today.AddDate(0, 0, n))
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, p.loc); err == nil {
		return endOf(t)
	}
	var mon, day string
	if m := monthDayExpr.FindStringSubmatch(s); m != nil {
		mon, day = m[1], m[2]
	} else if m := dayMonthExpr.FindStringSubmatch(s); m != nil {
		mon, day = m[2], m[1]
	} else {
		return time.Time{}, false
	}
	month, ok := months[mon[:min(3, len(mon))]]
	d, err := strconv.Atoi(day)
	if !ok || err != nil || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(today.Year(), month, d, 0, 0, 0, 0, p.loc)
	if t.Day() != d {
		return time.Time{}, false // e.g. Feb 30
	}
	if t.Before(today) {
		t = t.AddDate(1, 0, 0)
	}
	return endOf(t)
}

// cleanName tidies a new task's name: spaces, a trailing comma, quotes.
func cleanName(s string) string {
	s = strings.Trim(strings.TrimSpace(s), `,;:"'“”`)
	return strings.Join(strings.Fields(s), " ")
}

// cleanRef reduces the words naming a task to what to look for: "the docs
// task" is "docs", "my task called X" is "X".
func cleanRef(s string) string {
	s = cleanName(s)
	low := strings.ToLower(s)
	for _, prefix := range []string{"the task called ", "the task named ", "task called ", "task named ", "the task ", "my task ", "the ", "my ", "task "} {
		if strings.HasPrefix(low, prefix) {
			s, low = s[len(prefix):], low[len(prefix):]
			break
		}
	}
	for _, suffix := range []string{" task", " todo", " one"} {
		if strings.HasSuffix(low, suffix) {
			s = s[:len(s)-len(suffix)]
			break
		}
	}
	return cleanName(s)
}
