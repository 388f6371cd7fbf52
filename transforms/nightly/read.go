package nightly

import (
	"context"
	"fmt"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// ReadOptions configure reading one split.
type ReadOptions struct {
	Buckets  int       // customer and order hash buckets
	AsOf     value.Day // orders on or after it are not seen
	WithKeys bool      // emit order keys (order ids are resolved and lines joined by order bucket)
	// External reads splits of Format "bq" (BigQuery); nil when no such input is used.
	External External
}

// External reads a split of a non-file source: emit gets each row in the split's Header
// order, as the text a CSV file would hold.
type External interface {
	ReadSplit(ctx context.Context, s sources.Split, emit func(row []string) error) error
}

// readRecords reads a file split, or an external one through o.External, calling fn with
// fields in the schema's column order. External rows are numbered from 1 within the split.
func readRecords(ctx context.Context, s sources.Split, idx orders.Index, o ReadOptions, fn func(sources.Record) error, bad func(int64, error)) error {
	if s.Format != "bq" {
		return s.Read(ctx, idx, fn, bad)
	}
	if o.External == nil {
		return fmt.Errorf("%s: no reader for %s sources", s.Path, s.Format)
	}
	out := make([]string, len(idx))
	var line int64
	return o.External.ReadSplit(ctx, s, func(row []string) error {
		line++
		for i := range idx {
			out[i] = idx.Get(row, i)
		}
		return fn(sources.Record{Line: line, Fields: out})
	})
}

// ReadResult is everything one split produced, ready to emit: one batch per bucket.
type ReadResult struct {
	Batches map[int][]byte // orders and customers by customer bucket; lines by order bucket
	Keys    map[int][]byte // order keys by order bucket
	Spend   []byte
	Dead    []byte
	Counts  map[string]int64 // counter name -> value (rows, dead letters by reason, ...)
}

// Counter names used in ReadResult.Counts and as Beam counters.
func CounterRows(input string) string         { return "rows_read." + input }
func CounterDead(input, reason string) string { return "dead_letter." + input + "." + reason }

const (
	CounterUncounted = "orders_not_purchases" // cancelled or refunded
	CounterAfterAsOf = "orders_after_as_of"
	CounterNoConsent = "customers_without_consent"
	// CounterLinesNotPurchases counts lines of cancelled, refunded or after-as-of orders.
	CounterLinesNotPurchases = "order_lines_not_purchases"
)

type bucketEncs struct {
	kind byte
	m    map[int]*Enc
}

func (b *bucketEncs) get(i int) *Enc {
	e := b.m[i]
	if e == nil {
		e = NewEnc(b.kind)
		b.m[i] = e
	}
	return e
}

func (b *bucketEncs) bytes() map[int][]byte {
	out := make(map[int][]byte, len(b.m))
	for k, e := range b.m {
		out[k] = e.B
	}
	return out
}

// ReadSplit reads and validates one split. Raw contact data is hashed here, inside the
// reader, so it never leaves this function: the customers batches hold hashes only.
func ReadSplit(ctx context.Context, s sources.Split, o ReadOptions, hasher *contacts.Hasher) (*ReadResult, error) {
	schema, ok := orders.SchemaFor(s.Input)
	if !ok {
		return nil, fmt.Errorf("unknown input %q", s.Input)
	}
	idx, err := schema.Bind(s.Path, s.Header)
	if err != nil {
		return nil, err
	}
	res := &ReadResult{Counts: map[string]int64{}}
	dead := NewEnc(KindDead)
	nDead := 0
	addDead := func(line int64, id, reason, detail string) {
		dead.PutDead(&DeadLetter{Input: s.Input, Line: line, ID: id, Reason: reason, Detail: detail})
		res.Counts[CounterDead(s.Input, reason)]++
		nDead++
	}
	batches := &bucketEncs{kindFor(s.Input), map[int]*Enc{}}
	keys := &bucketEncs{KindOrderKeys, map[int]*Enc{}}
	lineBatches := map[int]*LineBatch{}
	var spend *Enc
	var rows int64
	bad := func(line int64, err error) { rows++; addDead(line, "", orders.ReasonCSV, err.Error()) }
	err = readRecords(ctx, s, idx, o, func(r sources.Record) error {
		rows++
		switch s.Input {
		case orders.InputOrders:
			ord, rej := orders.ParseOrder(idx, r.Fields)
			if rej != nil {
				addDead(r.Line, ord.OrderID, rej.Reason, rej.Detail)
				return nil
			}
			counted := ord.Status.Counts() && ord.Day < o.AsOf
			if o.WithKeys {
				keys.get(Bucket(ord.OrderID, o.Buckets)).PutOrderKey(OrderKey{ord.OrderID, ord.CustomerID, ord.Currency, ord.Day, counted, r.Line})
			}
			if ord.Day >= o.AsOf {
				res.Counts[CounterAfterAsOf]++
				return nil
			}
			if !counted {
				res.Counts[CounterUncounted]++
				return nil
			}
			batches.get(Bucket(ord.CustomerID, o.Buckets)).PutOrder(r.Line, &ord)
		case orders.InputLines:
			l, rej := orders.ParseLine(idx, r.Fields)
			if rej != nil {
				addDead(r.Line, l.OrderID, rej.Reason, rej.Detail)
				return nil
			}
			bk := Bucket(l.OrderID, o.Buckets)
			lb := lineBatches[bk]
			if lb == nil {
				lb = NewLineBatch()
				lineBatches[bk] = lb
			}
			lb.Add(r.Line, &l)
		case orders.InputCustomers:
			c, rej := orders.ParseCustomer(idx, r.Fields)
			if rej != nil {
				addDead(r.Line, c.CustomerID, rej.Reason, rej.Detail)
				return nil
			}
			h, rejects := hasher.Hash(c)
			for _, reason := range rejects {
				if reason == contacts.ReasonNoConsent {
					res.Counts[CounterNoConsent]++
					continue
				}
				// The contact is unusable but the customer is not: count and dead-letter the
				// reason (never the value) and keep the customer.
				dead.PutDead(&DeadLetter{Input: "contacts", Line: r.Line, ID: c.CustomerID, Reason: reason, Detail: "from " + s.Input})
				res.Counts[CounterDead("contacts", reason)]++
				nDead++
			}
			batches.get(Bucket(c.CustomerID, o.Buckets)).PutCustomer(&CustomerRec{
				CustomerID: c.CustomerID, Country: c.Country, Consent: c.MarketingConsent, CreatedAt: c.CreatedAt, Hashed: h})
		case orders.InputSpend:
			sp, rej := orders.ParseSpend(idx, r.Fields)
			if rej != nil {
				addDead(r.Line, "", rej.Reason, rej.Detail)
				return nil
			}
			if spend == nil {
				spend = NewEnc(KindSpend)
			}
			spend.PutSpend(&sp)
		}
		return nil
	}, bad)
	if err != nil {
		return nil, fmt.Errorf("%s (%s split at %d): %w", s.Path, s.Input, s.Start, err)
	}
	res.Counts[CounterRows(s.Input)] = rows
	res.Batches = batches.bytes()
	for bk, lb := range lineBatches {
		res.Batches[bk] = lb.Bytes()
	}
	res.Keys = keys.bytes()
	if spend != nil {
		res.Spend = spend.B
	}
	if nDead > 0 {
		res.Dead = dead.B
	}
	return res, nil
}

func kindFor(input string) byte {
	switch input {
	case orders.InputOrders:
		return KindOrders
	case orders.InputLines:
		return KindLines
	case orders.InputCustomers:
		return KindCustomers
	}
	return KindSpend
}

// JoinLines resolves one order bucket: it decides duplicated order ids (the row with the
// lowest input line wins, whatever its customer or status; every other row is a dead letter,
// and drops names the losing purchases to take out of their customers' buckets), attaches
// order lines to the winning orders and re-buckets them by customer. Lines of orders that
// are not purchases are dropped (counted); lines of unknown orders are dead letters, one per
// input line.
//
// Each output batch holds each order once, sorted by order id, with its lines summed per
// category (pairs sorted by category), so the batch is the same whatever order the input
// batches came in. It carries no customer, currency or day: BuildBucket takes them from the
// order's kept purchase.
func JoinLines(batches [][]byte, buckets int) (byCustomer map[int][]byte, drops map[int][]byte, dead []byte, counts map[string]int64, err error) {
	keys := map[string]*OrderKey{}
	var losers []OrderKey
	// Order keys first: lines may come before their orders' keys. Every row of an order id
	// meets here (the batch is keyed by order id), so this is where duplicates are decided,
	// whatever their customer or status: the row with the lowest input line wins.
	for _, b := range batches {
		d, kind := NewDec(b)
		switch kind {
		case KindOrderKeys:
			for d.More() {
				k := d.GetOrderKey()
				old, dup := keys[k.OrderID]
				switch {
				case !dup:
					keys[k.OrderID] = &k
				case k.Line < old.Line || (k.Line == old.Line && (k.CustomerID < old.CustomerID || k.CustomerID == old.CustomerID && k.Day < old.Day)):
					losers = append(losers, *old)
					keys[k.OrderID] = &k
				default:
					losers = append(losers, k)
				}
			}
		case KindLines:
		default:
			return nil, nil, nil, nil, fmt.Errorf("join: unexpected batch kind %q", kind)
		}
		if d.Err != nil {
			return nil, nil, nil, nil, d.Err
		}
	}
	counts = map[string]int64{}
	perBucket := map[int][]OrderLines{}
	var de *Enc
	dropEncs := map[int]*Enc{}
	for _, l := range losers {
		w := keys[l.OrderID]
		if de == nil {
			de = NewEnc(KindDead)
		}
		de.PutDead(&DeadLetter{Input: orders.InputOrders, Line: l.Line, ID: l.OrderID, Reason: orders.ReasonDuplicateOrder,
			Detail: fmt.Sprintf("order %s appears more than once; the row on line %d is kept", l.OrderID, w.Line)})
		counts[CounterDead(orders.InputOrders, orders.ReasonDuplicateOrder)]++
		if l.Counted {
			// The losing row reached its customer's bucket as a purchase: take it out there.
			bk := Bucket(l.CustomerID, buckets)
			e := dropEncs[bk]
			if e == nil {
				e = NewEnc(KindDrops)
				dropEncs[bk] = e
			}
			e.Str(l.OrderID)
			e.Int(l.Line)
		}
	}
	drops = make(map[int][]byte, len(dropEncs))
	for bk, e := range dropEncs {
		drops[bk] = e.B
	}
	var g LineGroup
	for _, b := range batches {
		d, kind := NewDec(b)
		if kind != KindLines {
			continue
		}
		for d.More() {
			d.GetLineGroup(&g)
			if d.Err != nil {
				break
			}
			k, ok := keys[g.OrderID]
			if !ok {
				if de == nil {
					de = NewEnc(KindDead)
				}
				for i := int64(0); i < g.N; i++ {
					de.PutDead(&DeadLetter{Input: orders.InputLines, Line: g.First + i, ID: g.OrderID, Reason: orders.ReasonUnknownOrder,
						Detail: "order " + g.OrderID + " is not in the orders input (or was dead-lettered there)"})
				}
				counts[CounterDead(orders.InputLines, orders.ReasonUnknownOrder)] += g.N
				continue
			}
			if !k.Counted {
				counts[CounterLinesNotPurchases] += g.N
				continue
			}
			bk := Bucket(k.CustomerID, buckets)
			perBucket[bk] = append(perBucket[bk], OrderLines{k.OrderID, append([]CatAmount(nil), g.Pairs...)})
		}
		if d.Err != nil {
			return nil, nil, nil, nil, d.Err
		}
	}
	byCustomer = make(map[int][]byte, len(perBucket))
	for bk, ol := range perBucket {
		sort.Slice(ol, func(i, j int) bool { return ol[i].OrderID < ol[j].OrderID })
		e := NewEnc(KindCustLines)
		for i := 0; i < len(ol); {
			o := ol[i]
			// The same order from another split or a non-adjacent run of lines.
			for i++; i < len(ol) && ol[i].OrderID == o.OrderID; i++ {
				for _, p := range ol[i].Pairs {
					o.Pairs = addCat(o.Pairs, p.Category, p.Amount)
				}
			}
			sort.Slice(o.Pairs, func(a, b int) bool { return o.Pairs[a].Category < o.Pairs[b].Category })
			e.PutOrderLines(&o)
		}
		byCustomer[bk] = e.B
	}
	if de != nil {
		dead = de.B
	}
	return byCustomer, drops, dead, counts, nil
}
