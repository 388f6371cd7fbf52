// Package nightly is the plain-Go core of the nightly pipeline's DoFns (no Beam imports):
// pipelines/graph wires these functions into Beam stages.
//
// Data flow, all as compact []byte batches (codec.go), one per (split, bucket):
//
//   - ReadSplit reads and validates one input split: purchases (KindOrders, by customer
//     bucket), an order key for every valid orders row (KindOrderKeys, by order bucket),
//     order lines (KindLines, by order bucket; consecutive lines of one order share their
//     order id and first row), customers (KindCustomers, hashes only) and spend; rejected
//     rows become dead letters. Batches of one split start with their Src (file or bq://
//     address and stream); rows carry their row number, so a RowID names any row of a run.
//   - JoinLines decides duplicate order ids (smallest RowID wins, across files and
//     streams), counts every orders row as used or not a purchase, joins one order
//     bucket's lines to their kept orders and re-buckets them by customer (KindCustLines:
//     each order once, by order id, lines summed per category; the customer, currency and
//     day come from the order's kept purchase in BuildBucket). Losing purchases go to their
//     customers' buckets as KindDrops. Product id and quantity stop here.
//   - BuildBucket rebuilds one customer bucket's facts.Customer values from its batches,
//     decides duplicate customer rows (first row's fields, any consent=false wins);
//     compute.go turns them into metric rows, segments and audience members, and
//     history.go keeps segment membership between runs.
//
// Accounting: ReadSplit, JoinLines and BuildBucket together count every row read exactly
// once as used, not a purchase or a dead letter (orders.CounterRead and friends), so that
// the driver can check rows read = used + not purchases + dead letters per input.
//
// Everything a shuffle carries is held in memory by the runner until the last stage ends,
// which is why the batches are this compact.
package nightly
