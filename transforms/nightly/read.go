package nightly

import (
	"context"
	"fmt"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// ReadOptions configure reading one split.
type ReadOptions struct {
	Buckets int       // customer and order hash buckets
	AsOf    value.Day // the run date: orders on or after it are not purchases
	// Today is the run's clock date in the shop's time zone, read once by the driver:
	// orders dated after Today+orders.FutureGraceDays are future_date. 0 checks nothing.
	Today value.Day
	// TimeZone is the shop's IANA time zone (metrics.timezone); "" is UTC.
	TimeZone string
	// External reads splits of Format "bq" (BigQuery); nil when no such input is used.
	External External
}

// External reads a split of a non-file source (see sources.RowReader).
type External = sources.RowReader

// ReadResult is everything one split produced, ready to emit: one batch per bucket.
type ReadResult struct {
	Batches map[int][]byte // orders and customers by customer bucket; lines by order bucket
	Keys    map[int][]byte // order keys by order bucket
	Spend   []byte
	Dead    []byte
	Counts  map[string]int64 // counter name -> value (rows, dead letters by reason, ...)
}

// Counter names used in ReadResult.Counts and as Beam counters (see orders.CounterRead for
// the accounting they add up to).
func CounterRows(input string) string         { return orders.CounterRead(input) }
func CounterDead(input, reason string) string { return orders.CounterDead(input, reason) }

const (
	CounterAfterAsOf = orders.CounterAfterRunDate
	CounterNoConsent = orders.CounterNoConsent
)

type bucketEncs struct {
	kind byte
	src  Src
	m    []*Enc // by bucket
}

func newBucketEncs(kind byte, src Src, buckets int) *bucketEncs {
	return &bucketEncs{kind, src, make([]*Enc, buckets)}
}

func (b *bucketEncs) get(i int) *Enc {
	e := b.m[i]
	if e == nil {
		e = NewSrcEnc(b.kind, b.src)
		b.m[i] = e
	}
	return e
}

func (b *bucketEncs) bytes() map[int][]byte {
	out := map[int][]byte{}
	for k, e := range b.m {
		if e != nil {
			out[k] = e.B
		}
	}
	return out
}

// ReadSplit reads and validates one split. Raw contact data is hashed here, inside the
// reader, so it never leaves this function: the customers batches hold hashes only.
//
// Every row read is counted (rows_read) and ends in exactly one place: a dead letter here,
// or an order key, line, customer record or spend row that the join and the buckets
// account for (see orders.CounterRead). Rows are identified by (file or stream, row).
func ReadSplit(ctx context.Context, s sources.Split, o ReadOptions, hasher *contacts.Hasher) (*ReadResult, error) {
	z, err := orders.LoadZone(o.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("metrics.timezone: %w", err)
	}
	src := Src{Path: s.Path, Stream: s.Stream(), Tied: s.Format == "bq"}
	file := s.File()
	res := &ReadResult{Counts: map[string]int64{}}
	dead := NewEnc(KindDead)
	nDead := 0
	addDead := func(input string, row int64, id, reason, detail string) {
		dead.PutDead(&DeadLetter{Input: input, File: file, Line: row, ID: id, Reason: reason, Detail: detail})
		res.Counts[CounterDead(input, reason)]++
		nDead++
	}
	if o.Buckets < 1 {
		return nil, fmt.Errorf("buckets must be > 0")
	}
	batches := newBucketEncs(kindFor(s.Input), src, o.Buckets)
	keys := newBucketEncs(KindOrderKeys, src, o.Buckets)
	lineBatches := map[int]*LineBatch{}
	var spend *Enc
	var rows int64
	var amounts orders.AmountTotal
	bad := func(row int64, reason, detail string) { rows++; addDead(s.Input, row, "", reason, detail) }
	err = sources.Read(ctx, s, o.External, func(r sources.Record) error {
		rows++
		var tie uint64
		if src.Tied {
			tie = TieOf(r.Fields)
		}
		switch s.Input {
		case orders.InputOrders:
			ord, rej := orders.ParseOrder(r.Fields, z)
			if rej == nil {
				rej = orders.CheckFuture(&ord, o.Today)
			}
			if rej != nil {
				addDead(s.Input, r.Row, ord.OrderID, rej.Reason, rej.Detail)
				return nil
			}
			use := KeyPurchase
			switch {
			case !ord.Status.Counts():
				use = KeyNotPurchase
			case ord.Day >= o.AsOf:
				use = KeyAfterRunDate
			}
			// Every valid row gets a key: the order-id join decides duplicates and counts
			// the row as used or not a purchase.
			keys.get(Bucket(ord.OrderID, o.Buckets)).PutOrderKey(OrderKey{ord.OrderID, ord.CustomerID, ord.Currency, ord.Day, use, RowID{src, tie, r.Row}})
			if use == KeyPurchase {
				batches.get(Bucket(ord.CustomerID, o.Buckets)).PutOrder(r.Row, &ord)
				amounts.Add(ord.Amount)
			}
		case orders.InputLines:
			l, rej := orders.ParseLine(r.Fields)
			if rej != nil {
				addDead(s.Input, r.Row, l.OrderID, rej.Reason, rej.Detail)
				return nil
			}
			bk := Bucket(l.OrderID, o.Buckets)
			lb := lineBatches[bk]
			if lb == nil {
				lb = NewLineBatch(src)
				lineBatches[bk] = lb
			}
			lb.Add(r.Row, &l)
			amounts.Add(l.Amount)
		case orders.InputCustomers:
			c, rej := orders.ParseCustomer(r.Fields, z)
			if rej != nil {
				addDead(s.Input, r.Row, c.CustomerID, rej.Reason, rej.Detail)
				return nil
			}
			h, rejects := hasher.Hash(c)
			for _, reason := range rejects {
				if reason == contacts.ReasonNoConsent {
					continue // counted per customer in BuildBucket, after duplicates
				}
				// The contact is unusable but the customer is not: dead-letter the reason
				// (never the value) under "contacts" and keep the customer. Not a row of
				// the customers input, so not in its accounting.
				dead.PutDead(&DeadLetter{Input: "contacts", File: file, Line: r.Row, ID: c.CustomerID, Reason: reason, Detail: "from " + s.Input})
				res.Counts[CounterDead("contacts", reason)]++
				nDead++
			}
			batches.get(Bucket(c.CustomerID, o.Buckets)).PutCustomer(&CustomerRec{At: RowID{src, tie, r.Row},
				CustomerID: c.CustomerID, Country: c.Country, Consent: c.MarketingConsent, CreatedAt: c.CreatedAt, Hashed: h})
		case orders.InputSpend:
			sp, rej := orders.ParseSpend(r.Fields)
			if rej != nil {
				addDead(s.Input, r.Row, "", rej.Reason, rej.Detail)
				return nil
			}
			if spend == nil {
				spend = NewEnc(KindSpend)
			}
			spend.PutSpend(&sp)
			res.Counts[orders.CounterUsed(s.Input)]++
			amounts.Add(sp.Amount)
		}
		return nil
	}, bad)
	if err != nil {
		return nil, fmt.Errorf("%s (%s split at %d): %w", s.Path, s.Input, s.Start, err)
	}
	res.Counts[CounterRows(s.Input)] = rows
	if u := amounts.Units(); u > 0 {
		res.Counts[orders.CounterAmountUnits(s.Input)] = u
	}
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
