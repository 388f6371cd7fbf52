// Package nightly reads the inputs into bucketed batches and rebuilds per-customer facts
// from them: the data model every later stage of the nightly pipeline works on.
//
// Beam composites (beam.go), with their element types (types.go):
//
//	Read:          PCollection<Source> → KV<int, CustomerBatch>, KV<int, OrderBatch>,
//	               PCollection<SpendRows>, KV<string, DeadLetters>
//	Join:          KV<int, OrderBatch> → KV<int, CustomerBatch> (joined lines, drops), dead letters
//	GroupBuckets:  KV<int, CustomerBatch>... → KV<int, iter<CustomerBatch>> (model.Aggregate, score.Score)
//	WriteDeadLetters: KV<string, DeadLetters>... → <output>/dead_letters/<input>.csv
//
// The plain-Go cores they call, one per (split, bucket), each batch field a compact run of
// records of one kind (codec.go, in the encoding of package wire):
//
//   - ReadSplit reads and validates one input split: purchases (CustomerBatch.Orders, by
//     customer bucket), an order key for every valid orders row (OrderBatch.Keys, by order
//     bucket), order lines (OrderBatch.Lines, by order bucket; consecutive lines of one
//     order share their order id and first row), customers (CustomerBatch.Customers,
//     hashes only) and spend; rejected rows become dead letters. Fields of one split start
//     with their Src (file or bq:// address and stream); rows carry their row number, so a
//     RowID names any row of a run.
//   - JoinLines decides duplicate order ids (smallest RowID wins, across files and
//     streams), counts every orders row as used or not a purchase, joins one order
//     bucket's lines to their kept orders and re-buckets them by customer
//     (CustomerBatch.Lines: each order once, by order id, lines summed per category; the
//     customer, currency and day come from the order's kept purchase in BuildBucket).
//     Losing purchases go to their customers' buckets as CustomerBatch.Drops. Product id
//     and quantity stop here.
//   - BuildBucket rebuilds one customer bucket's facts.Customer values from its batches and
//     decides duplicate customer rows (first row's fields, any consent=false wins); package
//     model aggregates them and package score turns them into table rows.
//
// Accounting: ReadSplit, JoinLines and BuildBucket together count every row read exactly
// once as used, not a purchase or a dead letter (orders.CounterRead and friends), so that
// the driver can check rows read = used + not purchases + dead letters per input.
//
// Everything a shuffle carries is held in memory by the runner until the last stage ends,
// which is why the batches are this compact. With ReadConfig.SpillDir set (the nightly
// binary sets it for the in-process runner), Read and Join write their batches to files
// and the shuffles carry references (CustomerBatch.Spilled, OrderBatch.Spilled), which
// BuildBucket and JoinLines resolve (spill.go).
package nightly
