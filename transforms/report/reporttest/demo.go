package reporttest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Demo makes a plausible synthetic run of a small shop (monthly periods, one currency):
// customers is the number of customers, months the months of history before runDate. The
// orders are simulated and the tables aggregated from them with simplified rules (this is
// for looking at the page, not a reference for the metrics), deterministic for a seed.
func Demo(runDate time.Time, customers, months int, seed uint64) Dataset {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	run := value.DayOf(runDate)
	rd := int32(run)
	monthStart := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) }
	first := monthStart(runDate).AddDate(0, -months, 0)
	label := func(t time.Time) string { return t.Format("2006-01") }
	monthIndex := func(d value.Day) int {
		t := d.Time()
		return (t.Year()-first.Year())*12 + int(t.Month()) - int(first.Month())
	}
	nMonths := months + 1 // the current, incomplete month too

	type order struct {
		day    value.Day
		amount float64
	}
	type cust struct {
		id      string
		orders  []order
		channel string
	}
	channels := []string{"ads", "organic", "email"}
	span := int(run) - int(value.DayOf(first))
	var cs []cust
	for i := range customers {
		// Acquisition grows over time: more first orders in recent months.
		start := value.Day(int(value.DayOf(first)) + int(math.Sqrt(rng.Float64())*float64(span)))
		c := cust{id: fmt.Sprintf("demo-%05d", i), channel: channels[rng.IntN(len(channels))]}
		d := start
		amt := math.Exp(rng.NormFloat64()*0.5) * 2800
		c.orders = append(c.orders, order{d, math.Round(amt*100) / 100})
		loyal := rng.Float64() < 0.35
		for {
			pStay := 0.35
			if loyal {
				pStay = 0.8
			}
			if rng.Float64() > pStay {
				break
			}
			gap := value.Day(10 + rng.ExpFloat64()*70)
			d += gap
			if d >= run {
				break
			}
			amt := math.Exp(rng.NormFloat64()*0.45) * 3400
			c.orders = append(c.orders, order{d, math.Round(amt*100) / 100})
		}
		cs = append(cs, c)
	}

	ds := Dataset{}
	const window = 365
	activeAt := func(c cust, day value.Day) bool { // bought within the window before day
		for _, o := range c.orders {
			if o.day <= day && day-o.day < window {
				return true
			}
		}
		return false
	}

	// customer_metrics with RFM quintiles (5 = best) and rule-based clusters.
	type rfmIn struct {
		i          int
		rec, fr, m float64
	}
	var ins []rfmIn
	for i, c := range cs {
		var rev float64
		for _, o := range c.orders {
			rev += o.amount
		}
		ins = append(ins, rfmIn{i, float64(run - c.orders[len(c.orders)-1].day), float64(len(c.orders)), rev})
	}
	score := func(get func(rfmIn) float64, lowBest bool) map[int]int64 {
		s := append([]rfmIn(nil), ins...)
		sort.SliceStable(s, func(a, b int) bool { return get(s[a]) < get(s[b]) })
		out := map[int]int64{}
		for rank := 0; rank < len(s); {
			j := rank
			for j < len(s) && get(s[j]) == get(s[rank]) {
				j++
			}
			q := int64(rank*5/len(s)) + 1 // ties share the score of their first rank
			if lowBest {
				q = 6 - q
			}
			for k := rank; k < j; k++ {
				out[s[k].i] = q
			}
			rank = j
		}
		return out
	}
	rS := score(func(x rfmIn) float64 { return x.rec }, true)
	fS := score(func(x rfmIn) float64 { return x.fr }, false)
	mS := score(func(x rfmIn) float64 { return x.m }, false)
	segment := func(r, f int64) string {
		switch {
		case r >= 4 && f >= 4:
			return "champions"
		case r >= 3 && f >= 4:
			return "loyal"
		case r >= 4 && f >= 2:
			return "potential loyalists"
		case r == 5 && f == 1:
			return "new"
		case r == 4 && f == 1:
			return "promising"
		case r == 3 && f <= 3:
			return "need attention"
		case r <= 2 && f >= 4:
			return "can't lose"
		case r == 2 && f <= 3:
			return "at risk"
		default:
			return "hibernating"
		}
	}
	names := []string{"loyal", "recent one-off", "lapsed"}
	clusterOf := func(in rfmIn) int64 {
		switch {
		case in.fr >= 3:
			return 0
		case in.rec < 150:
			return 1
		}
		return 2
	}
	type agg struct{ n, rec, fr, m, tenure float64 }
	cl := make([]agg, 3)
	for i, c := range cs {
		in := ins[i]
		fo, lo := c.orders[0], c.orders[len(c.orders)-1]
		var rep float64
		for _, o := range c.orders[1:] {
			rep += o.amount
		}
		var repAOV *float64
		if len(c.orders) > 1 {
			v := rep / float64(len(c.orders)-1)
			repAOV = &v
		}
		k := clusterOf(in)
		tenure := float64(run - fo.day)
		cl[k] = agg{cl[k].n + 1, cl[k].rec + in.rec, cl[k].fr + in.fr, cl[k].m + in.m, cl[k].tenure + tenure}
		pAlive := math.Max(0.02, math.Exp(-in.rec/(120+40*in.fr)))
		pred := pAlive * (0.3 + 0.9*in.fr) * (in.m / in.fr) * (0.8 + 0.4*rng.Float64())
		churnRisk := 1 - pAlive
		ds.CustomerMetrics = append(ds.CustomerMetrics, tables.CustomerMetrics{
			RunDate: rd, CustomerID: c.id, Currency: "RUB", FirstOrderDate: int32(fo.day), LastOrderDate: int32(lo.day),
			Cohort: label(fo.day.Time()), AcqChannel: c.channel, Orders: int64(len(c.orders)), Revenue: round2(in.m),
			AOV: round2(in.m / in.fr), FirstOrderValue: fo.amount, RepeatAOV: repAOV, RecencyDays: int64(in.rec), TenureDays: int64(tenure),
			Active: activeAt(c, run), RFMRecency: rS[i], RFMFrequency: fS[i], RFMMonetary: mS[i],
			RFMScore: fmt.Sprintf("%d-%d-%d", rS[i], fS[i], mS[i]), RFMBest: 5, RFMSegment: segment(rS[i], fS[i]),
			Cluster: k, ClusterName: names[k], PAlive: &pAlive, PredCLV: &pred, ChurnRisk: &churnRisk,
		})
	}
	for k, a := range cl {
		if a.n == 0 {
			continue
		}
		ds.KMeansCentroids = append(ds.KMeansCentroids, tables.KMeansCentroid{
			RunDate: rd, Currency: "RUB", Cluster: int64(k), ClusterName: names[k], Size: int64(a.n),
			RecencyDays: round2(a.rec / a.n), Frequency: round2(a.fr / a.n), Monetary: round2(a.m / a.n),
			Features: fmt.Sprintf(`{"recency_days":%.2f,"frequency":%.2f,"monetary":%.2f,"tenure_days":%.1f}`, a.rec/a.n, a.fr/a.n, a.m/a.n, a.tenure/a.n),
		})
	}

	// period_metrics (channel all) and cohort_retention, month by month.
	cohortSize := map[int]int64{}
	for _, c := range cs {
		cohortSize[monthIndex(c.orders[0].day)]++
	}
	cohortRev := map[int]float64{}
	var custToDate int64
	var cumRev float64
	for m := 0; m < nMonths; m++ {
		ps := first.AddDate(0, m, 0)
		pe := ps.AddDate(0, 1, -1)
		psd, ped := value.DayOf(ps), value.DayOf(pe)
		complete := ped < run
		end := min(ped, run-1)
		row := tables.PeriodMetrics{RunDate: rd, Period: label(ps), PeriodStart: int32(psd), PeriodEnd: int32(ped), Complete: complete, Currency: "RUB", Channel: "all"}
		var repeatBuyers int64
		active := map[int]map[int]bool{} // cohort -> customer index set
		cohortOrders := map[int]int64{}
		cohortRevM := map[int]float64{}
		for ci, c := range cs {
			bought, before := false, false
			for oi, o := range c.orders {
				if o.day < psd {
					before = true
				}
				if o.day < psd || o.day > end {
					continue
				}
				bought = true
				row.Orders++
				row.Revenue += o.amount
				coh := monthIndex(c.orders[0].day)
				cohortOrders[coh]++
				cohortRevM[coh] += o.amount
				if active[coh] == nil {
					active[coh] = map[int]bool{}
				}
				active[coh][ci] = true
				countOrder(&row, oi == 0, o.amount)
			}
			if bought {
				row.Buyers++
				if before {
					repeatBuyers++
				}
			}
			s, e := activeAt(c, psd-1), activeAt(c, end)
			if s {
				row.ActiveStart++
			}
			if e {
				row.ActiveEnd++
			}
			if s && !e {
				row.Churned++
				if complete && m == nMonths-2 {
					ds.ChurnList = append(ds.ChurnList, tables.ChurnList{RunDate: rd, Period: row.Period, CustomerID: c.id, Currency: "RUB",
						LastOrderDate: int32(c.orders[len(c.orders)-1].day), Orders: int64(len(c.orders))})
				}
			}
		}
		row.RepeatBuyers = repeatBuyers
		row.Revenue, row.RevenueFirst, row.RevenueRepeat = round2(row.Revenue), round2(row.RevenueFirst), round2(row.RevenueRepeat)
		if row.Orders > 0 {
			row.AOV = ptr(round2(row.Revenue / float64(row.Orders)))
		}
		if row.FirstOrders > 0 {
			row.AOVFirst = ptr(round2(row.RevenueFirst / float64(row.FirstOrders)))
		}
		if row.RepeatOrders > 0 {
			row.AOVRepeat = ptr(round2(row.RevenueRepeat / float64(row.RepeatOrders)))
		}
		if row.ActiveStart > 0 {
			crr := round2(float64(row.ActiveEnd-row.NewCustomers) / float64(row.ActiveStart) * 100)
			row.CRR, row.ChurnRate = ptr(crr), ptr(round2(100-crr))
		}
		if row.Buyers > 0 {
			row.RPR = ptr(round2(float64(repeatBuyers) / float64(row.Buyers) * 100))
		}
		spend := round2(float64(row.NewCustomers) * (900 + 300*rng.Float64()))
		row.Spend = &spend
		if row.NewCustomers > 0 {
			row.CAC = ptr(round2(spend / float64(row.NewCustomers)))
		}
		custToDate += row.NewCustomers
		cumRev += row.Revenue
		row.CustomersToDate = custToDate
		if custToDate > 0 {
			row.LTVAvg = ptr(round2(cumRev / float64(custToDate)))
		}
		ds.PeriodMetrics = append(ds.PeriodMetrics, row)

		for coh := 0; coh <= m; coh++ {
			size := cohortSize[coh]
			if size == 0 {
				continue
			}
			cohortRev[coh] += cohortRevM[coh]
			a := int64(len(active[coh]))
			ds.CohortRetention = append(ds.CohortRetention, tables.CohortRetention{
				RunDate: rd, Cohort: label(first.AddDate(0, coh, 0)), CohortStart: int32(value.DayOf(first.AddDate(0, coh, 0))), Currency: "RUB",
				PeriodOffset: int64(m - coh), CohortSize: size, ActiveCustomers: a, RetentionPct: round2(float64(a) / float64(size) * 100),
				Orders: cohortOrders[coh], Revenue: round2(cohortRevM[coh]), CumRevenuePerCustomer: round2(cohortRev[coh] / float64(size)),
			})
		}
	}

	// Segments: the RFM segments plus two rule audiences over a subset of customers.
	counts := map[string]int64{}
	for _, c := range ds.CustomerMetrics {
		ds.Segments = append(ds.Segments, tables.SegmentMembership{RunDate: rd, CustomerID: c.CustomerID, Segment: c.RFMSegment, Source: "rfm", EnteredAt: rd})
		ds.Segments = append(ds.Segments, tables.SegmentMembership{RunDate: rd, CustomerID: c.CustomerID, Segment: c.ClusterName, Source: "kmeans", EnteredAt: rd})
		if c.RecencyDays < 30 && c.Orders == 1 {
			ds.Segments = append(ds.Segments, tables.SegmentMembership{RunDate: rd, CustomerID: c.CustomerID, Segment: "mattress_cover_upsell", Source: "rule", EnteredAt: rd})
			counts["mattress_cover_upsell"]++
		}
		if c.RecencyDays >= 240 && c.RecencyDays <= 365 {
			ds.Segments = append(ds.Segments, tables.SegmentMembership{RunDate: rd, CustomerID: c.CustomerID, Segment: "service_reminder", Source: "rule", EnteredAt: rd})
			counts["service_reminder"]++
		}
	}
	started := runDate.Add(2 * time.Hour)
	for _, a := range []string{"mattress_cover_upsell", "service_reminder"} {
		for pi, pl := range []string{"yandex", "vk", "meta"} {
			n := counts[a]
			s := tables.SyncLog{RunDate: rd, Audience: a, Platform: pl, Mode: "incremental", Members: n * 9 / 10, Added: n / 6, Removed: n / 20,
				Status: "ok", Requests: 2, DurationMs: int64(800 + 300*pi), StartedAt: started}
			s.Sent = s.Added + s.Removed
			s.Rejected = int64(pi) * s.Sent / 25
			s.Accepted = s.Sent - s.Rejected
			if s.Rejected > 0 {
				s.RejectReasons = fmt.Sprintf(`{"invalid_format":%d}`, s.Rejected)
			}
			if a == "service_reminder" && pl == "meta" {
				s.Mode, s.Status, s.Error = "replace", "guarded", "removal guard: 41% of the audience would be removed (limit 30%); nothing sent"
				s.Sent, s.Accepted, s.Rejected, s.Added, s.Removed, s.RejectReasons = 0, 0, 0, 0, 0, ""
			}
			ds.SyncLog = append(ds.SyncLog, s)
		}
	}

	fit := int32(run - 1)
	ds.CLVModel = []tables.CLVModel{
		{RunDate: rd, Currency: "RUB", Model: "bgnbd", Params: `{"r":0.312,"alpha":38.7,"a":0.61,"b":2.95}`, LogLikelihood: -4211.8, TimeUnit: "days", Customers: int64(customers), FitDate: fit, Converged: true},
		{RunDate: rd, Currency: "RUB", Model: "gamma_gamma", Params: `{"p":6.1,"q":3.9,"v":1720.4}`, LogLikelihood: -2388.2, TimeUnit: "days", Customers: int64(customers) / 3, FitDate: fit, Converged: true},
	}

	var nOrders int64
	for _, c := range cs {
		nOrders += int64(len(c.orders))
	}
	ds.Summary = tables.Summary{
		RunDate: runDate.Format("2006-01-02"), StartedAt: started.Format(time.RFC3339), DurationS: 48.2, Runner: "prism", Period: "month", OK: false,
		Errors:   []string{"sync service_reminder/meta: guarded: removal guard tripped (41% > 30%)"},
		RowsRead: map[string]int64{"orders": nOrders + 37, "order_lines": nOrders*2 + 11, "customers": int64(customers), "spend": int64(nMonths * 3)},
		DeadLetters: map[string]map[string]int64{
			"orders":   {"bad_amount": 12, "unknown_status": 25},
			"contacts": {"phone_invalid": 31, "email_invalid": 8, "no_consent": 57},
			"sync":     {"rejected_by_platform": 6},
		},
		Tables: map[string]int64{
			"customer_metrics": int64(len(ds.CustomerMetrics)), "period_metrics": int64(len(ds.PeriodMetrics)),
			"cohort_retention": int64(len(ds.CohortRetention)), "churn_list": int64(len(ds.ChurnList)),
			"segment_membership": int64(len(ds.Segments)), "kmeans_centroids": int64(len(ds.KMeansCentroids)),
			"sync_log": int64(len(ds.SyncLog)), "clv_model": int64(len(ds.CLVModel)),
		},
		Counters: map[string]int64{"orders.counted": nOrders, "contacts.hashed": int64(customers) * 2},
	}
	return ds
}

// DemoHistory is a previous run's history entry for a demo dataset: the same figures
// nudged, so the page shows changes.
func DemoHistory(ds Dataset, prevDate string) map[string]any {
	var revenue float64
	for _, c := range ds.CustomerMetrics {
		revenue += c.Revenue
	}
	segs := map[string]int64{}
	for _, s := range ds.Segments {
		segs[s.Source+":"+s.Segment]++
	}
	for k, v := range segs {
		segs[k] = v * 23 / 24
	}
	auds := map[string]int64{}
	for _, s := range ds.SyncLog {
		auds[s.Audience+"/"+s.Platform] = s.Members - s.Added + s.Removed
	}
	return map[string]any{"runs": []map[string]any{{
		"run_date": prevDate,
		"figures": map[string]map[string]float64{"RUB": {
			"customers": float64(len(ds.CustomerMetrics) - 9), "revenue": round2(revenue * 0.985),
			"aov_first": 2900, "aov_repeat": 3300, "rpr": 31.5, "crr": 84.2, "churn_rate": 15.8, "cac": 1120,
		}},
		"segments":  segs,
		"audiences": auds,
	}}}
}

func ptr(v float64) *float64 { return &v }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// countOrder counts one order of amount in row as the customer's first order or a repeat.
func countOrder(row *tables.PeriodMetrics, first bool, amount float64) {
	if first {
		row.FirstOrders++
		row.RevenueFirst += amount
		row.NewCustomers++
		return
	}
	row.RepeatOrders++
	row.RevenueRepeat += amount
}
