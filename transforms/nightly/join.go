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
// order's kept purchase. A customer bucket gets one batch holding its Lines and Drops.
func JoinLines(batches []OrderBatch, buckets int) (byCustomer map[int]CustomerBatch, dead []DeadLetter, counts map[string]int64, err error) {
	if err := LoadOrderBatches(batches); err != nil {
		return nil, nil, nil, err
	}
	// Sized for the keys to come (an encoded key takes ~20-40 bytes); the key strings are
	// read as substrings of one copy of each batch (NewSharedDec), not allocated one by one.
	nKeys := 0
	for _, b := range batches {
		nKeys += len(b.Keys) / 24
	}
	keys := make(map[string]*OrderKey, nKeys)
	// The kept keys' storage, one allocation. Should the estimate fall short, append moves
	// on to a new array; the map keeps pointing at the elements of the old one, which stay
	// alive and are the only copies ever changed (*old = k), so nothing is lost.
	all := make([]OrderKey, 0, nKeys)
	var losers []OrderKey
	// Order keys first: lines may come before their orders' keys. Every row of an order id
	// meets here (the batch is keyed by order id), so this is where duplicates are decided.
	for _, b := range batches {
		d := NewSharedDec(b.Keys, KindOrderKeys)
		for d.More() {
			k := d.GetOrderKey()
			if d.Err != nil {
				break
			}
			old, dup := keys[k.OrderID]
			switch {
			case !dup:
				all = append(all, k)
				keys[k.OrderID] = &all[len(all)-1]
			case k.At.Less(old.At):
				losers = append(losers, *old)
				*old = k
			default:
				losers = append(losers, k)
			}
		}
		if d.Err != nil {
			return nil, nil, nil, fmt.Errorf("join: order keys: %w", d.Err)
		}
	}
	var used, afterRunDate, notPurchases int64
	for _, k := range keys {
		switch k.Use {
		case KeyPurchase:
			used++
		case KeyAfterRunDate:
			afterRunDate++
			notPurchases++
		default:
			notPurchases++
		}
	}
	counts = map[string]int64{}
	for name, n := range map[string]int64{orders.CounterUsed(orders.InputOrders): used, orders.CounterAfterRunDate: afterRunDate,
		orders.CounterNotPurchases(orders.InputOrders): notPurchases} {
		if n > 0 {
			counts[name] = n
		}
	}
	perBucket := map[int][]OrderLines{}
	dropEncs := map[int]*Enc{}
	for _, l := range losers {
		w := keys[l.OrderID]
		dead = append(dead, DeadLetter{Input: orders.InputOrders, File: l.At.Src.File(), Line: l.At.Row, ID: l.OrderID, Reason: orders.ReasonDuplicateOrder,
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
	var g LineGroup
	for _, b := range batches {
		d := NewDec(b.Lines, KindLines)
		for d.More() {
			d.GetLineGroup(&g)
			if d.Err != nil {
				break
			}
			k, ok := keys[g.OrderID]
			if !ok {
				for i := int64(0); i < g.N; i++ {
					dead = append(dead, DeadLetter{Input: orders.InputLines, File: d.Src.File(), Line: g.First + i, ID: g.OrderID, Reason: orders.ReasonUnknownOrder,
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
			return nil, nil, nil, fmt.Errorf("join: lines: %w", d.Err)
		}
	}
	byCustomer = make(map[int]CustomerBatch, len(perBucket)+len(dropEncs))
	for bk, e := range dropEncs {
		byCustomer[bk] = CustomerBatch{Drops: e.B}
	}
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
		b := byCustomer[bk]
		b.Lines = e.B
		byCustomer[bk] = b
	}
	return byCustomer, dead, counts, nil
}

// PutDrop writes one entry of a CustomerBatch's Drops: a losing purchase row to take out
// of its bucket.
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
