// Package nightly is the plain-Go core of the nightly pipeline's DoFns (no Beam imports):
// pipelines/graph wires these functions into Beam stages.
//
// Data flow, all as compact []byte batches (codec.go), one per (split, bucket):
//
//   - ReadSplit reads and validates one input split: orders (KindOrders, by customer
//     bucket), order keys (KindOrderKeys, by order bucket), order lines (KindLines, by order
//     bucket; consecutive lines of one order share their order id and first input line),
//     customers (KindCustomers, hashes only) and spend; rejected rows become dead letters.
//   - JoinLines joins one order bucket's lines to their order keys and re-buckets them by
//     customer (KindCustLines: each order once, by order id, lines summed per category; the
//     customer, currency and day come from the order's kept purchase in BuildBucket).
//     Product id and quantity stop here: no consumer uses them.
//   - BuildBucket rebuilds one customer bucket's facts.Customer values from its batches;
//     compute.go turns them into metric rows, segments and audience members, and
//     history.go keeps segment membership between runs.
//
// Everything a shuffle carries is held in memory by the runner until the last stage ends,
// which is why the batches are this compact.
package nightly
