package mlpipeline

import (
	"math"
	"regexp"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Feature hashing. Every feature (word, word bigram, character n-gram) is
// identified by a 64-bit hash rather than its string: the model then stores
// no vocabulary strings (smaller, and no personal words in clear text), and
// 64-bit collisions are negligible at the few million features we see.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	// Namespaces keep a word, a bigram and a character n-gram with the same
	// bytes apart.
	nsWord   = 0x77
	nsBigram = 0x62
	nsChar   = 0x63
)

// charBit is set in character n-gram hashes and clear in word hashes, so a
// vocabulary can drop all character n-grams without remembering which is
// which.
const charBit = 1 << 63

func fnvBytes(ns byte, b []byte) uint64 {
	h := uint64(fnvOffset)
	h ^= uint64(ns)
	h *= fnvPrime
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return mix64(h) &^ charBit
}

// mix64 is the splitmix64 finaliser; it spreads FNV's weak low bits.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func bigramHash(a, b uint64) uint64 {
	return mix64(a*0x9E3779B97F4A7C15^(b<<29|b>>35)^nsBigram) &^ charBit
}

// FeatureOptions configure text features. The zero value means the defaults.
type FeatureOptions struct {
	// MinDF drops features seen in fewer training documents (default 2, as
	// the scikit-learn baselines).
	MinDF int
	// CharNGramMax enables character n-grams from 3 up to this length over
	// the words of the first text column (the summary). 0 means the default
	// (5); a negative value disables them.
	CharNGramMax int
	// CharNGramMaxRows drops the character n-grams when training on more
	// rows (default 10,000). They lift small data sets (hadoop Priority
	// macro-F1 0.28 -> 0.30) but multiply the one-vs-rest cost by about
	// three, and with tens of thousands of rows the words carry the signal.
	CharNGramMaxRows int `json:"-"`
}

func (o FeatureOptions) withDefaults() FeatureOptions {
	if o.MinDF <= 0 {
		o.MinDF = 2
	}
	if o.CharNGramMax == 0 {
		o.CharNGramMax = 5
	}
	if o.CharNGramMaxRows <= 0 {
		o.CharNGramMaxRows = 10000
	}
	return o
}

// isCJK reports scripts written without spaces between words; each of their
// characters is a token, and word bigrams then give character bigrams.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// featurizer turns text into feature hashes. It reuses its buffers, so one
// featurizer must not be used by two goroutines at once.
type featurizer struct {
	opts   FeatureOptions
	tok    []byte
	hashes []uint64
	words  [][]byte
	// onBigram, when set, learns the two word hashes of every bigram hash
	// emitted, so that bigrams of personal words can be dropped later.
	onBigram func(bigram, first, second uint64)
}

// tokens calls emit for each lower-cased token of text: runs of word
// characters of at least two runes (as scikit-learn's default pattern), and
// single CJK characters.
func (f *featurizer) tokens(text string, emit func(tok []byte, runes int)) {
	f.tok = f.tok[:0]
	runes := 0
	flush := func() {
		if runes >= 2 {
			emit(f.tok, runes)
		}
		f.tok = f.tok[:0]
		runes = 0
	}
	for _, r := range text {
		switch {
		case isCJK(r):
			flush()
			f.tok = utf8.AppendRune(f.tok, r)
			emit(f.tok, 1)
			f.tok = f.tok[:0]
		case isWordRune(r):
			f.tok = utf8.AppendRune(f.tok, unicode.ToLower(r))
			runes++
		default:
			flush()
		}
	}
	flush()
}

// features returns the feature hashes of a document made of the given text
// parts, sorted, with repeats (the count of a hash is its term frequency).
// Word unigrams and bigrams cover all parts; bigrams do not cross parts.
// Character n-grams cover the words of the first part only: the summary is
// short and where morphology matters most, while n-grams of long
// descriptions would multiply the training cost.
func (f *featurizer) features(parts []string) []uint64 {
	f.hashes = f.hashes[:0]
	for pi, text := range parts {
		var prev uint64
		havePrev := false
		f.tokens(text, func(tok []byte, runes int) {
			h := fnvBytes(nsWord, tok)
			f.hashes = append(f.hashes, h)
			if havePrev {
				bh := bigramHash(prev, h)
				f.hashes = append(f.hashes, bh)
				if f.onBigram != nil {
					f.onBigram(bh, prev, h)
				}
			}
			prev, havePrev = h, true
			if pi == 0 && f.opts.CharNGramMax >= 3 && runes >= 3 {
				f.charNGrams(tok)
			}
		})
	}
	slices.Sort(f.hashes)
	return f.hashes
}

// charNGrams appends the hashes of the character n-grams (3..max) of one
// word padded with spaces, as scikit-learn's char_wb analyser does.
func (f *featurizer) charNGrams(tok []byte) {
	var padded [256]byte
	if len(tok)+2 > len(padded) {
		return
	}
	padded[0] = ' '
	copy(padded[1:], tok)
	padded[len(tok)+1] = ' '
	w := padded[:len(tok)+2]
	// Rune start offsets, so n-grams never split a multi-byte character.
	var starts [256]int
	n := 0
	for i := 0; i < len(w); {
		starts[n] = i
		n++
		_, size := utf8.DecodeRune(w[i:])
		i += size
	}
	starts[n] = len(w)
	for size := 3; size <= f.opts.CharNGramMax; size++ {
		for i := 0; i+size <= n; i++ {
			f.hashes = append(f.hashes, fnvBytes(nsChar, w[starts[i]:starts[i+size]])|charBit)
		}
	}
}

// countRuns walks sorted hashes and calls fn once per distinct hash with its
// count.
func countRuns(sorted []uint64, fn func(h uint64, count int)) {
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		fn(sorted[i], j-i)
		i = j
	}
}

// sublinearTF is scikit-learn's sublinear_tf: 1 + log(tf).
func sublinearTF(count int) float32 {
	return float32(1 + math.Log(float64(count)))
}

// smoothIDF is scikit-learn's default idf: log((1+n)/(1+df)) + 1.
func smoothIDF(n, df int) float32 {
	return float32(math.Log(float64(1+n)/float64(1+df)) + 1)
}

// normalizeL2 scales v to unit length in place.
func normalizeL2(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// scrubEmails replaces e-mail addresses in text by a neutral token.
func scrubEmails(text string) string {
	if !containsByte(text, '@') {
		return text
	}
	return emailRE.ReplaceAllString(text, " emailaddress ")
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
