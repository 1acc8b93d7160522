package mlpipeline

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bugflow/bugflow/errs"
)

// Column value interning limits. A column that exceeds them is an identifier,
// a date or free text and can never be a target, so its values are dropped as
// soon as that is clear instead of being held for the whole file.
const (
	maxDistinctValues = 20000
	maxValueBytes     = 120
	sampleRows        = 1000
)

// ParseStats describes what ingestion read.
type ParseStats struct {
	Files int `json:"files"`
	// Rows is the number of data records read (header excluded).
	Rows int `json:"rows"`
	// UsedRows were turned into training documents.
	UsedRows int `json:"used_rows"`
	// BadRows could not be parsed: wrong number of fields, unterminated
	// quote, or a record over the size limit.
	BadRows int `json:"bad_rows"`
	// EmptyTextRows had no text in any text column.
	EmptyTextRows int `json:"empty_text_rows"`
	// Separators lists the detected separator of each file.
	Separators []string `json:"separators"`
	// Truncated is set when MaxRows stopped ingestion early.
	Truncated bool `json:"truncated,omitempty"`
}

// column gathers one CSV column's values and statistics during ingestion.
type column struct {
	name     string
	key      string
	personal bool
	text     bool

	nonEmpty  int
	longVals  int
	dropped   bool // too many distinct or too long values: never a target
	index     map[string]int32
	values    []string
	ids       []int32 // per used row, -1 when empty; nil once dropped
	totalLen  int64
	emailVals int
}

func (c *column) add(v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		if !c.dropped {
			c.ids = append(c.ids, -1)
		}
		return
	}
	c.nonEmpty++
	c.totalLen += int64(len(v))
	if strings.Contains(v, "@") {
		c.emailVals++
	}
	if c.dropped {
		return
	}
	if len(v) > maxValueBytes {
		c.longVals++
		if c.longVals*10 > c.nonEmpty+100 {
			c.drop()
			return
		}
	}
	id, ok := c.index[v]
	if !ok {
		if len(c.values) >= maxDistinctValues {
			c.drop()
			return
		}
		id = int32(len(c.values))
		v = strings.Clone(v) // detach from the record's backing string
		c.index[v] = id
		c.values = append(c.values, v)
	}
	c.ids = append(c.ids, id)
}

func (c *column) drop() {
	c.dropped = true
	c.index = nil
	c.values = nil
	c.ids = nil
}

// dataset is the ingested training data: documents as sparse TF-IDF rows and
// the interned values of every other column.
type dataset struct {
	columns  []*column
	textCols []int
	stats    ParseStats

	// CSR rows over provisional feature ids while ingesting; over final
	// feature indices with TF-IDF values after finish.
	ptr []int
	ind []int32
	cnt []uint16
	val []float32

	featID  map[uint64]int32
	hashes  []uint64 // provisional id -> hash
	df      []int32
	vocab   []uint64  // final index -> hash
	idf     []float32 // final index -> idf
	blocked map[uint64]bool
	// bigramWords maps each bigram hash to its two word hashes (anonymised
	// training only), so that finish can drop bigrams of blocked words.
	bigramWords map[uint64][2]uint64
	// charNGrams is false when finish dropped the character n-grams.
	charNGrams bool
	// test marks the held-out rows: no field trains on them and the
	// vocabulary, document frequencies and idf ignore them.
	test []bool
	// trainRows counts the rows that are not held out.
	trainRows int
}

func (d *dataset) rows() int { return len(d.ptr) - 1 }

// ingestOptions is the part of TrainOptions ingestion needs.
type ingestOptions struct {
	textColumns    []string
	maxRows        int
	maxRecordBytes int
	anon           bool
	anonKey        []byte
	features       FeatureOptions
	progress       func(Progress)
	// testFraction and seed choose the held-out rows (see holdOutRows),
	// which the vocabulary must not see.
	testFraction float64
	seed         uint32
}

type source struct {
	r      *csvReader
	colMap []int // field position -> dataset column
	width  int
}

// ingest streams every reader into a dataset.
func ingest(ctx context.Context, readers []io.Reader, o ingestOptions) (*dataset, error) {
	if len(readers) == 0 {
		return nil, errs.Invalidf("no input files")
	}
	d := &dataset{featID: map[uint64]int32{}, ptr: []int{0}}
	d.stats.Files = len(readers)
	byKey := map[string]int{}
	var sources []*source
	for i, r := range readers {
		cr, err := newCSVReader(r, o.maxRecordBytes)
		if err != nil {
			return nil, fmt.Errorf("file %d: %w", i+1, err)
		}
		header, err := cr.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errs.Invalidf("file %d is empty: a CSV header is required", i+1)
			}
			return nil, errs.Wrap(errs.Invalid, err, "file %d: cannot read the CSV header", i+1)
		}
		d.stats.Separators = append(d.stats.Separators, sepName(cr.sep))
		src := &source{r: cr, width: len(header), colMap: make([]int, len(header))}
		for j, name := range header {
			name = strings.TrimSpace(name)
			key := normalizeHeader(name)
			if key == "" {
				key = fmt.Sprintf("column%d", j+1)
			}
			ci, ok := byKey[key]
			if !ok {
				ci = len(d.columns)
				byKey[key] = ci
				d.columns = append(d.columns, &column{name: name, key: key, index: map[string]int32{}})
			}
			src.colMap[j] = ci
		}
		sources = append(sources, src)
	}

	// Roles of text columns must be known before documents are built, so
	// the first records are buffered and inspected.
	var sample [][]string
	si := 0
	next := func() ([]string, error) {
		for si < len(sources) {
			src := sources[si]
			rec, err := src.r.read()
			if errors.Is(err, io.EOF) {
				si++
				continue
			}
			d.stats.Rows++
			if err != nil {
				if errors.Is(err, errRecordTooLarge) || errors.Is(err, errUnterminatedQuote) {
					d.stats.BadRows++
					continue
				}
				return nil, fmt.Errorf("file %d: %w", si+1, err)
			}
			if len(rec) != src.width {
				d.stats.BadRows++
				continue
			}
			row := make([]string, len(d.columns))
			for j, v := range rec {
				row[src.colMap[j]] = v
			}
			return row, nil
		}
		return nil, io.EOF
	}
	for len(sample) < sampleRows {
		row, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		sample = append(sample, row)
	}
	textCols, err := chooseTextColumns(d.columns, sample, o.textColumns)
	if err != nil {
		return nil, err
	}
	d.textCols = textCols
	for _, ci := range textCols {
		d.columns[ci].text = true
		d.columns[ci].drop()
	}
	markPersonal(d.columns, sample)

	fz := &featurizer{opts: o.features}
	if o.anon {
		// A personal word can show up in the text before its column value
		// is seen, so the bigrams are resolved only when the vocabulary is.
		d.bigramWords = map[uint64][2]uint64{}
		fz.onBigram = func(bigram, first, second uint64) {
			d.bigramWords[bigram] = [2]uint64{first, second}
		}
	}
	parts := make([]string, len(textCols))
	addRow := func(row []string) {
		empty := true
		for i, ci := range textCols {
			t := row[ci]
			if o.anon {
				t = scrubEmails(t)
			}
			parts[i] = t
			if strings.TrimSpace(t) != "" {
				empty = false
			}
		}
		if empty {
			// Kept as an empty document, so that row positions (and with
			// them the hold-out split) match the file's.
			d.stats.EmptyTextRows++
		}
		hs := fz.features(parts)
		countRuns(hs, func(h uint64, n int) {
			id, ok := d.featID[h]
			if !ok {
				id = int32(len(d.hashes))
				d.featID[h] = id
				d.hashes = append(d.hashes, h)
				d.df = append(d.df, 0)
			}
			d.df[id]++
			d.ind = append(d.ind, id)
			d.cnt = append(d.cnt, uint16(min(n, 65535)))
		})
		d.ptr = append(d.ptr, len(d.ind))
		for ci, c := range d.columns {
			if c.text {
				continue
			}
			v := row[ci]
			if c.personal && o.anon {
				if d.blocked == nil {
					d.blocked = map[uint64]bool{}
				}
				blockWords(d.blocked, v)
				v = pseudonym(o.anonKey, v)
			}
			c.add(v)
		}
		d.stats.UsedRows++
	}
	full := func() bool { return o.maxRows > 0 && d.stats.UsedRows >= o.maxRows }
	for _, row := range sample {
		if full() {
			break
		}
		addRow(row)
	}
	sample = nil
	for {
		if full() {
			d.stats.Truncated = true
			break
		}
		row, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		addRow(row)
		if d.stats.Rows%2000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if o.progress != nil {
				o.progress(Progress{Stage: StageParse, Rows: d.stats.UsedRows})
			}
		}
	}
	if o.progress != nil {
		o.progress(Progress{Stage: StageParse, Rows: d.stats.UsedRows})
	}
	if d.stats.UsedRows == d.stats.EmptyTextRows {
		return nil, errs.Invalidf("no usable rows: %d records read, %d unparseable, %d without text",
			d.stats.Rows, d.stats.BadRows, d.stats.EmptyTextRows)
	}
	d.test = holdOutRows(d.rows(), o.testFraction, o.seed)
	d.trainRows = d.rows()
	for _, t := range d.test {
		if t {
			d.trainRows--
		}
	}
	d.finish(o.features.MinDF, d.trainRows <= o.features.CharNGramMaxRows)
	return d, nil
}

func sepName(b byte) string {
	switch b {
	case '\t':
		return "tab"
	case ';':
		return "semicolon"
	}
	return "comma"
}

// finish builds the vocabulary (features in at least minDF training
// documents, minus blocked personal words and the bigrams containing them)
// and rewrites the rows as L2-normalised TF-IDF. As scikit-learn's
// fit_transform on the training rows and transform on the others, held-out
// rows count in no document frequency: their features outside the training
// vocabulary are dropped, and the idf is the training rows'.
func (d *dataset) finish(minDF int, keepChar bool) {
	d.charNGrams = keepChar
	n := d.rows()
	for r := 0; r < n; r++ {
		if !d.test[r] {
			continue
		}
		for k := d.ptr[r]; k < d.ptr[r+1]; k++ {
			d.df[d.ind[k]]--
		}
	}
	final := make([]int32, len(d.hashes))
	for id, h := range d.hashes {
		if int(d.df[id]) < minDF || d.isBlocked(h) || !keepChar && h&charBit != 0 {
			final[id] = -1
			continue
		}
		final[id] = int32(len(d.vocab))
		d.vocab = append(d.vocab, h)
		d.idf = append(d.idf, smoothIDF(d.trainRows, int(d.df[id])))
	}
	d.featID, d.hashes, d.df, d.blocked, d.bigramWords = nil, nil, nil, nil, nil
	val := make([]float32, 0, len(d.ind))
	w := 0
	start := 0
	for r := 0; r < n; r++ {
		end := d.ptr[r+1]
		rowStart := w
		for k := start; k < end; k++ {
			f := final[d.ind[k]]
			if f < 0 {
				continue
			}
			d.ind[w] = f
			val = append(val, sublinearTF(int(d.cnt[k]))*d.idf[f])
			w++
		}
		start = end
		d.ptr[r+1] = w
		normalizeL2(val[rowStart:w])
		sortRow(d.ind[rowStart:w], val[rowStart:w])
	}
	d.ind = slices.Clip(d.ind[:w])
	d.val = val
	d.cnt = nil
}

// isBlocked reports whether a feature is a word of a personal value or a
// bigram containing one.
func (d *dataset) isBlocked(h uint64) bool {
	if d.blocked[h] {
		return true
	}
	words, ok := d.bigramWords[h]
	return ok && (d.blocked[words[0]] || d.blocked[words[1]])
}

// sortRow orders a row's entries by feature index, so that dot products walk
// the weight vector forwards (better cache use).
func sortRow(ind []int32, val []float32) {
	if slices.IsSorted(ind) {
		return
	}
	type e struct {
		i int32
		v float32
	}
	es := make([]e, len(ind))
	for k := range ind {
		es[k] = e{ind[k], val[k]}
	}
	slices.SortFunc(es, func(a, b e) int { return int(a.i) - int(b.i) })
	for k := range es {
		ind[k], val[k] = es[k].i, es[k].v
	}
}

// pseudonym maps a personal value to a stable, keyed, irreversible name.
func pseudonym(key []byte, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.ToLower(v)))
	return "user-" + hex.EncodeToString(m.Sum(nil)[:5])
}

// blockWords records the word hashes of a personal value, so that a name
// that also occurs in the free text is not kept as a feature.
func blockWords(blocked map[uint64]bool, v string) {
	if strings.TrimSpace(v) == "" {
		return
	}
	var fz featurizer
	fz.tokens(v, func(tok []byte, _ int) {
		blocked[fnvBytes(nsWord, tok)] = true
	})
}
