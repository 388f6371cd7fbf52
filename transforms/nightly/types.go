package nightly

import (
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// The element types of the nightly pipeline's shuffles and side inputs. Each implements
// encoding.BinaryMarshaler in the encoding of package wire and is registered as its own
// Beam coder (beam.go), so the graph's signatures name what flows instead of []byte.
//
// A batch's fields each hold records of one kind (codec.go: the field names the kind,
// opened with NewDec, written with NewEnc); an empty field holds no records.

// CustomerBatch is what one split, or one order bucket of the join, contributes to one
// customer bucket. Batches of a bucket are grouped (KV<int, CustomerBatch>, key = customer
// bucket) and rebuilt into per-customer facts by BuildBucket.
type CustomerBatch struct {
	Orders    []byte // counted orders, PutOrder records in input order
	Customers []byte // customers after the contacts transform (hashes only), PutCustomer records
	Lines     []byte // order lines joined to their orders, one PutOrderLines record per order, by order id
	Drops     []byte // duplicate order rows the join decided against: (Str order id, Int input line) pairs
	// Spilled, when set, says where this batch is (see SpillCustomerBatches); the other
	// fields are then empty until LoadCustomerBatches reads it.
	Spilled SpillRef
}

// OrderBatch is what one split contributes to one order bucket (KV<int, OrderBatch>, key =
// order bucket): the join meets every row of an order id there.
type OrderBatch struct {
	Keys    []byte   // order keys, PutOrderKey records in input order
	Lines   []byte   // order lines before the join, LineBatch groups
	Spilled SpillRef // where this batch is when spilled (see SpillOrderBatches, LoadOrderBatches)
}

// DeadLetters are rejected rows (KV<string, DeadLetters>, key = the input they belong to).
// (A struct, not a named slice: Beam codes every slice as a list of its elements.)
type DeadLetters struct{ Rows []DeadLetter }

// SpendRows are the acquisition spend rows of one split (model.Aggregate folds them in).
type SpendRows struct{ Rows []orders.Spend }

// MarshalBinary encodes the fields.
func (b CustomerBatch) MarshalBinary() ([]byte, error) {
	return marshalFields(b.Orders, b.Customers, b.Lines, b.Drops, b.Spilled.encode()), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote; the byte fields alias data.
func (b *CustomerBatch) UnmarshalBinary(data []byte) error {
	var ref []byte
	if err := unmarshalFields(data, &b.Orders, &b.Customers, &b.Lines, &b.Drops, &ref); err != nil {
		return err
	}
	return b.Spilled.decode(ref)
}

// MarshalBinary encodes the fields.
func (b OrderBatch) MarshalBinary() ([]byte, error) {
	return marshalFields(b.Keys, b.Lines, b.Spilled.encode()), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote; the byte fields alias data.
func (b *OrderBatch) UnmarshalBinary(data []byte) error {
	var ref []byte
	if err := unmarshalFields(data, &b.Keys, &b.Lines, &ref); err != nil {
		return err
	}
	return b.Spilled.decode(ref)
}

// marshalFields writes each field as a length and its bytes.
func marshalFields(fields ...[]byte) []byte {
	n := 0
	for _, f := range fields {
		n += len(f) + 4
	}
	e := wire.NewEnc(n)
	for _, f := range fields {
		e.Bytes(f)
	}
	return e.B
}

func unmarshalFields(data []byte, fields ...*[]byte) error {
	d := wire.NewDec(data)
	for _, f := range fields {
		*f = d.Bytes()
	}
	return d.Done()
}

// MarshalBinary encodes a count, then each dead letter (PutDead).
func (x DeadLetters) MarshalBinary() ([]byte, error) {
	return marshalRows(KindDead, x.Rows, (*Enc).PutDead), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (x *DeadLetters) UnmarshalBinary(data []byte) (err error) {
	x.Rows, err = unmarshalRows(KindDead, data, (*Dec).GetDead)
	return err
}

// MarshalBinary encodes a count, then each row (PutSpend).
func (x SpendRows) MarshalBinary() ([]byte, error) {
	return marshalRows(KindSpend, x.Rows, (*Enc).PutSpend), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (x *SpendRows) UnmarshalBinary(data []byte) (err error) {
	x.Rows, err = unmarshalRows(KindSpend, data, (*Dec).GetSpend)
	return err
}

func marshalRows[T any](kind byte, rows []T, put func(*Enc, *T)) []byte {
	e := NewEnc(kind)
	e.Int(int64(len(rows)))
	for i := range rows {
		put(e, &rows[i])
	}
	return e.B
}

func unmarshalRows[T any](kind byte, data []byte, get func(*Dec) T) ([]T, error) {
	d := NewDec(data, kind)
	n := d.Count()
	out := make([]T, 0, n)
	for i := 0; i < n && d.Err == nil; i++ {
		out = append(out, get(d))
	}
	return out, d.Done()
}
