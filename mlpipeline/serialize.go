package mlpipeline

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/bugflow/bugflow/errs"
)

// modelMagic starts every serialised model.
var modelMagic = []byte("BFTRIAGE")

// maxSerialisedSlice bounds slice lengths read back, so that a corrupt blob
// cannot make UnmarshalBinary allocate without limit.
const maxSerialisedSlice = 1 << 30

// MarshalBinary encodes the model: a magic string and version, then a
// DEFLATE stream holding the JSON metadata (fields, classes, calibration,
// metrics, roles) followed by the vocabulary and the feature-major weights as
// little-endian arrays.
func (m *Model) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(modelMagic)
	if err := binary.Write(&buf, binary.LittleEndian, uint32(modelVersion)); err != nil {
		return nil, fmt.Errorf("write version: %w", err)
	}
	zw, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		return nil, fmt.Errorf("compressor: %w", err)
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode model metadata: %w", err)
	}
	bw := bufio.NewWriter(zw)
	for _, part := range []any{uint64(len(meta)), meta,
		uint64(len(m.hashes)), m.hashes, m.idf,
		uint64(len(m.wVal)), m.wPtr, m.wClass, m.wVal} {
		if err := binary.Write(bw, binary.LittleEndian, part); err != nil {
			return nil, fmt.Errorf("encode model: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress model: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary decodes a model written by MarshalBinary. A blob that is
// not a model, or of another version, is Invalid.
func (m *Model) UnmarshalBinary(data []byte) error {
	if !bytes.HasPrefix(data, modelMagic) || len(data) < len(modelMagic)+4 {
		return errs.Invalidf("not a triage model")
	}
	version := binary.LittleEndian.Uint32(data[len(modelMagic):])
	if version != modelVersion {
		return errs.Invalidf("triage model version %d is not supported (want %d)", version, modelVersion)
	}
	zr := bufio.NewReader(flate.NewReader(bytes.NewReader(data[len(modelMagic)+4:])))
	readLen := func() (int, error) {
		var n uint64
		if err := binary.Read(zr, binary.LittleEndian, &n); err != nil {
			return 0, err
		}
		if n > maxSerialisedSlice {
			return 0, errors.New("length out of range")
		}
		return int(n), nil
	}
	fail := func(err error) error { return errs.Wrap(errs.Invalid, err, "corrupt triage model") }
	n, err := readLen()
	if err != nil {
		return fail(err)
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(zr, meta); err != nil {
		return fail(err)
	}
	var out Model
	if err := json.Unmarshal(meta, &out); err != nil {
		return fail(err)
	}
	if n, err = readLen(); err != nil {
		return fail(err)
	}
	out.hashes = make([]uint64, n)
	out.idf = make([]float32, n)
	out.wPtr = make([]int32, n+1)
	if err := binary.Read(zr, binary.LittleEndian, out.hashes); err != nil {
		return fail(err)
	}
	if err := binary.Read(zr, binary.LittleEndian, out.idf); err != nil {
		return fail(err)
	}
	if n, err = readLen(); err != nil {
		return fail(err)
	}
	out.wClass = make([]uint32, n)
	out.wVal = make([]float32, n)
	for _, dst := range []any{out.wPtr, out.wClass, out.wVal} {
		if err := binary.Read(zr, binary.LittleEndian, dst); err != nil {
			return fail(err)
		}
	}
	out.index()
	if err := out.check(); err != nil {
		return fail(err)
	}
	*m = out
	return nil
}

// check validates the invariants Predict relies on.
func (m *Model) check() error {
	if len(m.Fields) == 0 {
		return errors.New("no fields")
	}
	for _, f := range m.Fields {
		k := len(f.Classes)
		if k == 0 || len(f.Bias) != k || len(f.Adjust) != k || f.Scales != nil && len(f.Scales) != k || f.Temp <= 0 ||
			len(f.IsoX) != len(f.IsoY) || !slices.IsSorted(f.IsoX) {
			return fmt.Errorf("field %q is inconsistent", f.Name)
		}
	}
	prev := int32(0)
	for _, p := range m.wPtr {
		if p < prev || int(p) > len(m.wVal) {
			return errors.New("weight index out of range")
		}
		prev = p
	}
	if len(m.wPtr) > 0 && int(m.wPtr[len(m.wPtr)-1]) != len(m.wVal) {
		return errors.New("weight index does not cover the weights")
	}
	for _, c := range m.wClass {
		if int(c) >= m.nClass {
			return errors.New("weight class out of range")
		}
	}
	return nil
}
