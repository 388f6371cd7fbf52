package tables

import "github.com/audiencesync/audiencesync/transforms/orders"

// Summary is run_summary.json: what one run read, rejected, computed and wrote. The report
// and the on-call engineer read it; it holds counts and ids only, never contact data.
type Summary struct {
	RunID     string   `json:"run_id"`     // the run's id: its outputs are under <output>/runs/<run_id>/
	RunDate   string   `json:"run_date"`   // YYYY-MM-DD (--as_of)
	StartedAt string   `json:"started_at"` // RFC 3339, wall clock of the driver
	DurationS float64  `json:"duration_s"`
	Runner    string   `json:"runner"`
	Period    string   `json:"period"` // month or week
	OK        bool     `json:"ok"`     // false when any table or sink failed
	Errors    []string `json:"errors,omitempty"`

	// Today is the run's clock date in the shop's time zone (--today), against which
	// future_date is judged.
	Today string `json:"today,omitempty"`

	// Inputs: rows read per input name (orders, order_lines, customers, spend).
	RowsRead map[string]int64 `json:"rows_read"`
	// Accounting: per input, rows read = used + not purchases + dead letters, the rejected
	// share and its limit.
	Accounting map[string]orders.Account `json:"accounting,omitempty"`
	// DeadLetters: input or stage name -> reason -> count (e.g. orders -> bad_amount -> 3,
	// contacts -> phone_invalid -> 12, sync -> rejected_by_platform -> 5).
	DeadLetters map[string]map[string]int64 `json:"dead_letters"`
	// Tables: table name -> rows written.
	Tables map[string]int64 `json:"tables"`
	// Segments: segment name -> members (rfm:, kmeans:, rule: prefixes keep sources apart).
	Segments map[string]int64 `json:"segments,omitempty"`
	// Audiences: one entry per audience and platform (the sync_log rows of this run).
	Audiences []SyncLog `json:"audiences,omitempty"`
	// Counters: Beam metrics counters by name.
	Counters map[string]int64 `json:"counters,omitempty"`
	// Headline: base-wide figures per currency (customers, orders, revenue, aov, aov_first,
	// aov_repeat, rpr, ltv_avg).
	Headline map[string]map[string]float64 `json:"headline,omitempty"`
	// CLV: model quality and parameters when the CLV model ran.
	CLV map[string]any `json:"clv,omitempty"`
	// Outputs: where things were written.
	Outputs map[string]string `json:"outputs,omitempty"`
}
