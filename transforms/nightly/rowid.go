package nightly

import (
	"fmt"
	"hash/fnv"
)

// Src is where the rows of a batch were read: the input file or bq:// address, the
// BigQuery read stream (0 for files), and whether rows carry a content tie-break (Tied:
// BigQuery, whose rows come in no stable order, so positions alone would let a rerun keep
// another duplicate).
type Src struct {
	Path   string
	Stream int64
	Tied   bool
}

// File names the source in dead letters, as sources.Split.File does.
func (s Src) File() string {
	if s.Tied {
		return fmt.Sprintf("%s#%d", s.Path, s.Stream)
	}
	return s.Path
}

// RowID identifies one input row among every input of a run: (file or stream, row).
type RowID struct {
	Src Src
	Tie uint64 // BigQuery rows: a hash of the row's fields; 0 for files
	Row int64
}

// String is "file:row", as dead letters name a row.
func (r RowID) String() string { return fmt.Sprintf("%s:%d", r.Src.File(), r.Row) }

// Less orders rows for deciding duplicates, the same way on every run: by path (files
// given in any order), then, for BigQuery, by content, then by stream and row. Among rows
// of one file the first row wins.
func (r RowID) Less(o RowID) bool {
	if r.Src.Path != o.Src.Path {
		return r.Src.Path < o.Src.Path
	}
	if r.Tie != o.Tie {
		return r.Tie < o.Tie
	}
	if r.Src.Stream != o.Src.Stream {
		return r.Src.Stream < o.Src.Stream
	}
	return r.Row < o.Row
}

// TieOf is the content tie-break of a BigQuery row: FNV-1a over its bound fields.
func TieOf(fields []string) uint64 {
	h := fnv.New64a()
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// hasSrc reports whether batches of a kind hold rows of one split and start with its Src.
func hasSrc(kind byte) bool {
	switch kind {
	case KindOrders, KindOrderKeys, KindLines, KindCustomers:
		return true
	}
	return false
}

// NewSrcEnc starts a batch of rows read from src (kinds with hasSrc).
func NewSrcEnc(kind byte, src Src) *Enc {
	if !hasSrc(kind) {
		panic(fmt.Sprintf("nightly: batch kind %q carries no source", kind))
	}
	e := &Enc{B: append(make([]byte, 0, 4096), kind)}
	e.putSrc(src)
	return e
}

func (e *Enc) putSrc(src Src) {
	e.src = src
	e.Str(src.Path)
	e.Int(src.Stream)
	e.Bool(src.Tied)
}
