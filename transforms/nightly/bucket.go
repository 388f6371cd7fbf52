package nightly

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// BucketData is one hash bucket of customers, rebuilt from its batches: the per-customer
// facts (sorted by customer id, then currency) and the hashed customer records.
type BucketData struct {
	Customers []*facts.Customer
	Records   map[string]*CustomerRec
	Dead      []DeadLetter
	Counts    map[string]int64
}

// BuildBucket decodes a bucket's batches (orders, joined lines, customers, drops) into
// facts; withHashes decodes the customers' contact hashes too (only audiences need them).
//
// Purchases that the order-id join dropped as duplicates are taken out here; an order id
// left twice after that is an internal error. Customers: of several rows of one customer
// id, the one with the smallest RowID gives country, created_at and contacts (the earliest
// row of the file whose path sorts first), but marketing consent is false when any row
// says false: a withdrawn consent wins. Every other row is a duplicate_customer_id dead
// letter naming the kept row. Counts holds the customers' accounting (rows_used and the
// duplicates): count it once per bucket.
func BuildBucket(batches []CustomerBatch, withHashes bool) (*BucketData, error) {
	if err := LoadCustomerBatches(batches); err != nil {
		return nil, err
	}
	type key struct{ id, cur string }
	var byKey map[key]*facts.Customer
	recs := map[string]*CustomerRec{}
	var dupRecs []*CustomerRec   // every customer row that is not the first of its id seen
	var seen map[string]struct{} // order ids kept
	bd := &BucketData{Records: recs, Counts: map[string]int64{}}
	var lineBatches []*Dec // decoded after the orders, straight into the customers' facts
	// Drops and customer rows first: a drop decided by the order-id join may sit in any
	// batch, so every drop is known before the first order is kept. The orders are then
	// decoded straight into the customers' facts (no intermediate slice of every order).
	drop := map[dropKey]bool{}
	for _, b := range batches {
		d := NewDec(b.Drops, KindDrops)
		for d.More() {
			drop[d.getDrop()] = true
		}
		if d.Err != nil {
			return nil, fmt.Errorf("bucket: drops: %w", d.Err)
		}
		if len(b.Lines) > 0 {
			lineBatches = append(lineBatches, NewDec(b.Lines, KindCustLines))
		}
		d = NewDec(b.Customers, KindCustomers)
		for d.More() {
			r := d.GetCustomer(withHashes)
			if d.Err != nil {
				break
			}
			if _, dup := recs[r.CustomerID]; dup {
				dupRecs = append(dupRecs, &r)
				continue
			}
			recs[r.CustomerID] = &r
		}
		if d.Err != nil {
			return nil, fmt.Errorf("bucket: customers: %w", d.Err)
		}
	}
	resolveCustomers(recs, dupRecs, bd)
	// Sized for the orders to come: an encoded order takes at least ~12 bytes, usually ~30.
	nOrders := 0
	for _, b := range batches {
		nOrders += len(b.Orders) / 24
	}
	seen = make(map[string]struct{}, nOrders)
	byKey = make(map[key]*facts.Customer, nOrders/4)
	for _, b := range batches {
		// The ids are kept in the facts: read them as substrings of one copy of the batch.
		d := NewSharedDec(b.Orders, KindOrders)
		for d.More() {
			row, o := d.GetOrder()
			if d.Err != nil {
				break
			}
			if drop[dropKey{o.OrderID, d.Src.Path, d.Src.Stream, row}] {
				continue // a duplicate decided (and dead-lettered) by the order-id join
			}
			if _, dup := seen[o.OrderID]; dup {
				return nil, fmt.Errorf("bucket: order %s is kept twice (%s:%d): the order-id join should have decided it", o.OrderID, d.Src.File(), row)
			}
			seen[o.OrderID] = struct{}{}
			k := key{o.CustomerID, o.Currency}
			c := byKey[k]
			if c == nil {
				c = &facts.Customer{CustomerID: o.CustomerID, Currency: o.Currency}
				byKey[k] = c
			}
			c.Purchases = append(c.Purchases, facts.Purchase{OrderID: o.OrderID, Day: o.Day, Amount: o.Amount, Channel: o.Channel})
		}
		if d.Err != nil {
			return nil, fmt.Errorf("bucket: orders: %w", d.Err)
		}
	}
	if len(lineBatches) > 0 {
		// Lines carry only their order id: the kept purchase of that id gives the customer,
		// currency and day (the join used the key of the same orders row).
		type kept struct {
			c   *facts.Customer
			oid string
			day value.Day
		}
		byOrder := make(map[string]kept, len(seen))
		for _, c := range byKey {
			for _, p := range c.Purchases {
				byOrder[p.OrderID] = kept{c, p.OrderID, p.Day}
			}
		}
		var ol OrderLines
		for _, d := range lineBatches {
			for d.More() {
				d.GetOrderLines(&ol)
				k, ok := byOrder[ol.OrderID]
				if !ok || d.Err != nil {
					continue // not a kept purchase of this bucket (the join sent it elsewhere)
				}
				for _, p := range ol.Pairs {
					k.c.Lines = append(k.c.Lines, facts.LineItem{OrderID: k.oid, Day: k.day, Category: p.Category, Amount: p.Amount})
				}
			}
			if d.Err != nil {
				return nil, d.Err
			}
		}
	}
	bd.Customers = make([]*facts.Customer, 0, len(byKey))
	for _, c := range byKey {
		if r := recs[c.CustomerID]; r != nil {
			c.HasRecord, c.Country, c.MarketingConsent, c.CreatedAt = true, r.Country, r.Consent, r.CreatedAt
		}
		c.Sort()
		bd.Customers = append(bd.Customers, c)
	}
	sort.Slice(bd.Customers, func(i, j int) bool {
		a, b := bd.Customers[i], bd.Customers[j]
		if a.CustomerID != b.CustomerID {
			return a.CustomerID < b.CustomerID
		}
		return a.Currency < b.Currency
	})
	return bd, nil
}

// resolveCustomers decides among duplicate customer rows (see BuildBucket): recs holds the
// first row seen of each id and becomes the kept one; dups are the others.
func resolveCustomers(recs map[string]*CustomerRec, dups []*CustomerRec, bd *BucketData) {
	// Sorted so that the dead letters and the consent detail do not depend on batch order.
	sort.Slice(dups, func(i, j int) bool { return dups[i].At.Less(dups[j].At) })
	byID := map[string][]*CustomerRec{}
	for _, r := range dups {
		byID[r.CustomerID] = append(byID[r.CustomerID], r)
	}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		all := append([]*CustomerRec{recs[id]}, byID[id]...)
		kept := all[0]
		for _, r := range all[1:] {
			if r.At.Less(kept.At) {
				kept = r
			}
		}
		var withdrawn *CustomerRec // the first row that says no consent
		for _, r := range all {
			if !r.Consent && (withdrawn == nil || r.At.Less(withdrawn.At)) {
				withdrawn = r
			}
		}
		if withdrawn != nil && kept.Consent {
			// Privacy first: any row without consent withdraws it, and nothing is hashed.
			kept.Consent = false
			kept.Hashed = contacts.Hashed{CustomerID: kept.CustomerID}
		}
		recs[id] = kept
		for _, r := range all {
			if r == kept {
				continue
			}
			detail := fmt.Sprintf("customer %s appears more than once; the row at %s is kept", id, kept.At)
			if withdrawn != nil {
				detail += fmt.Sprintf(", without marketing consent (the row at %s withdraws it)", withdrawn.At)
			}
			bd.Dead = append(bd.Dead, DeadLetter{Input: orders.InputCustomers, File: r.At.Src.File(), Line: r.At.Row, ID: id, Reason: orders.ReasonDuplicateCustomer, Detail: detail})
			bd.Counts[CounterDead(orders.InputCustomers, orders.ReasonDuplicateCustomer)]++
		}
	}
	for _, r := range recs {
		bd.Counts[orders.CounterUsed(orders.InputCustomers)]++
		if !r.Consent {
			bd.Counts[orders.CounterNoConsent]++
		}
	}
}
