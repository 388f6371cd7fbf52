package nightly

import (
	"encoding/hex"
	"hash/fnv"

	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Batches cross the pipeline's shuffles in the compact encoding of package wire: one
// element per (split, bucket) instead of one per row, because every element that crosses
// a shuffle costs microseconds and kilobytes in a runner while a few large elements cost
// almost nothing. Each field of a batch type (types.go) holds one kind of record, written
// with the Put/Get pairs below.

// Bucket maps an id to one of n buckets (FNV-1a), stable across runs and runners.
func Bucket(id string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// Enc appends records to a batch field.
type Enc struct {
	wire.Enc
	prevLine int64 // input line of the previous order key
}

// NewEnc starts a batch field.
func NewEnc() *Enc { return &Enc{Enc: wire.Enc{B: make([]byte, 0, 4096)}} }

// Dec reads the records of a batch field; the first error sticks.
type Dec struct {
	wire.Dec
	prev int64 // input line of the previous line group or order key
}

// NewDec opens a batch field.
func NewDec(b []byte) *Dec { return &Dec{Dec: wire.Dec{B: b}} }

// PutOrder encodes a counted order.
func (e *Enc) PutOrder(line int64, o *orders.Order) {
	e.Int(line)
	e.Str(o.CustomerID)
	e.Str(o.OrderID)
	e.Int(int64(o.Day))
	e.Int(int64(o.Amount))
	e.Sym(o.Currency)
	e.Sym(o.Channel)
}

// GetOrder decodes what PutOrder wrote (Status is completed, OrderedAt is unset).
func (d *Dec) GetOrder() (int64, orders.Order) {
	return d.Int(), orders.Order{CustomerID: d.Str(), OrderID: d.Str(), Day: value.Day(d.Int()), Amount: value.Money(d.Int()),
		Currency: d.Sym(), Channel: d.Sym(), Status: orders.StatusCompleted}
}

// OrderKey is what the line join needs of an order.
type OrderKey struct {
	OrderID, CustomerID, Currency string
	Day                           value.Day
	Counted                       bool
	Line                          int64 // input line, to pick the same row as BuildBucket among duplicates
}

// PutOrderKey writes a key. Keys of a batch are written in file order, so the order id is
// prefix-compressed (IDStr) and the input line is a delta from the previous key's.
func (e *Enc) PutOrderKey(k OrderKey) {
	e.IDStr(k.OrderID)
	e.Str(k.CustomerID)
	e.Sym(k.Currency)
	e.Int(int64(k.Day))
	e.Bool(k.Counted)
	e.Int(k.Line - e.prevLine)
	e.prevLine = k.Line
}

func (d *Dec) GetOrderKey() OrderKey {
	k := OrderKey{OrderID: d.IDStr(), CustomerID: d.Str(), Currency: d.Sym(), Day: value.Day(d.Int()), Counted: d.Bool()}
	d.prev += d.Int()
	k.Line = d.prev
	return k
}

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
	return append(pairs, CatAmount{cat, amount})
}

// LineBatch builds the Lines field of an OrderBatch (order lines before the join, one
// order bucket of one split). Consecutive input lines of the same order, the usual file layout, form one group
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

// NewLineBatch starts the Lines field of an OrderBatch.
func NewLineBatch() *LineBatch { return &LineBatch{e: NewEnc()} }

// Add appends the line read at input line `line`.
func (b *LineBatch) Add(line int64, l *orders.Line) {
	if !b.open || l.OrderID != b.orderID || line != b.first+b.n {
		b.flush()
		b.open, b.orderID, b.first, b.n = true, l.OrderID, line, 0
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
	e.putPairs(b.pairs)
	b.prevFirst = b.first
	b.open, b.pairs = false, b.pairs[:0]
}

// Bytes closes the open group and returns the batch.
func (b *LineBatch) Bytes() []byte {
	b.flush()
	return b.e.B
}

// LineGroup is one group of an OrderBatch's Lines: N input lines First .. First+N-1 of order
// OrderID, summed per category.
type LineGroup struct {
	First, N int64
	OrderID  string
	Pairs    []CatAmount
}

// GetLineGroup decodes the next group of an OrderBatch's Lines into g (reusing g.Pairs).
func (d *Dec) GetLineGroup(g *LineGroup) {
	d.prev += d.Int()
	g.First = d.prev
	g.OrderID = d.IDStr()
	if g.N = d.Int(); g.N < 1 && d.Err == nil {
		d.Fail()
	}
	g.Pairs = d.getPairs(g.Pairs[:0])
}

// putPairs writes Int(pairs) pairs × (Sym(category) Int(amount)).
func (e *Enc) putPairs(pairs []CatAmount) {
	e.Int(int64(len(pairs)))
	for _, p := range pairs {
		e.Sym(p.Category)
		e.Int(int64(p.Amount))
	}
}

// getPairs appends what putPairs wrote to dst.
func (d *Dec) getPairs(dst []CatAmount) []CatAmount {
	n := d.Count()
	for i := 0; i < n && d.Err == nil; i++ {
		dst = append(dst, CatAmount{d.Sym(), value.Money(d.Int())})
	}
	return dst
}

// OrderLines is one order's lines after the join, summed per category.
type OrderLines struct {
	OrderID string
	Pairs   []CatAmount
}

// PutOrderLines writes one order's joined lines to the Lines field of a CustomerBatch
// (keyed by the order's customer bucket):
//
//	order = IDStr(order id) Int(pairs) pairs × (Sym(category) Int(amount))
//
// The customer, currency and day are not written: BuildBucket finds them in the kept
// purchase of the same order id, which is the same orders row whose key the join used
// (both keep the lowest input line). Written in order-id order, ids share long prefixes.
func (e *Enc) PutOrderLines(o *OrderLines) {
	e.IDStr(o.OrderID)
	e.putPairs(o.Pairs)
}

// GetOrderLines decodes what PutOrderLines wrote into o (reusing o.Pairs).
func (d *Dec) GetOrderLines(o *OrderLines) {
	o.OrderID = d.IDStr()
	o.Pairs = d.getPairs(o.Pairs[:0])
}

// CustomerRec is a customer after the contacts transform: hashes only.
type CustomerRec struct {
	CustomerID string
	Country    string
	Consent    bool
	CreatedAt  value.Day
	Hashed     contacts.Hashed
}

// PutCustomer stores the hashes as raw bytes, each distinct hash once: most profiles share
// a normalised value and algorithm (Yandex, Meta and often Google hash the same e-mail),
// so a customer's eight hex strings shrink to two to five 16- or 32-byte values.
func (e *Enc) PutCustomer(c *CustomerRec) {
	e.Str(c.CustomerID)
	e.Str(c.Country)
	e.Bool(c.Consent)
	e.Int(int64(c.CreatedAt))
	e.Bool(c.Hashed.Consent)
	var uniq [2 * contacts.NumProfiles]string
	var idx [2 * contacts.NumProfiles]byte
	n := 0
	for i := 0; i < 2*int(contacts.NumProfiles); i++ {
		h := c.Hashed.Email[i%int(contacts.NumProfiles)]
		if i >= int(contacts.NumProfiles) {
			h = c.Hashed.Phone[i-int(contacts.NumProfiles)]
		}
		if h == "" {
			continue
		}
		j := 0
		for j < n && uniq[j] != h {
			j++
		}
		if j == n {
			uniq[n] = h
			n++
		}
		idx[i] = byte(j + 1)
	}
	e.B = append(e.B, byte(n))
	for _, h := range uniq[:n] {
		raw, err := hex.DecodeString(h)
		if err != nil { // not hex: keep the text (never expected from contacts)
			e.B = append(e.B, 0)
			e.Str(h)
			continue
		}
		e.B = append(e.B, 1)
		e.Str(string(raw))
	}
	e.B = append(e.B, idx[:]...)
}

// GetCustomer decodes PutCustomer; with withHashes false it skips the hashes (the
// aggregate stage never needs them).
func (d *Dec) GetCustomer(withHashes bool) CustomerRec {
	c := CustomerRec{CustomerID: d.Str(), Country: d.Str(), Consent: d.Bool(), CreatedAt: value.Day(d.Int())}
	c.Hashed.CustomerID = c.CustomerID
	c.Hashed.Consent = d.Bool()
	if len(d.B) == 0 {
		d.Fail()
		return c
	}
	n := int(d.B[0])
	d.B = d.B[1:]
	var uniq [2 * contacts.NumProfiles]string
	for i := 0; i < n; i++ {
		if len(d.B) == 0 {
			d.Fail()
			return c
		}
		isHex := d.B[0] == 1
		d.B = d.B[1:]
		v := d.Str()
		if withHashes && isHex {
			v = hex.EncodeToString([]byte(v))
		}
		uniq[i] = v
	}
	np := int(contacts.NumProfiles)
	if len(d.B) < 2*np {
		d.Fail()
		return c
	}
	if withHashes {
		for i := 0; i < 2*np; i++ {
			if k := d.B[i]; k > 0 && int(k) <= n {
				if i < np {
					c.Hashed.Email[i] = uniq[k-1]
				} else {
					c.Hashed.Phone[i-np] = uniq[k-1]
				}
			}
		}
	}
	d.B = d.B[2*np:]
	return c
}

// DeadLetter is one rejected row: never raw contact data.
type DeadLetter struct {
	Input  string
	Line   int64
	ID     string // order or customer id when known
	Reason string
	Detail string
}

func (e *Enc) PutDead(x *DeadLetter) {
	e.Str(x.Input)
	e.Int(x.Line)
	e.Str(x.ID)
	e.Str(x.Reason)
	e.Str(x.Detail)
}

func (d *Dec) GetDead() DeadLetter {
	return DeadLetter{Input: d.Str(), Line: d.Int(), ID: d.Str(), Reason: d.Str(), Detail: d.Str()}
}

func (e *Enc) PutSpend(s *orders.Spend) {
	e.Str(s.Period)
	e.Str(s.Channel)
	e.Int(int64(s.Amount))
	e.Str(s.Currency)
}

func (d *Dec) GetSpend() orders.Spend {
	return orders.Spend{Period: d.Str(), Channel: d.Str(), Amount: value.Money(d.Int()), Currency: d.Str()}
}

// PutMember encodes an audience member (hashes only).
func (e *Enc) PutMember(m *audience.Member) {
	e.Str(m.Key)
	e.Str(m.Email)
	e.Str(m.Phone)
	e.Str(m.ExternID)
}

// GetMember decodes PutMember.
func (d *Dec) GetMember() audience.Member {
	return audience.Member{Key: d.Str(), Email: d.Str(), Phone: d.Str(), ExternID: d.Str()}
}
