package nightly

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/fnv"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Batches cross the pipeline's shuffles as []byte in a compact varint encoding: one
// element per (split, bucket) instead of one per row, because every element that crosses
// a shuffle costs microseconds and kilobytes in a runner while a few large elements cost
// almost nothing. The first byte names the kind of batch.
const (
	KindOrders    byte = 'O' // counted orders, keyed by customer bucket
	KindOrderKeys byte = 'K' // order id -> customer, currency, day, counted; keyed by order bucket
	KindLines     byte = 'L' // order lines before the join, keyed by order bucket (LineBatch)
	KindCustLines byte = 'M' // order lines after the join, one entry per order, keyed by customer bucket (PutOrderLines)
	KindCustomers byte = 'C' // hashed customers, keyed by customer bucket
	KindDead      byte = 'D' // dead letters
	KindSpend     byte = 'S' // spend rows
	KindDrops     byte = 'X' // (order id, input line) of duplicate order rows to drop, keyed by customer bucket
)

// Bucket maps an id to one of n buckets (FNV-1a), stable across runs and runners.
func Bucket(id string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// Enc appends fields to a batch.
type Enc struct {
	B        []byte
	syms     map[string]uint64
	prevID   string // last id written by IDStr
	prevLine int64  // input line of the previous order key
}

// Sym writes a low-cardinality string (currency, channel, category) once per batch and
// afterwards as a small number.
func (e *Enc) Sym(s string) {
	if id, ok := e.syms[s]; ok {
		e.B = binary.AppendUvarint(e.B, id)
		return
	}
	if e.syms == nil {
		e.syms = map[string]uint64{}
	}
	e.syms[s] = uint64(len(e.syms) + 1)
	e.B = append(e.B, 0)
	e.Str(s)
}

// NewEnc starts a batch of the given kind.
func NewEnc(kind byte) *Enc { return &Enc{B: append(make([]byte, 0, 4096), kind)} }

func (e *Enc) Str(s string) { e.B = binary.AppendUvarint(e.B, uint64(len(s))); e.B = append(e.B, s...) }
func (e *Enc) Int(v int64)  { e.B = binary.AppendVarint(e.B, v) }

// IDStr writes an id as the length of the prefix it shares with the previous IDStr of the
// batch, then the rest: ids written in file or sorted order ("O10000001", "O10000065")
// share most of their characters, so a 9-character id takes 3 or 4 bytes.
func (e *Enc) IDStr(s string) {
	p := 0
	for p < len(s) && p < len(e.prevID) && s[p] == e.prevID[p] {
		p++
	}
	e.Int(int64(p))
	e.Str(s[p:])
	e.prevID = s
}
func (e *Enc) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// Dec reads fields of a batch; the first error sticks.
type Dec struct {
	B      []byte
	Err    error
	syms   []string
	prev   int64  // input line of the previous KindLines group or order key
	prevID string // last id read by IDStr
}

// Sym reads what Enc.Sym wrote.
func (d *Dec) Sym() string {
	id, k := binary.Uvarint(d.B)
	if k <= 0 {
		d.Err, d.B = errShort, nil
		return ""
	}
	d.B = d.B[k:]
	if id == 0 {
		s := d.Str()
		d.syms = append(d.syms, s)
		return s
	}
	if id > uint64(len(d.syms)) { // compared as uint64: int(id) of a corrupt id can be negative
		d.Err, d.B = errShort, nil
		return ""
	}
	return d.syms[id-1]
}

var errShort = errors.New("nightly: truncated batch")

// NewDec opens a batch and returns its kind.
func NewDec(b []byte) (*Dec, byte) {
	if len(b) == 0 {
		return &Dec{Err: errShort}, 0
	}
	return &Dec{B: b[1:]}, b[0]
}

// More reports whether fields remain.
func (d *Dec) More() bool { return d.Err == nil && len(d.B) > 0 }

func (d *Dec) Str() string {
	n, k := binary.Uvarint(d.B)
	if k <= 0 || uint64(len(d.B)-k) < n {
		d.Err, d.B = errShort, nil
		return ""
	}
	s := string(d.B[k : k+int(n)])
	d.B = d.B[k+int(n):]
	return s
}

// IDStr reads what Enc.IDStr wrote.
func (d *Dec) IDStr() string {
	p := d.Int()
	if p < 0 || p > int64(len(d.prevID)) {
		d.Err, d.B = errShort, nil
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

func (d *Dec) Int() int64 {
	v, k := binary.Varint(d.B)
	if k <= 0 {
		d.Err, d.B = errShort, nil
		return 0
	}
	d.B = d.B[k:]
	return v
}

func (d *Dec) Bool() bool {
	if len(d.B) == 0 {
		d.Err = errShort
		return false
	}
	v := d.B[0] == 1
	d.B = d.B[1:]
	return v
}

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

// NewLineBatch starts a KindLines batch.
func NewLineBatch() *LineBatch { return &LineBatch{e: NewEnc(KindLines)} }

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
		d.Err = errShort
		return c
	}
	n := int(d.B[0])
	d.B = d.B[1:]
	var uniq [2 * contacts.NumProfiles]string
	for i := 0; i < n; i++ {
		if len(d.B) == 0 {
			d.Err = errShort
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
		d.Err = errShort
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
