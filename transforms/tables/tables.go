// Package tables defines every output table once, as a Go struct per row, and writes
// them: in the pipeline a table travels as parts, KV<int, []Row> (one element per customer
// bucket, key 0 for base-wide tables), and Write turns each part into one Parquet file
// <output>/<table>/part-NNNNN.parquet. The Parquet writer uses the `parquet` tags
// directly; the BigQuery sink derives its schema from the same struct (column name from the
// parquet tag, type from the Go type, description from the `desc` tag), and sql/ holds the
// matching DDL, checked against these structs by a test.
//
// Conventions:
//   - DATE columns are int32 days since 1970-01-01 tagged `parquet:",date"` (parquet-go
//     mis-writes time.Time tagged date, so no time.Time is used for dates).
//   - Money is FLOAT64 in currency units, rounded to 1/10,000 from exact fixed-point sums;
//     every table that holds money has a currency column and never mixes currencies.
//   - Pointer fields are NULLABLE and mean "undefined" (e.g. AOV of zero orders, CAC
//     without spend); other fields are always set.
//   - Every table has run_date (the --run_date of the run that wrote it): BigQuery tables
//     are partitioned on it and a rerun replaces its own day.
package tables

import "time"

// CustomerMetrics is one row per customer and currency.
type CustomerMetrics struct {
	RunDate         int32    `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	CustomerID      string   `parquet:"customer_id" desc:"Customer id from the shop's data"`
	Currency        string   `parquet:"currency" desc:"ISO 4217 currency of every money column in the row"`
	FirstOrderDate  int32    `parquet:"first_order_date,date" desc:"Day of the first counted order"`
	LastOrderDate   int32    `parquet:"last_order_date,date" desc:"Day of the last counted order"`
	Cohort          string   `parquet:"cohort" desc:"First-order period (YYYY-MM, or YYYY-Www for weeks)"`
	AcqChannel      string   `parquet:"acquisition_channel" desc:"Channel of the first order, empty when unknown"`
	Orders          int64    `parquet:"orders" desc:"Counted orders (completed or partially refunded) up to the as-of date"`
	Revenue         float64  `parquet:"revenue" desc:"Sum of counted order amounts = historical LTV"`
	AOV             float64  `parquet:"aov" desc:"revenue / orders"`
	FirstOrderValue float64  `parquet:"first_order_value" desc:"Amount of the first order"`
	RepeatAOV       *float64 `parquet:"repeat_aov,optional" desc:"Average amount of the repeat orders; null with one order"`
	RecencyDays     int64    `parquet:"recency_days" desc:"Days from the last order to the as-of date"`
	TenureDays      int64    `parquet:"tenure_days" desc:"Days from the first order to the as-of date"`
	CLVSimple       float64  `parquet:"clv_simple" desc:"Simple CLV = AOV x purchases per period x expected lifetime in periods"`
	Active          bool     `parquet:"active" desc:"Bought within the activity window (default 365 days) before the as-of date"`
	Churned         bool     `parquet:"churned" desc:"Active at the start of the last complete period and not at its end"`
	HasConsent      bool     `parquet:"marketing_consent" desc:"Customer allows ad use of their contacts"`

	RFMRecency   int64  `parquet:"rfm_r" desc:"RFM recency score (see rfm_best_score for direction)"`
	RFMFrequency int64  `parquet:"rfm_f" desc:"RFM frequency score"`
	RFMMonetary  int64  `parquet:"rfm_m" desc:"RFM monetary score"`
	RFMScore     string `parquet:"rfm_score" desc:"R-F-M combination, e.g. 1-1-1"`
	RFMBest      int64  `parquet:"rfm_best_score" desc:"The best score value: 1 with 3 bins, 5 with 5 bins"`
	RFMSegment   string `parquet:"rfm_segment" desc:"Named RFM segment from the R x F grid"`
	Cluster      int64  `parquet:"cluster" desc:"k-means cluster index, -1 when not clustered"`
	ClusterName  string `parquet:"cluster_name" desc:"Readable name of the k-means cluster"`

	PredPurchases *float64 `parquet:"pred_purchases,optional" desc:"BG/NBD expected purchases over the CLV horizon"`
	PAlive        *float64 `parquet:"p_alive,optional" desc:"BG/NBD probability the customer is still active"`
	ExpAOV        *float64 `parquet:"exp_aov,optional" desc:"Gamma-Gamma expected average order value"`
	PredCLV       *float64 `parquet:"pred_clv,optional" desc:"Predicted CLV over the horizon (margin and discount applied)"`
	ChurnRisk     *float64 `parquet:"churn_risk,optional" desc:"1 - p_alive"`
}

// PeriodMetrics is one row per period, currency and channel ("all" = every channel).
type PeriodMetrics struct {
	RunDate         int32    `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	Period          string   `parquet:"period" desc:"Period label: YYYY-MM or YYYY-Www (ISO week)"`
	PeriodStart     int32    `parquet:"period_start,date" desc:"First day of the period"`
	PeriodEnd       int32    `parquet:"period_end,date" desc:"Last day of the period"`
	Complete        bool     `parquet:"complete" desc:"The period ended before the as-of date"`
	Currency        string   `parquet:"currency" desc:"ISO 4217 currency of every money column in the row"`
	Channel         string   `parquet:"channel" desc:"Acquisition channel of the customers counted, or all"`
	Orders          int64    `parquet:"orders" desc:"Counted orders in the period"`
	Revenue         float64  `parquet:"revenue" desc:"Revenue of the counted orders in the period"`
	Buyers          int64    `parquet:"buyers" desc:"Customers with an order in the period"`
	NewCustomers    int64    `parquet:"new_customers" desc:"Customers whose first order fell in the period"`
	FirstOrders     int64    `parquet:"first_orders" desc:"First orders in the period"`
	RepeatOrders    int64    `parquet:"repeat_orders" desc:"Repeat orders in the period"`
	RevenueFirst    float64  `parquet:"revenue_first" desc:"Revenue of first orders"`
	RevenueRepeat   float64  `parquet:"revenue_repeat" desc:"Revenue of repeat orders"`
	AOV             *float64 `parquet:"aov,optional" desc:"revenue / orders; null without orders"`
	AOVFirst        *float64 `parquet:"aov_first,optional" desc:"AOV of first orders; null without first orders"`
	AOVRepeat       *float64 `parquet:"aov_repeat,optional" desc:"AOV of repeat orders; null without repeat orders"`
	ActiveStart     int64    `parquet:"active_start" desc:"S: customers active at the period start (bought within the window)"`
	ActiveEnd       int64    `parquet:"active_end" desc:"E: customers active at the period end"`
	CRR             *float64 `parquet:"crr" desc:"Customer retention rate % = (E - N) / S x 100; null when S = 0"`
	ChurnRate       *float64 `parquet:"churn_rate" desc:"100 - CRR"`
	Churned         int64    `parquet:"churned" desc:"Customers active at the start and not at the end"`
	RepeatBuyers    int64    `parquet:"repeat_buyers" desc:"Buyers in the period who had bought before it"`
	RPR             *float64 `parquet:"rpr,optional" desc:"Repeat purchase rate % = repeat_buyers / buyers x 100"`
	Spend           *float64 `parquet:"spend,optional" desc:"Acquisition spend in the period (spend input)"`
	CAC             *float64 `parquet:"cac,optional" desc:"spend / new_customers; null without spend or new customers"`
	CustomersToDate int64    `parquet:"customers_to_date" desc:"Customers with a first order up to the period end"`
	LTVAvg          *float64 `parquet:"ltv_avg,optional" desc:"Average historical LTV (cumulative revenue / customers) at the period end"`
}

// CohortRetention is one row per cohort (first-order period), currency and period offset.
type CohortRetention struct {
	RunDate               int32   `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	Cohort                string  `parquet:"cohort" desc:"First-order period of the cohort"`
	CohortStart           int32   `parquet:"cohort_start,date" desc:"First day of the cohort period"`
	Currency              string  `parquet:"currency" desc:"ISO 4217 currency"`
	PeriodOffset          int64   `parquet:"period_offset" desc:"Periods since the cohort period (0 = the cohort's own)"`
	CohortSize            int64   `parquet:"cohort_size" desc:"Customers in the cohort"`
	ActiveCustomers       int64   `parquet:"active_customers" desc:"Cohort customers with an order in this period"`
	RetentionPct          float64 `parquet:"retention_pct" desc:"active_customers / cohort_size x 100"`
	Orders                int64   `parquet:"orders" desc:"Orders of the cohort in this period"`
	Revenue               float64 `parquet:"revenue" desc:"Revenue of the cohort in this period"`
	CumRevenuePerCustomer float64 `parquet:"cum_revenue_per_customer" desc:"Cumulative revenue per cohort customer up to this offset (cohort LTV curve)"`
}

// ChurnList is one row per churned customer: active at the start of the last complete
// period and not at its end. Contact data is never here, only the customer id.
type ChurnList struct {
	RunDate       int32   `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	Period        string  `parquet:"period" desc:"The period in which the customer churned"`
	CustomerID    string  `parquet:"customer_id" desc:"Customer id"`
	Currency      string  `parquet:"currency" desc:"ISO 4217 currency"`
	LastOrderDate int32   `parquet:"last_order_date,date" desc:"Day of the last counted order"`
	Orders        int64   `parquet:"orders" desc:"Counted orders up to the as-of date"`
	Revenue       float64 `parquet:"revenue" desc:"Revenue up to the as-of date"`
}

// SegmentMembership is one row per customer and segment they are in on the run date.
type SegmentMembership struct {
	RunDate    int32  `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	CustomerID string `parquet:"customer_id" desc:"Customer id"`
	Segment    string `parquet:"segment" desc:"Segment name"`
	Source     string `parquet:"source" desc:"rfm, kmeans or rule"`
	EnteredAt  int32  `parquet:"entered_at,date" desc:"First run date of the current uninterrupted membership"`
}

// KMeansCentroid is one row per cluster, in original units.
type KMeansCentroid struct {
	RunDate     int32   `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	Currency    string  `parquet:"currency" desc:"ISO 4217 currency of the monetary column"`
	Cluster     int64   `parquet:"cluster" desc:"Cluster index"`
	ClusterName string  `parquet:"cluster_name" desc:"Readable name derived from the centroid"`
	Size        int64   `parquet:"size" desc:"Customers assigned to the cluster"`
	RecencyDays float64 `parquet:"recency_days" desc:"Centroid recency in days"`
	Frequency   float64 `parquet:"frequency" desc:"Centroid number of orders in the RFM look-back window (0 = none in the window)"`
	Monetary    float64 `parquet:"monetary" desc:"Centroid revenue in the RFM look-back window"`
	Features    string  `parquet:"features" desc:"JSON object of every feature's centroid value in original units"`
}

// AudienceMember is one identifier of one audience on one platform on the run date: the
// audience as it should be after the run's delivery. Hashes only, with the platform's own
// normalisation and algorithm; no raw contact and no customer id. One row per distinct
// identifier of each audience and platform.
type AudienceMember struct {
	RunDate        int32  `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	Audience       string `parquet:"audience" desc:"Audience name from the config"`
	Platform       string `parquet:"platform" desc:"yandex, vk, meta or google"`
	IdentifierType string `parquet:"identifier_type" desc:"email or phone"`
	Hash           string `parquet:"identifier_hash" desc:"Lowercase hex hash of the normalised identifier, as sent to the platform (SHA-256; MD5 for VK by default)"`
	// Value is set for value-based seeds only (lookalikes.meta.value).
	Value *float64 `parquet:"value,optional" desc:"Value-based seeds only: the identifier's value (sum of its customers' pred_clv, revenue or clv_simple, rounded to cents); null otherwise"`
}

// SyncLog is one row per audience, platform and run, plus one per lookalike the platform
// builds from an audience (Kind "lookalike").
type SyncLog struct {
	RunDate       int32     `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	Audience      string    `parquet:"audience" desc:"Audience name from the config"`
	Platform      string    `parquet:"platform" desc:"yandex, vk, meta or google"`
	Mode          string    `parquet:"mode" desc:"incremental or replace"`
	DryRun        bool      `parquet:"dry_run" desc:"Nothing was sent; payloads were written to files"`
	Members       int64     `parquet:"members" desc:"Distinct hashed identifiers (e-mails and phones) in today's audience"`
	Added         int64     `parquet:"added" desc:"Identifiers the platform confirmed added (planned, in a dry run)"`
	Removed       int64     `parquet:"removed" desc:"Identifiers the platform confirmed removed (planned, in a dry run)"`
	Sent          int64     `parquet:"sent" desc:"Identifiers sent"`
	Accepted      int64     `parquet:"accepted" desc:"Identifiers the platform accepted"`
	Rejected      int64     `parquet:"rejected" desc:"Identifiers the platform rejected"`
	RejectReasons string    `parquet:"reject_reasons" desc:"JSON object reason -> count"`
	Status        string    `parquet:"status" desc:"ok, unchanged, empty, dry_run, validated, processing, partial, below_minimum, waiting, guarded or failed"`
	Error         string    `parquet:"error" desc:"Error message (secrets redacted), empty when ok"`
	Requests      int64     `parquet:"requests" desc:"HTTP requests made"`
	DurationMs    int64     `parquet:"duration_ms" desc:"Wall time of the sync"`
	StartedAt     time.Time `parquet:"started_at,timestamp(millisecond)" desc:"When the sync started (UTC)"`
	Kind          string    `parquet:"kind" desc:"audience (the audience's identifiers on the platform) or lookalike (the lookalike audience the platform builds from it)"`
	RemoteID      string    `parquet:"remote_id" desc:"The platform's id of the audience or lookalike; empty while it does not exist"`
	SourceID      string    `parquet:"source_id" desc:"Lookalikes: the platform's id of the source (seed) audience; empty otherwise"`
	PlatformSize  *int64    `parquet:"platform_size,optional" desc:"Lookalikes: the size the platform reports (Meta approximate_count_lower_bound); null when it reports none"`
}

// SyncLog kinds.
const (
	KindAudience  = "audience"
	KindLookalike = "lookalike"
)

// CLVModel is one row per fitted model (BG/NBD and Gamma-Gamma) and currency.
type CLVModel struct {
	RunDate       int32   `parquet:"run_date,date" desc:"As-of date of the run that wrote the row"`
	Currency      string  `parquet:"currency" desc:"ISO 4217 currency"`
	Model         string  `parquet:"model" desc:"bgnbd, gamma_gamma, or holdout (params: predicted vs actual purchases after fit_date)"`
	Params        string  `parquet:"params" desc:"JSON object of fitted parameters (r, alpha, a, b or p, q, v)"`
	LogLikelihood float64 `parquet:"log_likelihood" desc:"Log-likelihood at the fitted parameters"`
	TimeUnit      string  `parquet:"time_unit" desc:"days or weeks"`
	Customers     int64   `parquet:"customers" desc:"Customers the model was fitted on"`
	FitDate       int32   `parquet:"fit_date,date" desc:"Calibration end date"`
	Converged     bool    `parquet:"converged" desc:"The optimiser reported convergence"`
}

// Table describes one output table.
type Table struct {
	Name        string
	Description string
	Row         any      // a zero value of the row struct
	Cluster     []string // BigQuery clustering columns
}

// All lists every output table, in the order they are written.
var All = []Table{
	{"customer_metrics", "One row per customer and currency: orders, revenue, RFM, cluster, predicted CLV", CustomerMetrics{}, []string{"customer_id"}},
	{"period_metrics", "One row per period, currency and channel: AOV first vs repeat, CAC, CRR, churn, RPR, LTV", PeriodMetrics{}, []string{"currency", "channel"}},
	{"cohort_retention", "One row per first-order cohort and period offset", CohortRetention{}, []string{"cohort"}},
	{"churn_list", "Customers active at the start of the last complete period and not at its end", ChurnList{}, []string{"customer_id"}},
	{"segment_membership", "One row per customer and segment", SegmentMembership{}, []string{"segment", "source"}},
	{"kmeans_centroids", "k-means centroids in original units", KMeansCentroid{}, []string{"cluster"}},
	{"audience_members", "One row per identifier of each audience and platform: who should be in each audience (hashes only)", AudienceMember{}, []string{"audience", "platform"}},
	{"sync_log", "One row per audience and platform sync", SyncLog{}, []string{"platform", "audience"}},
	{"clv_model", "Fitted BG/NBD and Gamma-Gamma parameters", CLVModel{}, []string{"model"}},
}

// ByName returns the table with that name.
func ByName(name string) (Table, bool) {
	for _, t := range All {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}
