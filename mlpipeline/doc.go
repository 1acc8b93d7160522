// Package mlpipeline trains triage models from bug-tracker CSV exports and
// predicts the fields of new bugs with calibrated confidences (seeds/000
// steps 5-8). It is usable without HTTP:
//
//	model, report, err := mlpipeline.Train(ctx, []io.Reader{f}, mlpipeline.TrainOptions{}, nil)
//	pred, err := model.Predict("NPE in the scheduler after restart")
//
// # Ingestion
//
// Train streams each reader once: the separator (comma, semicolon or tab) is
// detected from the header, RFC 4180 quoting is honoured with line breaks
// (LF, CRLF or bare CR) inside quoted fields, a UTF-8 BOM is skipped and
// invalid UTF-8 repaired. Headers match ignoring case, spaces and punctuation,
// so several files with the same or compatible headers form one training set.
// Records with the wrong number of fields, an unterminated quote or over
// TrainOptions.MaxRecordBytes are counted in ParseStats.BadRows. Only the
// tokenised documents and the interned values of candidate columns are kept,
// never the raw file.
//
// # Column roles
//
// Text: the first Summary/Title-like column plus the first
// Description/Body-like one. Targets: known triage fields (Priority,
// Severity, Component, Assignee, Resolution, Status, Issue Type, Product,
// Project, ...) and other low-cardinality categorical columns; identifiers,
// dates, versions, reporters, free text and constant columns never are.
// TrainOptions.TextColumns and TargetColumns override; Report.Roles says what
// was chosen and why the rest was not.
//
// # Model
//
// Features are word unigrams and bigrams (CJK characters count as words, so
// Chinese and Japanese get character bigrams), plus character 3-5-grams of
// the summary's words on data sets of at most 10,000 training rows; TF-IDF
// with sublinear tf, smooth idf and min_df 2, L2-normalised. The vocabulary,
// min_df and idf are fitted on the training rows only, as scikit-learn's
// fit_transform then transform: held-out rows count in no document
// frequency. Features are 64-bit hashes, so the model stores no vocabulary
// strings (no collision on the apache export's millions of features: see
// TestAblation).
//
// Each target field gets one-vs-rest linear SVMs (squared hinge, C=1 as
// scikit-learn's LinearSVC)
// trained by dual coordinate descent with shrinking, parallel over
// (field, class) units on GOMAXPROCS workers. Rare classes: a value with
// fewer than TrainOptions.MinClassRows (default 2) training rows is not
// predicted; its rows remain negatives for the other classes. Rows with an
// empty target are skipped for that field only.
//
// The stored model learns from every training row. Calibration uses margins
// of models that did not see the rows, as scikit-learn's
// CalibratedClassifierCV(ensemble=False): 5-fold cross-validation below
// 8,000 training rows, then the stored model is trained on all of them;
// above, one fold (a 15% slice, at most 6,000 rows) is scored by a model
// trained on the rest, which then continues on all training rows (dual
// coordinate descent warm-started from its solution, so the refit costs a
// few passes rather than a second training). The calibration: one logit
// scale for all classes fitted by multinomial log-loss, a temperature, then
// a Platt correction and an isotonic curve (blocks of at least 100 rows) for
// the top probability, which is what the expected calibration error
// measures. Every step is monotone and shared by all classes, so the
// calibration preserves the argmax: the most probable value is the class of
// the largest one-vs-rest margin, as LinearSVC predicts. Per-class offsets
// fitted by log-loss would encode the class priors and, on skewed fields,
// move most decisions to the majority value (more accuracy, much less
// macro-F1), so there are none.
//
// The prediction is each field's most probable value and its confidence
// that calibrated probability (TrainOptions.DecisionRule
// DecisionMostProbable, the default). DecisionMacroF1 (form field
// decision_rule=macro_f1 on /demo_train) adds decision shifts chosen on the
// calibration rows to raise macro-F1 at a bounded cost in accuracy there
// (per class up to 30 classes, else one shift proportional to the log
// prior): rare values are predicted more often. It is off by default
// because its accuracy cost on data unlike the calibration rows is not
// bounded.
//
// # Persistence and jobs
//
// Service runs training jobs (CreateTraining, then RunTraining from the job
// queue: idempotent and safe to retry) and prediction jobs on a Store;
// BunStore keeps jobs and serialised models in SQLite or PostgreSQL
// (Migrations), and the Service keeps the most recently used models in a
// bounded in-memory cache. Jobs are visible to their owner and to admins.
// A running job writes its Progress to the store (each new stage at once,
// otherwise at most once per Config.ProgressEvery), so that a status request
// on any replica shows how far it is. A job that runs again because its
// previous attempt was interrupted (its worker process stopped, say) says so
// in its status description, with the attempt number, and its progress
// starts afresh (MarkRetrying). Once a job has an outcome, its files under
// Config.UploadDir (uploaded copies) are deleted.
//
// Metrics (accuracy, macro-F1, top-3 accuracy, ECE, classes, train/test
// rows) are measured per field on rows the stored model never saw: 20% of
// all rows are held out, drawn as scikit-learn's train_test_split(
// test_size=0.2, random_state=42) draws them, and a field's test rows are
// the held-out rows that have a value for it. On fields without empty
// values this is exactly the split of ../shared/data/bugs/BASELINES.md (go
// run ./bench/triage prints both side by side). One split moves accuracy and
// macro-F1 by about two points: go run ./bench/triage -datasets
// bench/triage/datasets.tsv compares with scikit-learn on 13 data sets and
// five splits each (see the README).
//
// # Anonymisation
//
// With TrainOptions.Anonymize, values of personal columns (assignee,
// reporter, user, e-mail ... by header, or e-mail-like values) become keyed
// HMAC-SHA256 pseudonyms "user-xxxxxxxxxx", e-mail addresses in the text are
// replaced by a neutral token, and words of personal values are removed from
// the vocabulary. The original values are not stored in the model.
//
// # Serialisation
//
// Model.MarshalBinary writes a version-tagged, DEFLATE-compressed blob;
// weights below TrainOptions.PruneWeight are dropped (the apache export's
// model is about 14 MB).
package mlpipeline
