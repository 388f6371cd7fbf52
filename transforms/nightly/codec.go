package nightly

import (
	"encoding/hex"
	"hash/fnv"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Batches cross the pipeline's shuffles in the compact encoding of package wire: one
// element per (split, bucket) instead of one per row, because every element that crosses
// a shuffle costs microseconds and kilobytes in a runner while a few large elements cost
// almost nothing. Each field of a batch type (types.go) holds records of one kind, known
// from the field (never read from the bytes), written with the Put/Get pairs below.
const (
	KindOrders    byte = 'O' // purchases: CustomerBatch.Orders
	KindOrderKeys byte = 'K' // order id -> customer, currency, day, use, row: OrderBatch.Keys
	KindLines     byte = 'L' // order lines before the join: OrderBatch.Lines (LineBatch)
	KindCustLines byte = 'M' // order lines after the join, one entry per order: CustomerBatch.Lines (PutOrderLines)
	KindCustomers byte = 'C' // hashed customers: CustomerBatch.Customers
	KindDead      byte = 'D' // dead letters: DeadLetters
	KindSpend     byte = 'S' // spend rows: SpendRows
	KindDrops     byte = 'X' // (order id, row id) of duplicate order rows to drop: CustomerBatch.Drops
)

// Bucket maps an id to one of n buckets (FNV-1a), stable across runs and runners.
func Bucket(id string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// Enc appends records to a batch field.
type Enc struct {
	wire.Enc
	prevRow int64 // input row of the previous order key
	src     Src   // the field's source (NewSrcEnc)
}

// NewEnc starts a batch field of the given kind; a kind that carries a source (hasSrc)
// gets an empty one (NewSrcEnc names it).
func NewEnc(kind byte) *Enc {
	e := &Enc{Enc: wire.Enc{B: make([]byte, 0, 4096)}}
	if hasSrc(kind) {
		e.putSrc(Src{})
	}
	return e
}

// Dec reads the records of a batch field; the first error sticks.
type Dec struct {
	wire.Dec
	Src  Src   // where the rows were read (fields of one split: see hasSrc)
	prev int64 // input row of the previous line group or order key
}

// NewDec opens a batch field of the given kind; a field of one split's rows starts with
// its Src (see NewSrcEnc), read into Dec.Src.
func NewDec(b []byte, kind byte) *Dec { return openDec(&Dec{Dec: wire.Dec{B: b}}, kind) }

// NewSharedDec is NewDec with the strings read as substrings of one copy of b
// (wire.NewSharedDec): for batches whose ids are kept, e.g. in a bucket's facts.
func NewSharedDec(b []byte, kind byte) *Dec {
	return openDec(&Dec{Dec: *wire.NewSharedDec(b)}, kind)
}

func openDec(d *Dec, kind byte) *Dec {
	if hasSrc(kind) && len(d.B) > 0 {
		d.Src = Src{Path: d.Str(), Stream: d.Int(), Tied: d.Bool()}
	}
	return d
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
		d.Fail()
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
