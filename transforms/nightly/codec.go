package nightly

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Batches cross the pipeline's shuffles as []byte in a compact varint encoding: one
// element per (split, bucket) instead of one per row, because every element that crosses
// a shuffle costs microseconds and kilobytes in a runner while a few large elements cost
// almost nothing. The first byte names the kind of batch.
const (
	KindOrders    byte = 'O' // purchases, keyed by customer bucket
	KindOrderKeys byte = 'K' // order id -> customer, currency, day, use, row; keyed by order bucket
	KindLines     byte = 'L' // order lines before the join, keyed by order bucket (LineBatch)
	KindCustLines byte = 'M' // order lines after the join, one entry per order, keyed by customer bucket (PutOrderLines)
	KindCustomers byte = 'C' // hashed customers, keyed by customer bucket
	KindDead      byte = 'D' // dead letters
	KindSpend     byte = 'S' // spend rows
	KindDrops     byte = 'X' // (order id, row id) of duplicate order rows to drop, keyed by customer bucket
)

// Bucket maps an id to one of n buckets (FNV-1a), stable across runs and runners.
func Bucket(id string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// Enc appends fields to a batch. It never keeps a string it was given (readers pass
// strings that share their buffer): symbols and the previous id are copied.
type Enc struct {
	B       []byte
	symList []string          // the first symbols, id = index + 1
	syms    map[string]uint64 // the others
	prevID  []byte            // last id written by IDStr
	prevRow int64             // input row of the previous order key
	src     Src               // the batch's source (NewSrcEnc)
}

// Sym writes a low-cardinality string (currency, channel, category) once per batch and
// afterwards as a small number.
func (e *Enc) Sym(s string) {
	// A batch has a handful of symbols: a linear scan of the first few beats a map.
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

// NewEnc starts a batch of the given kind; a kind that carries a source (hasSrc) gets an
// empty one (NewSrcEnc names it).
func NewEnc(kind byte) *Enc {
	e := &Enc{B: append(make([]byte, 0, 4096), kind)}
	if hasSrc(kind) {
		e.putSrc(Src{})
	}
	return e
}

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
	e.prevID = append(e.prevID[:0], s...)
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
	Src    Src // where the rows were read (batches of one split: see hasSrc)
	syms   []string
	prev   int64  // input row of the previous KindLines group or order key
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

// NewDec opens a batch and returns its kind; a batch of one split's rows starts with its
// Src (see NewSrcEnc), read into Dec.Src.
func NewDec(b []byte) (*Dec, byte) {
	if len(b) == 0 {
		return &Dec{Err: errShort}, 0
	}
	d := &Dec{B: b[1:]}
	if hasSrc(b[0]) {
		d.Src = Src{Path: d.Str(), Stream: d.Int(), Tied: d.Bool()}
	}
	return d, b[0]
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

// PutOrder encodes a purchase read at input row row of the batch's Src.
func (e *Enc) PutOrder(row int64, o *orders.Order) {
	e.Int(row)
	e.Str(o.CustomerID)
	e.Str(o.OrderID)
	e.Int(int64(o.Day))
	e.Int(int64(o.Amount))
	e.Sym(o.Currency)
	e.Sym(o.Channel)
}

// GetOrder decodes what PutOrder wrote: the input row and the order (Status is completed).
func (d *Dec) GetOrder() (int64, orders.Order) {
	return d.Int(), orders.Order{CustomerID: d.Str(), OrderID: d.Str(), Day: value.Day(d.Int()), Amount: value.Money(d.Int()),
		Currency: d.Sym(), Channel: d.Sym(), Status: orders.StatusCompleted}
}

// OrderKey is what the order-id join needs of a valid orders row: it decides duplicates
// (by At) and joins lines to the kept row.
type OrderKey struct {
	OrderID, CustomerID, Currency string
	Day                           value.Day
	Use                           byte  // KeyPurchase, KeyNotPurchase or KeyAfterRunDate
	At                            RowID // where the row was read
}

// What an orders row is, once valid.
const (
	KeyPurchase      byte = 1 // completed or partially refunded, before the run date
	KeyNotPurchase   byte = 2 // cancelled or refunded
	KeyAfterRunDate  byte = 3 // a purchase status, on or after the run date
	maxKeyUse             = KeyAfterRunDate
	keyUseNotPresent      = 0
)

// Counted reports whether the row is a purchase of this run.
func (k *OrderKey) Counted() bool { return k.Use == KeyPurchase }

// PutOrderKey writes a key of a row of the batch's Src. Keys of a batch are written in
// file order, so the order id is prefix-compressed (IDStr) and the input row is a delta
// from the previous key's; a BigQuery batch (Src.Tied) adds the row's content tie-break.
func (e *Enc) PutOrderKey(k OrderKey) {
	e.IDStr(k.OrderID)
	e.Str(k.CustomerID)
	e.Sym(k.Currency)
	e.Int(int64(k.Day))
	e.B = append(e.B, k.Use)
	e.Int(k.At.Row - e.prevRow)
	e.prevRow = k.At.Row
	if e.src.Tied {
		e.Int(int64(k.At.Tie))
	}
}

func (d *Dec) GetOrderKey() OrderKey {
	k := OrderKey{OrderID: d.IDStr(), CustomerID: d.Str(), Currency: d.Sym(), Day: value.Day(d.Int())}
	if len(d.B) == 0 || d.B[0] == keyUseNotPresent || d.B[0] > maxKeyUse {
		d.Err, d.B = errShort, nil
		return k
	}
	k.Use, d.B = d.B[0], d.B[1:]
	d.prev += d.Int()
	k.At = RowID{Src: d.Src, Row: d.prev}
	if d.Src.Tied {
		k.At.Tie = uint64(d.Int())
	}
	return k
}

// CustomerRec is a customer after the contacts transform: hashes only.
type CustomerRec struct {
	At         RowID // where the row was read (decides among duplicate rows)
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
	e.Int(c.At.Row)
	if e.src.Tied {
		e.Int(int64(c.At.Tie))
	}
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
	var c CustomerRec
	c.At = RowID{Src: d.Src, Row: d.Int()}
	if d.Src.Tied {
		c.At.Tie = uint64(d.Int())
	}
	c.CustomerID, c.Country, c.Consent, c.CreatedAt = d.Str(), d.Str(), d.Bool(), value.Day(d.Int())
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
	File   string // the file, or bq:// address and stream (sources.Split.File)
	Line   int64  // the row in File (sources.Record.Row)
	ID     string // order or customer id when known
	Reason string
	Detail string
}

func (e *Enc) PutDead(x *DeadLetter) {
	e.Str(x.Input)
	e.Str(x.File)
	e.Int(x.Line)
	e.Str(x.ID)
	e.Str(x.Reason)
	e.Str(x.Detail)
}

func (d *Dec) GetDead() DeadLetter {
	return DeadLetter{Input: d.Str(), File: d.Str(), Line: d.Int(), ID: d.Str(), Reason: d.Str(), Detail: d.Str()}
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
