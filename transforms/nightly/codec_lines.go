package nightly

import (
	"strings"

	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// CatAmount is what a consumer needs of an order line after the join: its category and
// amount. Lines of one order and category are summed into one CatAmount; product id and
// quantity are validated by the reader and then dropped, because no consumer reads them
// (segments count distinct orders per category, k-means sums amounts per category).
type CatAmount struct {
	Category string
	Amount   value.Money
}

// addCat adds amount to the pair of category cat, appending one if there is none. Orders
// have a handful of lines, so a linear scan beats a map.
func addCat(pairs []CatAmount, cat string, amount value.Money) []CatAmount {
	for i := range pairs {
		if pairs[i].Category == cat {
			pairs[i].Amount += amount
			return pairs
		}
	}
	return append(pairs, CatAmount{strings.Clone(cat), amount})
}

// LineBatch builds a KindLines batch (order lines before the join, one order bucket of one
// split). Consecutive input lines of the same order, the usual file layout, form one group
// that carries the order id and the first input line once:
//
//	group = Int(first line - previous group's first line) IDStr(order id) Int(lines in group)
//	        Int(pairs) pairs × (Sym(category) Int(amount))
//
// The group's lines are exactly first .. first+lines-1, so the join can still dead-letter
// each line of an unknown order with its own input line. Within a group, lines of the same
// category are summed.
type LineBatch struct {
	e         *Enc
	open      bool
	orderID   string
	first, n  int64
	prevFirst int64
	pairs     []CatAmount
}

// NewLineBatch starts a KindLines batch of rows read from src.
func NewLineBatch(src Src) *LineBatch { return &LineBatch{e: NewSrcEnc(KindLines, src)} }

// Add appends the line read at input row `line`.
func (b *LineBatch) Add(line int64, l *orders.Line) {
	if !b.open || l.OrderID != b.orderID || line != b.first+b.n {
		b.flush()
		// A copy: the reader's strings share its buffer.
		b.open, b.orderID, b.first, b.n = true, strings.Clone(l.OrderID), line, 0
	}
	b.n++
	b.pairs = addCat(b.pairs, l.Category, l.Amount)
}

func (b *LineBatch) flush() {
	if !b.open {
		return
	}
	e := b.e
	e.Int(b.first - b.prevFirst)
	e.IDStr(b.orderID)
	e.Int(b.n)
	e.Int(int64(len(b.pairs)))
	for _, p := range b.pairs {
		e.Sym(p.Category)
		e.Int(int64(p.Amount))
	}
	b.prevFirst = b.first
	b.open, b.pairs = false, b.pairs[:0]
}

// Bytes closes the open group and returns the batch.
func (b *LineBatch) Bytes() []byte {
	b.flush()
	return b.e.B
}

// LineGroup is one group of a KindLines batch: N input lines First .. First+N-1 of order
// OrderID, summed per category.
type LineGroup struct {
	First, N int64
	OrderID  string
	Pairs    []CatAmount
}

// count reads an element count; each element takes at least one byte, so a negative count
// or one beyond the bytes left means a truncated or corrupt batch.
func (d *Dec) count() int {
	n := d.Int()
	if n < 0 || n > int64(len(d.B)) {
		d.Err, d.B = errShort, nil
		return 0
	}
	return int(n)
}

// GetLineGroup decodes the next group of a KindLines batch into g (reusing g.Pairs).
func (d *Dec) GetLineGroup(g *LineGroup) {
	d.prev += d.Int()
	g.First = d.prev
	g.OrderID = d.IDStr()
	if g.N = d.Int(); g.N < 1 && d.Err == nil {
		d.Err, d.B = errShort, nil
	}
	n := d.count()
	g.Pairs = g.Pairs[:0]
	for i := 0; i < n && d.Err == nil; i++ {
		g.Pairs = append(g.Pairs, CatAmount{d.Sym(), value.Money(d.Int())})
	}
}

// OrderLines is one order's lines after the join, summed per category.
type OrderLines struct {
	OrderID string
	Pairs   []CatAmount
}

// PutOrderLines writes one order's joined lines to a KindCustLines batch (keyed by the
// order's customer bucket):
//
//	order = IDStr(order id) Int(pairs) pairs × (Sym(category) Int(amount))
//
// The customer, currency and day are not written: BuildBucket finds them in the kept
// purchase of the same order id, which is the same orders row whose key the join used
// (both keep the lowest input line). Written in order-id order, ids share long prefixes.
func (e *Enc) PutOrderLines(o *OrderLines) {
	e.IDStr(o.OrderID)
	e.Int(int64(len(o.Pairs)))
	for _, p := range o.Pairs {
		e.Sym(p.Category)
		e.Int(int64(p.Amount))
	}
}

// GetOrderLines decodes what PutOrderLines wrote into o (reusing o.Pairs).
func (d *Dec) GetOrderLines(o *OrderLines) {
	o.OrderID = d.IDStr()
	n := d.count()
	o.Pairs = o.Pairs[:0]
	for i := 0; i < n && d.Err == nil; i++ {
		o.Pairs = append(o.Pairs, CatAmount{d.Sym(), value.Money(d.Int())})
	}
}
