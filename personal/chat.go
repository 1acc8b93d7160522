package personal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

// Chat limits.
const (
	MaxChatMessageLength = 2000 // characters of one message
	MaxSessionIDLength   = 100
	// ChatHistoryLimit is how many messages (the user's and the agent's) a
	// session keeps; older ones are deleted.
	ChatHistoryLimit = 50
	// maxListed bounds the tasks one answer lists in its text.
	maxListed = 20
)

// ChatMessage is one stored message of a chat session.
type ChatMessage struct {
	Role    string    `json:"role"` // "user" or "assistant"
	Content string    `json:"content"`
	At      time.Time `json:"at"`
}

// ChatReply is the agent's answer to one message: its text, the session it
// belongs to and the tasks the message touched (created, changed, removed
// or listed).
type ChatReply struct {
	Response  string `json:"response"`
	SessionID string `json:"session_id"`
	Tasks     []Task `json:"tasks"`
}

// Planner turns a message into the tool call it asks for. The built-in
// parser (BuiltinPlanner) is the default; a language model can stand in.
type Planner interface {
	Plan(ctx context.Context, history []ChatMessage, message string, now time.Time, loc *time.Location) (Intent, error)
}

// BuiltinPlanner is the offline Planner: Parse.
type BuiltinPlanner struct{}

// Plan implements Planner.
func (BuiltinPlanner) Plan(_ context.Context, _ []ChatMessage, message string, now time.Time, loc *time.Location) (Intent, error) {
	return Parse(message, now, loc), nil
}

// ChatStore keeps chat sessions. BunStore implements it.
type ChatStore interface {
	// ChatHistory returns the last limit messages of owner's session,
	// oldest first.
	ChatHistory(ctx context.Context, owner, session string, limit int) ([]ChatMessage, error)
	// AppendChat stores msgs in owner's session and deletes all but its
	// last keep messages.
	AppendChat(ctx context.Context, owner, session string, msgs []ChatMessage, keep int) error
}

// Chat answers one message of owner in a session ("" starts a new one),
// doing what it asks to owner's tasks. Sessions are owner's own: the same
// id used by another user is another session.
func (s *Service) Chat(ctx context.Context, owner, sessionID, message string) (ChatReply, error) {
	if err := store.CheckText("message", message); err != nil {
		return ChatReply{}, err
	}
	if err := store.CheckText("session_id", sessionID); err != nil {
		return ChatReply{}, err
	}
	switch n := utf8.RuneCountInString(message); {
	case strings.TrimSpace(message) == "":
		return ChatReply{}, errs.InvalidField("message", "is required")
	case n > MaxChatMessageLength:
		return ChatReply{}, errs.InvalidField("message", fmt.Sprintf("must be at most %d characters", MaxChatMessageLength))
	}
	if utf8.RuneCountInString(sessionID) > MaxSessionIDLength {
		return ChatReply{}, errs.InvalidField("session_id", fmt.Sprintf("must be at most %d characters", MaxSessionIDLength))
	}
	if s.chats == nil {
		return ChatReply{}, errs.Unavailablef("chat is not available")
	}
	if strings.TrimSpace(sessionID) == "" {
		sessionID = uuid.NewString()
	}
	history, err := s.chats.ChatHistory(ctx, owner, sessionID, ChatHistoryLimit)
	if err != nil {
		return ChatReply{}, fmt.Errorf("personal: chat: %w", err)
	}
	now := s.now()
	intent, err := s.planner.Plan(ctx, history, message, now, s.loc)
	if err != nil {
		// A model that is down or answers nonsense must not take the
		// chat down with it: the built-in parser answers instead.
		s.log.WarnContext(ctx, "chat planner failed; using the built-in parser", "error", err.Error())
		intent = Parse(message, now, s.loc)
	}
	text, tasks, err := s.performIntent(ctx, owner, intent)
	if err != nil {
		if k := errs.KindOf(err); k != errs.Invalid && k != errs.Conflict {
			return ChatReply{}, fmt.Errorf("personal: chat: %w", err)
		}
		// The user's mistake (a name too long, too many tasks) is the
		// agent's answer, not a failed request.
		text = "I could not do that: " + errs.As(err).Message + "."
	}
	err = s.chats.AppendChat(ctx, owner, sessionID, []ChatMessage{
		{Role: "user", Content: message, At: now},
		{Role: "assistant", Content: text, At: now},
	}, ChatHistoryLimit)
	if err != nil {
		return ChatReply{}, fmt.Errorf("personal: chat: %w", err)
	}
	if tasks == nil {
		tasks = []Task{}
	}
	return ChatReply{Response: text, SessionID: sessionID, Tasks: tasks}, nil
}

// ChatHistory returns owner's session, oldest first.
func (s *Service) ChatHistory(ctx context.Context, owner, sessionID string) ([]ChatMessage, error) {
	if s.chats == nil {
		return nil, errs.Unavailablef("chat is not available")
	}
	return s.chats.ChatHistory(ctx, owner, sessionID, ChatHistoryLimit)
}

// performIntent does what intent asks with owner's tasks and says what it did.
func (s *Service) performIntent(ctx context.Context, owner string, in Intent) (string, []Task, error) {
	switch in.Tool {
	case ToolAdd:
		t, err := s.CreateTask(ctx, owner, NewTask{Name: in.Task, Priority: in.Priority, DueDate: in.Due, Tags: in.Tags})
		if err != nil {
			return "", nil, err
		}
		return "Added " + s.describe(t) + ".", []Task{t}, nil
	case ToolRemove, ToolComplete, ToolSetStatus, ToolSetPriority, ToolReschedule, ToolRename:
		return s.change(ctx, owner, in)
	case ToolList:
		f := Filter{Status: in.Status, Priority: in.Priority}
		if in.DueToday {
			start, end := s.today()
			before := end.UTC()
			after := start.UTC().Add(-time.Microsecond)
			f.DueBefore, f.DueAfter = &before, &after
		}
		tasks, err := s.ListTasks(ctx, owner, f)
		return s.listing("Your tasks", tasks), tasks, err
	case ToolSearch:
		tasks, err := s.ListTasks(ctx, owner, Filter{Q: truncate(in.Query, MaxQueryLength)})
		return s.listing(fmt.Sprintf("Tasks matching %q", in.Query), tasks), tasks, err
	case ToolByTag:
		tasks, err := s.ListTasks(ctx, owner, Filter{Tag: truncate(in.Tags[0], MaxTagLength)})
		return s.listing(fmt.Sprintf("Tasks tagged %q", in.Tags[0]), tasks), tasks, err
	case ToolOverdue:
		tasks, err := s.overdue(ctx, owner)
		return s.listing("Overdue tasks", tasks), tasks, err
	case ToolStatistics:
		return s.statistics(ctx, owner)
	case ToolGroup:
		return s.group(ctx, owner, in.GroupBy)
	default:
		if in.Reply != "" {
			return truncate(in.Reply, MaxChatMessageLength), nil, nil
		}
		return "I can add, remove, rename, reschedule and complete tasks, change their priority or status, " +
			"and list, search, group or count them. Try \"remind me to review the docs by Friday, high priority\" or \"what's overdue?\".", nil, nil
	}
}

// change applies a change intent to the one task its words name.
func (s *Service) change(ctx context.Context, owner string, in Intent) (string, []Task, error) {
	t, candidates, err := s.resolve(ctx, owner, in.Task)
	if err != nil {
		return "", nil, err
	}
	if t == nil {
		if len(candidates) == 0 {
			return fmt.Sprintf("I found no task matching %q.", in.Task), nil, nil
		}
		return s.listing(fmt.Sprintf("Several tasks match %q; which one", in.Task), candidates), candidates, nil
	}
	var ch TaskChange
	var verb string
	switch in.Tool {
	case ToolRemove:
		if err := s.DeleteTask(ctx, owner, t.ID); err != nil {
			return "", nil, err
		}
		return "Removed " + s.describe(*t) + ".", []Task{*t}, nil
	case ToolComplete:
		ch.Status, verb = ptrTo(Completed), "Completed"
	case ToolSetStatus:
		ch.Status, verb = ptrTo(in.Status), "Updated"
	case ToolSetPriority:
		ch.Priority, verb = ptrTo(in.Priority), "Updated"
	case ToolReschedule:
		ch.DueDate, verb = in.Due, "Rescheduled"
	case ToolRename:
		ch.Name, verb = ptrTo(in.NewName), "Renamed"
	}
	u, err := s.UpdateTask(ctx, owner, t.ID, ch)
	if err != nil {
		return "", nil, err
	}
	return verb + " " + s.describe(u) + ".", []Task{u}, nil
}

// resolve finds the one task of owner that words name: the only one whose
// name contains them, or among several the one named exactly so, or the
// only unfinished one. Otherwise it returns the candidates.
func (s *Service) resolve(ctx context.Context, owner, words string) (*Task, []Task, error) {
	tasks, err := s.ListTasks(ctx, owner, Filter{Q: truncate(words, MaxQueryLength)})
	if err != nil {
		return nil, nil, err
	}
	var named []Task
	for _, t := range tasks {
		if strings.Contains(strings.ToLower(t.Name), strings.ToLower(words)) {
			named = append(named, t)
		}
	}
	if len(named) == 0 {
		named = tasks // the words were in a description
	}
	if len(named) == 1 {
		return &named[0], nil, nil
	}
	for i, t := range named {
		if strings.EqualFold(t.Name, words) {
			return &named[i], nil, nil
		}
	}
	open := slices.DeleteFunc(slices.Clone(named), func(t Task) bool { return t.Status == Completed })
	if len(open) == 1 {
		return &open[0], nil, nil
	}
	return nil, named, nil
}

// overdue returns owner's unfinished tasks due before now.
func (s *Service) overdue(ctx context.Context, owner string) ([]Task, error) {
	now := s.now()
	tasks, err := s.ListTasks(ctx, owner, Filter{DueBefore: &now})
	return slices.DeleteFunc(tasks, func(t Task) bool { return t.Status == Completed }), err
}

func (s *Service) statistics(ctx context.Context, owner string) (string, []Task, error) {
	tasks, err := s.ListTasks(ctx, owner, Filter{})
	if err != nil {
		return "", nil, err
	}
	late, err := s.overdue(ctx, owner)
	if err != nil {
		return "", nil, err
	}
	count := map[Status]int{}
	for _, t := range tasks {
		count[t.Status]++
	}
	rate := 0
	if len(tasks) > 0 {
		rate = count[Completed] * 100 / len(tasks)
	}
	return fmt.Sprintf("You have %d task(s): %d not started, %d in progress, %d blocked, %d completed (%d%%); %d overdue.",
		len(tasks), count[NotStarted], count[InProgress], count[Blocked], count[Completed], rate, len(late)), nil, nil
}

func (s *Service) group(ctx context.Context, owner, by string) (string, []Task, error) {
	tasks, err := s.ListTasks(ctx, owner, Filter{})
	if err != nil {
		return "", nil, err
	}
	var keys []string
	key := func(t Task) string { return string(t.Status) }
	if by == "priority" {
		key = func(t Task) string { return string(t.Priority) }
		for _, p := range slices.Backward(Priorities) {
			keys = append(keys, string(p))
		}
	} else {
		for _, st := range Statuses {
			keys = append(keys, string(st))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Your tasks by %s:", by)
	for _, k := range keys {
		var names []string
		for _, t := range tasks {
			if key(t) == k {
				names = append(names, t.Name)
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(&b, "\n%s (%d): %s", k, len(names), strings.Join(names[:min(len(names), maxListed)], ", "))
		}
	}
	if len(tasks) == 0 {
		b.WriteString(" none yet.")
	}
	return b.String(), tasks, nil
}

// listing is an answer listing tasks under a heading.
func (s *Service) listing(heading string, tasks []Task) string {
	if len(tasks) == 0 {
		return heading + ": none."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d):", heading, len(tasks))
	for _, t := range tasks[:min(len(tasks), maxListed)] {
		b.WriteString("\n- " + s.describe(t))
	}
	if len(tasks) > maxListed {
		fmt.Fprintf(&b, "\n... and %d more", len(tasks)-maxListed)
	}
	return b.String()
}

// describe is one task in a sentence.
func (s *Service) describe(t Task) string {
	out := fmt.Sprintf("%q (%s priority, %s", t.Name, t.Priority, strings.ReplaceAll(string(t.Status), "_", " "))
	if t.DueDate != nil {
		out += ", due " + t.DueDate.In(s.loc).Format("Mon 2 Jan 2006 15:04")
	}
	return out + ")"
}

func ptrTo[T any](v T) *T { return &v }

// truncate cuts s to n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
