package nightly

import (
	"fmt"
	"sort"

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

// BuildBucket decodes a bucket's batches (orders, joined lines, customers) into facts;
// withHashes decodes the customers' contact hashes too (only audiences need them).
// An order id seen twice for the same customer is kept once and dead-lettered.
func BuildBucket(batches []CustomerBatch, withHashes bool) (*BucketData, error) {
	type key struct{ id, cur string }
	byKey := map[key]*facts.Customer{}
	recs := map[string]*CustomerRec{}
	seen := map[string]struct{}{}
	bd := &BucketData{Records: recs, Counts: map[string]int64{}}
	var lineBatches []*Dec // decoded after the orders, straight into the customers' facts
	type lineOrder struct {
		line int64
		o    orders.Order
	}
	var pending []lineOrder
	type dropKey struct {
		id   string
		line int64
	}
	drop := map[dropKey]bool{}
	for _, b := range batches {
		d := NewDec(b.Orders)
		for d.More() {
			line, o := d.GetOrder()
			pending = append(pending, lineOrder{line, o})
		}
		if d.Err != nil {
			return nil, fmt.Errorf("bucket: orders: %w", d.Err)
		}
		d = NewDec(b.Drops)
		for d.More() {
			id := d.Str()
			drop[dropKey{id, d.Int()}] = true
		}
		if d.Err != nil {
			return nil, fmt.Errorf("bucket: drops: %w", d.Err)
		}
		if len(b.Lines) > 0 {
			lineBatches = append(lineBatches, NewDec(b.Lines))
		}
		d = NewDec(b.Customers)
		for d.More() {
			r := d.GetCustomer(withHashes)
			if _, dup := recs[r.CustomerID]; dup {
				bd.Counts["customers_duplicate_records"]++
				continue
			}
			recs[r.CustomerID] = &r
		}
		if d.Err != nil {
			return nil, fmt.Errorf("bucket: customers: %w", d.Err)
		}
	}
	// A duplicated order id keeps the row with the lowest input line (then the smallest
	// customer id and day), whatever order the batches arrived in, so reruns and runners agree.
	sort.SliceStable(pending, func(i, j int) bool {
		a, b := pending[i], pending[j]
		if a.line != b.line {
			return a.line < b.line
		}
		if a.o.CustomerID != b.o.CustomerID {
			return a.o.CustomerID < b.o.CustomerID
		}
		return a.o.Day < b.o.Day
	})
	for _, p := range pending {
		o := p.o
		if drop[dropKey{o.OrderID, p.line}] {
			continue // a duplicate decided (and dead-lettered) by the order-id join
		}
		if _, dup := seen[o.OrderID]; dup {
			bd.Dead = append(bd.Dead, DeadLetter{Input: orders.InputOrders, Line: p.line, ID: o.OrderID, Reason: orders.ReasonDuplicateOrder,
				Detail: "order " + o.OrderID + " appears more than once for customer " + o.CustomerID + "; the first row is kept"})
			bd.Counts[CounterDead(orders.InputOrders, orders.ReasonDuplicateOrder)]++
			continue
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
