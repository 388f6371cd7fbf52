// Package wire is the one binary encoding of everything the pipeline shuffles or broadcasts:
// varints, length-prefixed strings and bytes, little-endian floats, per-batch symbol tables
// for low-cardinality strings and prefix-compressed ids. Element types (nightly batches,
// partial aggregates, models) implement encoding.BinaryMarshaler on top of it and are
// registered with beam.RegisterCoder, so a runner never sees an untyped []byte.
//
// A Dec never panics on corrupt input: the first error sticks in Err, every later read
// returns a zero value, and More reports false.
package wire

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
)

// ErrShort is the error of a truncated or corrupt encoding.
var ErrShort = errors.New("wire: truncated or corrupt encoding")

// Enc appends fields to B. It never keeps a string it was given (readers pass strings that
// share their buffer): symbols and the previous id are copied.
type Enc struct {
	B       []byte
	symList []string          // the first symbols, id = index + 1
	syms    map[string]uint64 // the others
	prevID  []byte            // last id written by IDStr
}

// NewEnc starts an encoding with room for n bytes.
func NewEnc(n int) *Enc { return &Enc{B: make([]byte, 0, n)} }

// Str writes a length-prefixed string.
func (e *Enc) Str(s string) { e.B = binary.AppendUvarint(e.B, uint64(len(s))); e.B = append(e.B, s...) }

// Bytes writes a length-prefixed byte slice.
func (e *Enc) Bytes(b []byte) {
	e.B = binary.AppendUvarint(e.B, uint64(len(b)))
	e.B = append(e.B, b...)
}

// Int writes a signed varint.
func (e *Enc) Int(v int64) { e.B = binary.AppendVarint(e.B, v) }

// Uint writes an unsigned varint.
func (e *Enc) Uint(v uint64) { e.B = binary.AppendUvarint(e.B, v) }

// Float writes the 8 bytes of v (exact round trip, NaN included).
func (e *Enc) Float(v float64) { e.B = binary.LittleEndian.AppendUint64(e.B, math.Float64bits(v)) }

// Bool writes one byte.
func (e *Enc) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// Sym writes a low-cardinality string (currency, channel, category) once per encoding and
// afterwards as a small number.
func (e *Enc) Sym(s string) {
	// An encoding has a handful of symbols: a linear scan of the first few beats a map.
	for i, k := range e.symList {
		if k == s {
			e.B = binary.AppendUvarint(e.B, uint64(i+1))
			return
		}
	}
	if id, ok := e.syms[s]; ok {
		e.B = binary.AppendUvarint(e.B, id)
		return
	}
	id := uint64(len(e.symList) + len(e.syms) + 1)
	if len(e.symList) < 8 {
		e.symList = append(e.symList, strings.Clone(s))
	} else {
		if e.syms == nil {
			e.syms = map[string]uint64{}
		}
		e.syms[strings.Clone(s)] = id
	}
	e.B = append(e.B, 0)
	e.Str(s)
}

// IDStr writes an id as the length of the prefix it shares with the previous IDStr of the
// encoding, then the rest: ids written in file or sorted order ("O10000001", "O10000065")
// share most of their characters, so a 9-character id takes 3 or 4 bytes.
func (e *Enc) IDStr(s string) {
	p := 0
	for p < len(s) && p < len(e.prevID) && s[p] == e.prevID[p] {
		p++
	}
	e.Int(int64(p))
	e.Str(s[p:])
	e.prevID = append(e.prevID[:0], s...)
}

// Dec reads fields from B; the first error sticks in Err.
type Dec struct {
	B      []byte
	Err    error
	syms   []string
	prevID string // last id read by IDStr
	// s, when set (NewSharedDec), is the whole encoding as one string, B a suffix of it:
	// Str returns substrings of s instead of allocating each string.
	s string
}

// NewDec opens an encoding.
func NewDec(b []byte) *Dec { return &Dec{B: b} }

// NewSharedDec opens an encoding whose strings are read as substrings of one copy of b:
// one allocation instead of one per string, for a batch whose strings are kept (every
// string read holds the whole copy alive while it is referenced).
func NewSharedDec(b []byte) *Dec { return &Dec{B: b, s: string(b)} }

// More reports whether fields remain and nothing failed.
func (d *Dec) More() bool { return d.Err == nil && len(d.B) > 0 }

// Fail records ErrShort (a value out of range, a count beyond the bytes left).
func (d *Dec) Fail() { d.Err, d.B = ErrShort, nil }

// Str reads what Enc.Str wrote.
func (d *Dec) Str() string {
	b := d.Bytes()
	if d.s == "" || len(b) == 0 {
		return string(b)
	}
	end := len(d.s) - len(d.B) // B is the suffix of s after b
	return d.s[end-len(b) : end]
}

// Bytes reads what Enc.Bytes wrote; the result aliases the input.
func (d *Dec) Bytes() []byte {
	n, k := binary.Uvarint(d.B)
	if k <= 0 || uint64(len(d.B)-k) < n {
		d.Fail()
		return nil
	}
	b := d.B[k : k+int(n) : k+int(n)]
	d.B = d.B[k+int(n):]
	return b
}

// Int reads what Enc.Int wrote (a zigzag-coded Uint, as binary.Varint reads it).
func (d *Dec) Int() int64 {
	u := d.Uint()
	return int64(u>>1) ^ -int64(u&1)
}

// Uint reads what Enc.Uint wrote.
func (d *Dec) Uint() uint64 {
	v, k := binary.Uvarint(d.B)
	if k <= 0 {
		d.Fail()
		return 0
	}
	d.B = d.B[k:]
	return v
}

// Float reads what Enc.Float wrote.
func (d *Dec) Float() float64 {
	if len(d.B) < 8 {
		d.Fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.B))
	d.B = d.B[8:]
	return v
}

// Bool reads what Enc.Bool wrote.
func (d *Dec) Bool() bool {
	if len(d.B) == 0 {
		d.Fail()
		return false
	}
	v := d.B[0] == 1
	d.B = d.B[1:]
	return v
}

// Count reads an element count written with Int; each element takes at least one byte, so
// a negative count or one beyond the bytes left means a truncated or corrupt encoding.
func (d *Dec) Count() int {
	n := d.Int()
	if n < 0 || n > int64(len(d.B)) {
		d.Fail()
		return 0
	}
	return int(n)
}

// Sym reads what Enc.Sym wrote.
func (d *Dec) Sym() string {
	id := d.Uint()
	if d.Err != nil {
		return ""
	}
	if id == 0 {
		s := d.Str()
		d.syms = append(d.syms, s)
		return s
	}
	if id > uint64(len(d.syms)) { // compared as uint64: int(id) of a corrupt id can be negative
		d.Fail()
		return ""
	}
	return d.syms[id-1]
}

// IDStr reads what Enc.IDStr wrote.
func (d *Dec) IDStr() string {
	p := d.Int()
	if p < 0 || p > int64(len(d.prevID)) {
		d.Fail()
		return ""
	}
	rest := d.Str()
	if d.Err != nil {
		return ""
	}
	s := d.prevID[:p] + rest
	d.prevID = s
	return s
}

// Done returns Err, or ErrShort when bytes are left over: a decoder that read a whole value
// calls it to reject trailing garbage.
func (d *Dec) Done() error {
	if d.Err == nil && len(d.B) != 0 {
		d.Fail()
	}
	return d.Err
}

// Floats writes a count, then each value.
func (e *Enc) Floats(v []float64) { writeList(e, v, e.Float) }

// Ints writes a count, then each value.
func (e *Enc) Ints(v []int64) { writeList(e, v, e.Int) }

// Strs writes a count, then each string.
func (e *Enc) Strs(v []string) { writeList(e, v, e.Str) }

// Floats reads what Enc.Floats wrote (nil for none).
func (d *Dec) Floats() []float64 { return readList(d, d.Float) }

// Ints reads what Enc.Ints wrote (nil for none).
func (d *Dec) Ints() []int64 { return readList(d, d.Int) }

// Strs reads what Enc.Strs wrote (nil for none).
func (d *Dec) Strs() []string { return readList(d, d.Str) }

func writeList[T any](e *Enc, v []T, put func(T)) {
	e.Int(int64(len(v)))
	for _, x := range v {
		put(x)
	}
}

func readList[T any](d *Dec, get func() T) []T {
	n := d.Count()
	if n == 0 {
		return nil
	}
	v := make([]T, 0, n)
	for i := 0; i < n && d.Err == nil; i++ {
		v = append(v, get())
	}
	return v
}

// Map writes a string-keyed map: a count, then each key and value in key order (so equal
// maps encode to equal bytes).
func Map[V any](e *Enc, m map[string]V, put func(V, *Enc)) {
	MapFunc(e, m, strings.Compare, func(k string, v V) {
		e.Str(k)
		put(v, e)
	})
}

// MapFunc writes m's size, then put(k, v) for each entry in the order compare sorts the keys,
// so that equal maps encode to equal bytes. The reader reads the count and its entries.
func MapFunc[K comparable, V any](e *Enc, m map[K]V, compare func(K, K) int, put func(K, V)) {
	keys := slices.SortedFunc(maps.Keys(m), compare)
	e.Int(int64(len(keys)))
	for _, k := range keys {
		put(k, m[k])
	}
}

// ReadMap reads what Map wrote.
func ReadMap[V any](d *Dec, get func(*Dec) V) map[string]V {
	n := d.Count()
	m := make(map[string]V, n)
	for i := 0; i < n && d.Err == nil; i++ {
		k := d.Str()
		m[k] = get(d)
	}
	return m
}

// IntFields writes each pointed-to value (a record's fields, listed once for both ways).
func (e *Enc) IntFields(fs ...*int64) {
	for _, f := range fs {
		e.Int(*f)
	}
}

// IntFields reads what Enc.IntFields wrote into the same fields.
func (d *Dec) IntFields(fs ...*int64) {
	for _, f := range fs {
		*f = d.Int()
	}
}

// FloatFields writes each pointed-to value.
func (e *Enc) FloatFields(fs ...*float64) {
	for _, f := range fs {
		e.Float(*f)
	}
}

// FloatFields reads what Enc.FloatFields wrote into the same fields.
func (d *Dec) FloatFields(fs ...*float64) {
	for _, f := range fs {
		*f = d.Float()
	}
}
