// Package analysis is bugflow's CI failure analysis (seeds/001): it reads
// JUnit XML reports, groups failures by a normalised signature, classifies
// each group as CODE ISSUE, PRODUCT BUG or INFRASTRUCTURE, and writes the
// verdicts back into the report.
//
// The pieces, each usable on its own:
//
//   - ScanJUnit / ParseJUnit: a streaming JUnit parser for pytest, Surefire
//     (flakyFailure, rerunFailure), go-junit-report, gotestsum, jest, mocha,
//     TestNG, nextest, Catch2, Bazel, PHPUnit and friends. It refuses DTDs,
//     caps size, element count and depth, and keeps only one testcase in
//     memory at a time.
//   - Normalise / Signature: a versioned normaliser (NormaliserVersion) of
//     messages and top stack frames, and the SHA-256 signature over them, so
//     the same failure groups together across runs.
//   - Analyzer: the plug-in point for classifiers. OfflineAnalyzer is the
//     default: rules for environment, test-code and product patterns, plus
//     a SimilarityIndex that learns from human classifications (TF-IDF,
//     nearest-neighbour vote).
//   - AI analyzers (AISettings, Service.AnalyzerFor): configured command
//     lines for the claude, gemini and cursor providers (prompt on stdin,
//     timeout killing the process group, bounded output) and an
//     OpenAI-compatible chat-completions client; Debate runs the peer
//     debate over any analyzers. PrecedenceAnalyzer keeps a person's label
//     of a signature above everything, then learned examples and rules,
//     then AI, and falls back to the offline analysis, saying so, when an
//     AI analyzer fails. Detail.Source names what decided.
//   - DetectFlaky: tests that failed and passed in one job within 14 days.
//   - EnrichXML: the original report with ai_* properties and a summary in
//     each failed testcase.
//   - AnalyzeReport / AnalyzeFailures: all of the above in one call,
//     returning the FailureAnalysisResult of seeds/001.
//   - Service on a Store (BunStore, Migrations): stored results with
//     progress, one history row per test outcome (passes included),
//     overrides that patch results (enriched XML included) in one
//     transaction and teach the analyzer, comments,
//     reviews, history labels, and the history queries (real failure
//     streaks, pass counts, flaky tests, job trends).
//   - Trackers (TrackerConfig): drafts of GitHub issues and Jira bugs from
//     a stored failure (following human overrides), duplicate search,
//     creation with reporter attribution and a back-link comment, Jira
//     projects and security levels, token validation. The HTTP clients
//     live in package integrations.
package analysis
