package analysis

// Failure is one failed test ready for analysis, from a JUnit report or
// given directly.
type Failure struct {
	TestName   string
	ClassName  string
	Message    string
	StackTrace string
	// File and Line locate the failure when the report says so.
	File string
	Line string
	// Signature is filled by GroupFailures when empty.
	Signature string
	// FlakyEvidence explains why the test is suspected flaky (empty when
	// it is not).
	FlakyEvidence string
}

// FailureFromTestCase converts a parsed failed or errored testcase.
func FailureFromTestCase(tc TestCase) Failure {
	return Failure{
		TestName:   tc.TestName,
		ClassName:  tc.ClassName,
		Message:    tc.Message,
		StackTrace: tc.StackTrace,
		File:       tc.File,
		Line:       tc.Line,
	}
}

// FailureFromInput converts a directly given failure. The message defaults
// to the first non-blank line of the stack trace, as for JUnit bodies.
func FailureFromInput(in FailureInput) Failure {
	msg := in.ErrorMessage
	if msg == "" {
		msg = firstLine(in.StackTrace)
	}
	return Failure{TestName: in.TestName, Message: msg, StackTrace: in.StackTrace}
}

// Group is a set of failures with one signature: they are analysed once and
// the result is copied to every member.
type Group struct {
	Signature string
	// Failures are the members in input order; Failures[0] represents the
	// group.
	Failures []Failure
}

// Representative returns the failure that stands for the group.
func (g Group) Representative() Failure {
	if len(g.Failures) == 0 {
		return Failure{}
	}
	return g.Failures[0]
}

// TestNames returns the distinct member test names in order.
func (g Group) TestNames() []string {
	seen := make(map[string]bool, len(g.Failures))
	names := make([]string, 0, len(g.Failures))
	for _, f := range g.Failures {
		if !seen[f.TestName] {
			seen[f.TestName] = true
			names = append(names, f.TestName)
		}
	}
	return names
}

// GroupFailures computes missing signatures and groups the failures by
// signature, groups ordered by first appearance.
func GroupFailures(failures []Failure) []Group {
	index := make(map[string]int)
	var groups []Group
	for _, f := range failures {
		if f.Signature == "" {
			f.Signature = Signature(f.Message, f.StackTrace)
		}
		i, ok := index[f.Signature]
		if !ok {
			i = len(groups)
			index[f.Signature] = i
			groups = append(groups, Group{Signature: f.Signature})
		}
		groups[i].Failures = append(groups[i].Failures, f)
	}
	return groups
}
