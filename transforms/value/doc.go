// Package value holds the small value types every stage shares: Day (a calendar date as
// days since the epoch) and Money (exact fixed-point amounts). They have no dependencies
// on the pipeline, so readers, metrics, tables and sinks can all use them.
package value
