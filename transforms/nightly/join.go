package nightly

import (
	"fmt"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/orders"
)

// JoinLines resolves one order bucket: it decides duplicated order ids, accounts for every
// orders row, attaches order lines to the kept orders and re-buckets them by customer.
//
// Duplicates: among the rows of one order id, whatever their customer, status or file,
// the row with the smallest RowID is kept (the earliest row of the file whose path sorts
// first; for BigQuery, by content, see RowID.Less). Every other row is a dead letter that
// names both places, and drops names the losing purchases to take out of their customers'
// buckets. The kept row is counted as used (a purchase) or not a purchase.
//
// Lines of kept purchases are used; lines of orders that are not purchases are counted as
// such; lines of unknown orders are dead letters, one per input row.
//
// Each output batch holds each order once, sorted by order id, with its lines summed per
// category (pairs sorted by category), so the batch is the same whatever order the input
// batches came in. It carries no customer, currency or day: BuildBucket takes them from the
// order's kept purchase.
func JoinLines(batches [][]byte, buckets int) (byCustomer map[int][]byte, drops map[int][]byte, dead []byte, counts map[string]int64, err error) {
	keys := map[string]*OrderKey{}
	var losers []OrderKey
	// Order keys first: lines may come before their orders' keys. Every row of an order id
	// meets here (the batch is keyed by order id), so this is where duplicates are decided.
	for _, b := range batches {
		d, kind := NewDec(b)
		switch kind {
		case KindOrderKeys:
			for d.More() {
				k := d.GetOrderKey()
				if d.Err != nil {
					break
				}
				old, dup := keys[k.OrderID]
				switch {
				case !dup:
					keys[k.OrderID] = &k
				case k.At.Less(old.At):
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
	for _, k := range keys {
		switch k.Use {
		case KeyPurchase:
			counts[orders.CounterUsed(orders.InputOrders)]++
		case KeyAfterRunDate:
			counts[orders.CounterAfterRunDate]++
			fallthrough
		default:
			counts[orders.CounterNotPurchases(orders.InputOrders)]++
		}
	}
	perBucket := map[int][]OrderLines{}
	var de *Enc
	dropEncs := map[int]*Enc{}
	for _, l := range losers {
		w := keys[l.OrderID]
		if de == nil {
			de = NewEnc(KindDead)
		}
		de.PutDead(&DeadLetter{Input: orders.InputOrders, File: l.At.Src.File(), Line: l.At.Row, ID: l.OrderID, Reason: orders.ReasonDuplicateOrder,
			Detail: fmt.Sprintf("order %s appears more than once; the row at %s is kept", l.OrderID, w.At)})
		counts[CounterDead(orders.InputOrders, orders.ReasonDuplicateOrder)]++
		if l.Counted() {
			// The losing row reached its customer's bucket as a purchase: take it out there.
			bk := Bucket(l.CustomerID, buckets)
			e := dropEncs[bk]
			if e == nil {
				e = NewEnc(KindDrops)
				dropEncs[bk] = e
			}
			e.PutDrop(l.OrderID, l.At)
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
					de.PutDead(&DeadLetter{Input: orders.InputLines, File: d.Src.File(), Line: g.First + i, ID: g.OrderID, Reason: orders.ReasonUnknownOrder,
						Detail: "order " + g.OrderID + " is not in the orders input (or was dead-lettered there)"})
				}
				counts[CounterDead(orders.InputLines, orders.ReasonUnknownOrder)] += g.N
				continue
			}
			if !k.Counted() {
				counts[orders.CounterNotPurchases(orders.InputLines)] += g.N
				continue
			}
			counts[orders.CounterUsed(orders.InputLines)] += g.N
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

// PutDrop writes one KindDrops entry: a losing purchase row to take out of its bucket.
func (e *Enc) PutDrop(orderID string, at RowID) {
	e.Str(orderID)
	e.Str(at.Src.Path)
	e.Int(at.Src.Stream)
	e.Int(at.Row)
}

// dropKey identifies a purchase row in a customer bucket.
type dropKey struct {
	orderID, path string
	stream, row   int64
}

// GetDrop reads what PutDrop wrote.
func (d *Dec) getDrop() dropKey {
	return dropKey{d.Str(), d.Str(), d.Int(), d.Int()}
}
