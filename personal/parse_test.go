package personal_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/bugflow/bugflow/personal"
)

// TestParse is the built-in chat parser's table: each phrasing and the
// tool call it becomes. "Now" is Wednesday 16 December 2026, 10:00 in
// UTC+1; dates are due at the end of their day there.
func TestParse(t *testing.T) {
	zone := time.FixedZone("UTC+1", 3600)
	now := time.Date(2026, 12, 16, 10, 0, 0, 0, zone)
	eod := func(month time.Month, day int) *time.Time {
		v := time.Date(2026, month, day, 23, 59, 59, 0, zone).UTC()
		if month < time.December {
			v = v.AddDate(1, 0, 0)
		}
		return &v
	}
	tests := []struct {
		msg  string
		want personal.Intent
	}{
		// add
		{"remind me to review the docs by Friday, high priority", personal.Intent{Tool: personal.ToolAdd, Task: "review the docs", Priority: personal.High, Due: eod(12, 18)}},
		{"Create a task to review project documentation", personal.Intent{Tool: personal.ToolAdd, Task: "review project documentation"}},
		{"add a task to buy milk", personal.Intent{Tool: personal.ToolAdd, Task: "buy milk"}},
		{"add buy milk tomorrow", personal.Intent{Tool: personal.ToolAdd, Task: "buy milk", Due: eod(12, 17)}},
		{"new task: call mum next Monday", personal.Intent{Tool: personal.ToolAdd, Task: "call mum", Due: eod(12, 21)}},
		{"I need to pay rent in 3 days", personal.Intent{Tool: personal.ToolAdd, Task: "pay rent", Due: eod(12, 19)}},
		{"todo: file taxes Dec 31", personal.Intent{Tool: personal.ToolAdd, Task: "file taxes", Due: eod(12, 31)}},
		{"remind me to water the plants today, low priority", personal.Intent{Tool: personal.ToolAdd, Task: "water the plants", Priority: personal.Low, Due: eod(12, 16)}},
		{"create an urgent task to fix the server", personal.Intent{Tool: personal.ToolAdd, Task: "fix the server", Priority: personal.Urgent}},
		{"add task write report due 2026-12-24 #work", personal.Intent{Tool: personal.ToolAdd, Task: "write report", Due: eod(12, 24), Tags: []string{"work"}}},
		{"add renew passport on 3rd January tagged admin", personal.Intent{Tool: personal.ToolAdd, Task: "renew passport", Due: eod(1, 3), Tags: []string{"admin"}}},
		{"remind me to book flights in two weeks", personal.Intent{Tool: personal.ToolAdd, Task: "book flights", Due: eod(12, 30)}},
		{"add call the bank on wednesday priority: high", personal.Intent{Tool: personal.ToolAdd, Task: "call the bank", Priority: personal.High, Due: eod(12, 16)}},
		{"remind me to send the invoice next week", personal.Intent{Tool: personal.ToolAdd, Task: "send the invoice", Due: eod(12, 23)}},
		{"add pick up parcel by Nov 2", personal.Intent{Tool: personal.ToolAdd, Task: "pick up parcel", Due: eod(11, 2)}},
		// complete
		{"mark the docs task done", personal.Intent{Tool: personal.ToolComplete, Task: "docs"}},
		{"complete buy milk", personal.Intent{Tool: personal.ToolComplete, Task: "buy milk"}},
		{"I finished the report", personal.Intent{Tool: personal.ToolComplete, Task: "report"}},
		{"mark pay rent as completed", personal.Intent{Tool: personal.ToolComplete, Task: "pay rent"}},
		{"done with call mum", personal.Intent{Tool: personal.ToolComplete, Task: "call mum"}},
		// status
		{"start the report", personal.Intent{Tool: personal.ToolSetStatus, Task: "report", Status: personal.InProgress}},
		{"mark call mum as in progress", personal.Intent{Tool: personal.ToolSetStatus, Task: "call mum", Status: personal.InProgress}},
		{"the server task is blocked", personal.Intent{Tool: personal.ToolSetStatus, Task: "server", Status: personal.Blocked}},
		// priority
		{"set the priority of the docs task to urgent", personal.Intent{Tool: personal.ToolSetPriority, Task: "docs", Priority: personal.Urgent}},
		{"make buy milk high priority", personal.Intent{Tool: personal.ToolSetPriority, Task: "buy milk", Priority: personal.High}},
		{"change priority of pay rent to low", personal.Intent{Tool: personal.ToolSetPriority, Task: "pay rent", Priority: personal.Low}},
		// reschedule and rename
		{"move pay rent to next Friday", personal.Intent{Tool: personal.ToolReschedule, Task: "pay rent", Due: eod(12, 18)}},
		{"reschedule the report to tomorrow", personal.Intent{Tool: personal.ToolReschedule, Task: "report", Due: eod(12, 17)}},
		{"postpone call mum until Dec 20", personal.Intent{Tool: personal.ToolReschedule, Task: "call mum", Due: eod(12, 20)}},
		{"rename buy milk to buy oat milk", personal.Intent{Tool: personal.ToolRename, Task: "buy milk", NewName: "buy oat milk"}},
		// remove
		{"delete the milk task", personal.Intent{Tool: personal.ToolRemove, Task: "milk"}},
		{"remove buy milk", personal.Intent{Tool: personal.ToolRemove, Task: "buy milk"}},
		{"cancel the task call mum", personal.Intent{Tool: personal.ToolRemove, Task: "call mum"}},
		// questions
		{"what's overdue?", personal.Intent{Tool: personal.ToolOverdue}},
		{"show overdue tasks", personal.Intent{Tool: personal.ToolOverdue}},
		{"anything late?", personal.Intent{Tool: personal.ToolOverdue}},
		{"how am I doing?", personal.Intent{Tool: personal.ToolStatistics}},
		{"show statistics", personal.Intent{Tool: personal.ToolStatistics}},
		{"how many tasks do I have", personal.Intent{Tool: personal.ToolStatistics}},
		{"group my tasks by priority", personal.Intent{Tool: personal.ToolGroup, GroupBy: "priority"}},
		{"group tasks by status", personal.Intent{Tool: personal.ToolGroup, GroupBy: "status"}},
		{"show tasks tagged work", personal.Intent{Tool: personal.ToolByTag, Tags: []string{"work"}}},
		{"tasks with tag #home", personal.Intent{Tool: personal.ToolByTag, Tags: []string{"home"}}},
		{"search for docs", personal.Intent{Tool: personal.ToolSearch, Query: "docs"}},
		{"find tasks about rent", personal.Intent{Tool: personal.ToolSearch, Query: "rent"}},
		{"list my tasks", personal.Intent{Tool: personal.ToolList}},
		{"show my tasks", personal.Intent{Tool: personal.ToolList}},
		{"what are my tasks?", personal.Intent{Tool: personal.ToolList}},
		{"what do I have to do today?", personal.Intent{Tool: personal.ToolList, DueToday: true}},
		{"show high priority tasks", personal.Intent{Tool: personal.ToolList, Priority: personal.High}},
		{"list completed tasks", personal.Intent{Tool: personal.ToolList, Status: personal.Completed}},
		{"hello there", personal.Intent{Tool: personal.ToolHelp}},
		{"add", personal.Intent{Tool: personal.ToolHelp}},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			assert.Equal(t, tt.want, personal.Parse(tt.msg, now, zone))
		})
	}
	assert.GreaterOrEqual(t, len(tests), 40)
}
