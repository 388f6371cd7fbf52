package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/report/reporttest"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
	"golang.org/x/net/html"
)

func f(v float64) *float64 { return &v }

var runDay = int32(value.DayFromDate(2026, time.November, 27))

func day(y int, m time.Month, d int) int32 { return int32(value.DayFromDate(y, m, d)) }

// fixture is a tiny run with numbers picked by hand; the expected page values in the
// tests below are worked out from these rows, not from the code.
func fixture() reporttest.Dataset {
	cm := func(id string, ordersN int64, rev float64, active bool, r, fr int64, seg string, cluster int64, clv *float64) tables.CustomerMetrics {
		return tables.CustomerMetrics{RunDate: runDay, CustomerID: id, Currency: "RUB", Orders: ordersN, Revenue: rev, Active: active,
			RFMRecency: r, RFMFrequency: fr, RFMMonetary: 3, RFMBest: 5, RFMSegment: seg, Cluster: cluster, PredCLV: clv}
	}
	pm := func(period string, start int32, complete bool, channel string, aovFirst, aovRepeat, rpr, crr float64, spend, cac *float64) tables.PeriodMetrics {
		return tables.PeriodMetrics{RunDate: runDay, Period: period, PeriodStart: start, Complete: complete, Currency: "RUB", Channel: channel,
			AOV: f((aovFirst + aovRepeat) / 2), AOVFirst: f(aovFirst), AOVRepeat: f(aovRepeat), RPR: f(rpr), CRR: f(crr), ChurnRate: f(100 - crr),
			NewCustomers: 2, Spend: spend, CAC: cac}
	}
	cr := func(cohort string, start int32, off, size, active int64, cum float64) tables.CohortRetention {
		return tables.CohortRetention{RunDate: runDay, Cohort: cohort, CohortStart: start, Currency: "RUB", PeriodOffset: off, CohortSize: size,
			ActiveCustomers: active, RetentionPct: float64(active) / float64(size) * 100, CumRevenuePerCustomer: cum}
	}
	sep, oct, nov := day(2026, 9, 1), day(2026, 10, 1), day(2026, 11, 1)
	return reporttest.Dataset{
		Summary: tables.Summary{
			RunDate: "2026-11-27", Runner: "prism", Period: "month", OK: false, DurationS: 12.5,
			Errors:      []string{"sync meta: upload rejected for jane.doe@example.com"},
			RowsRead:    map[string]int64{"orders": 9},
			DeadLetters: map[string]map[string]int64{"orders": {"bad_amount": 3}, "contacts": {"phone_invalid": 12}},
			Tables:      map[string]int64{"customer_metrics": 4},
		},
		CustomerMetrics: []tables.CustomerMetrics{
			cm("CUST-ALPHA-1", 3, 300, true, 5, 5, "champions", 0, f(150)),
			cm("CUST-ALPHA-2", 1, 50.25, true, 3, 1, "new", 1, f(20)),
			cm("CUST-ALPHA-3", 2, 120.5, false, 1, 3, "at risk", 1, f(40)),
			cm("CUST-ALPHA-4", 1, 30, true, 5, 1, "new", 1, nil),
		},
		PeriodMetrics: []tables.PeriodMetrics{
			pm("2026-09", sep, true, "all", 30, 60, 10, 50, nil, nil),
			pm("2026-10", oct, true, "all", 46, 80, 40, 80, f(100), f(50)),
			pm("2026-10", oct, true, "ads", 999, 999, 99, 99, f(100), f(999)), // another channel: not a headline
			pm("2026-11", nov, false, "all", 777, 777, 77, 77, nil, nil),      // incomplete: not a headline
		},
		CohortRetention: []tables.CohortRetention{
			cr("2026-09", sep, 0, 2, 2, 40), cr("2026-09", sep, 1, 2, 1, 70), cr("2026-09", sep, 2, 2, 1, 90),
			cr("2026-10", oct, 0, 2, 2, 35), cr("2026-10", oct, 1, 2, 0, 35),
		},
		ChurnList: []tables.ChurnList{{RunDate: runDay, Period: "2026-10", CustomerID: "CUST-ALPHA-3", Currency: "RUB", Orders: 2, Revenue: 120.5}},
		Segments: []tables.SegmentMembership{
			{RunDate: runDay, CustomerID: "CUST-ALPHA-1", Segment: "mattress_cover", Source: "rule"},
			{RunDate: runDay, CustomerID: "CUST-ALPHA-2", Segment: "mattress_cover", Source: "rule"},
			{RunDate: runDay, CustomerID: "CUST-ALPHA-1", Segment: "champions", Source: "rfm"},
		},
		KMeansCentroids: []tables.KMeansCentroid{
			{RunDate: runDay, Currency: "RUB", Cluster: 0, ClusterName: "loyal", Size: 1, RecencyDays: 10, Frequency: 3, Monetary: 300, Features: `{"recency_days":10,"frequency":3,"monetary":300,"tenure_days":400}`},
			{RunDate: runDay, Currency: "RUB", Cluster: 1, ClusterName: "one-off", Size: 3, RecencyDays: 200.5, Frequency: 1.25, Monetary: 66.9167, Features: `{"recency_days":200.5,"frequency":1.25,"monetary":66.9167,"tenure_days":250}`},
		},
		AudienceMembers: []tables.AudienceMember{
			{RunDate: runDay, Audience: "mattress_cover", Platform: "vk", IdentifierType: "email", Hash: strings.Repeat("a", 32)},
			{RunDate: runDay, Audience: "mattress_cover", Platform: "vk", IdentifierType: "email", Hash: strings.Repeat("b", 32)},
			{RunDate: runDay, Audience: "mattress_cover", Platform: "meta", IdentifierType: "email", Hash: strings.Repeat("a", 64)},
			{RunDate: runDay, Audience: "mattress_cover", Platform: "meta", IdentifierType: "phone", Hash: strings.Repeat("c", 64)},
			// Computed but not delivered (no sync_log row).
			{RunDate: runDay, Audience: "winback", Platform: "yandex", IdentifierType: "email", Hash: strings.Repeat("a", 64)},
			{RunDate: runDay, Audience: "winback", Platform: "yandex", IdentifierType: "email", Hash: strings.Repeat("d", 64)},
			{RunDate: runDay, Audience: "winback", Platform: "yandex", IdentifierType: "phone", Hash: strings.Repeat("c", 64)},
			{RunDate: runDay - 1, Audience: "winback", Platform: "yandex", IdentifierType: "phone", Hash: strings.Repeat("e", 64)}, // another run: left out
		},
		SyncLog: []tables.SyncLog{
			{RunDate: runDay, Audience: "mattress_cover", Platform: "vk", Mode: "incremental", Members: 2, Added: 2, Removed: 0, Sent: 2, Accepted: 1, Rejected: 1,
				RejectReasons: `{"invalid_hash":1}`, Status: "ok"},
			{RunDate: runDay, Audience: "mattress_cover", Platform: "meta", Mode: "replace", Members: 2, Sent: 2, Status: "failed",
				Error: "upload failed for bob@example.com: 400"},
			// Lookalikes: their own table; they never change their source's row.
			{RunDate: runDay, Audience: "mattress_cover", Platform: "meta", Status: "waiting", Kind: "lookalike",
				Error: "the source audience is not on meta yet"},
			{RunDate: runDay, Audience: "mattress_cover", Platform: "yandex", Status: "unchanged", Kind: "lookalike",
				RemoteID: "1077", SourceID: "1055", PlatformSize: ptr(int64(1234567))},
		},
		CLVModel: []tables.CLVModel{
			{RunDate: runDay, Currency: "RUB", Model: "bgnbd", Params: `{"r":0.243,"alpha":4.41,"a":0.79,"b":2.43}`, Customers: 3, TimeUnit: "days", FitDate: runDay, Converged: true},
		},
	}
}

// history holds the previous run (2026-11-26) plus an older and a later date, which must
// both be ignored: changes are against the latest earlier date.
func history() report.History {
	return report.History{Runs: []report.HistoryEntry{
		{RunDate: "2026-11-20", Figures: map[string]map[string]float64{"RUB": {"customers": 1, "revenue": 1}}},
		{RunDate: "2026-11-26", Figures: map[string]map[string]float64{"RUB": {"customers": 3, "revenue": 400.75, "aov_first": 40, "rpr": 42.5, "crr": 75, "cac": 60}},
			Segments: map[string]int64{"rule:mattress_cover": 5}, Audiences: map[string]int64{"mattress_cover/vk": 4}},
		{RunDate: "2026-11-28", Figures: map[string]map[string]float64{"RUB": {"customers": 100}}},
	}}
}

func writeFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	if err := reporttest.WriteDir(ctx, dir, fixture()); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(history())
	if err := os.MkdirAll(filepath.Join(dir, "history"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, report.HistoryFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page is the parsed report with helpers to find elements by attributes.
type page struct {
	root *html.Node
	raw  string
}

func parse(t *testing.T, s string) page {
	t.Helper()
	n, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return page{n, s}
}

func attr(n *html.Node, k string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val, true
		}
	}
	return "", false
}

// find returns the elements having every attribute in kv (key, value, key, value...).
func (p page) find(kv ...string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			ok := true
			for i := 0; i < len(kv); i += 2 {
				if v, has := attr(n, kv[i]); !has || v != kv[i+1] {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, n)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.root)
	return out
}

func (p page) one(t *testing.T, kv ...string) *html.Node {
	t.Helper()
	ns := p.find(kv...)
	if len(ns) != 1 {
		t.Fatalf("elements with %v: %d, want 1", kv, len(ns))
	}
	return ns[0]
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data + " ") // cells and spans are separate words
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(strings.ReplaceAll(b.String(), "\u00a0", " ")), " ")
}

// child returns the text of the first descendant with class cls.
func child(n *html.Node, cls string) string {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			if v, _ := attr(c, "class"); strings.Fields(v) != nil && strings.Fields(v)[0] == cls {
				return text(c)
			}
			if s := child(c, cls); s != "" {
				return s
			}
		}
	}
	return ""
}

func render(t *testing.T, dir string) (report.Data, page) {
	t.Helper()
	d, err := report.Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, d); err != nil {
		t.Fatal(err)
	}
	return d, parse(t, buf.String())
}

func TestHeadlineFiguresAndChanges(t *testing.T) {
	d, p := render(t, writeFixture(t))
	if d.PrevDate != "2026-11-26" {
		t.Fatalf("PrevDate = %q, want 2026-11-26 (latest date before the run)", d.PrevDate)
	}
	if got := text(p.one(t, "id", "prev-date")); got != "2026-11-26" {
		t.Errorf("prev-date shows %q", got)
	}
	for _, tc := range []struct {
		metric, value, shown, delta string
	}{
		// 4 customer rows, previous 3: +1 = +33.3%.
		{"customers", "4", "4", "+1 (+33.3%)"},
		{"active_customers", "3", "3", ""},
		{"orders", "7", "7", ""}, // 3+1+2+1
		// 300 + 50.25 + 120.5 + 30 = 500.75; previous 400.75: +100 = +25%.
		{"revenue", "500.75", "500.75", "+100.00 (+25.0%)"},
		// Last complete period 2026-10, channel all (not "ads", not the open 2026-11).
		{"aov_first", "46", "46.00", "+6.00 (+15.0%)"}, // 40 -> 46
		{"aov_repeat", "80", "80.00", ""},
		{"rpr", "40", "40.0%", "-2.5 pp"}, // 42.5 -> 40
		{"crr", "80", "80.0%", "+5.0 pp"}, // 75 -> 80
		{"churn_rate", "20", "20.0%", ""},
		{"churned", "1", "1", ""},
		{"new_customers", "2", "2", ""},
		{"cac", "50", "50.00", "-10.00 (-16.7%)"}, // 60 -> 50: -1/6
	} {
		n := p.one(t, "data-metric", tc.metric, "data-currency", "RUB")
		if v, _ := attr(n, "data-value"); v != tc.value {
			t.Errorf("%s data-value = %q, want %q", tc.metric, v, tc.value)
		}
		if got := child(n, "value"); got != tc.shown {
			t.Errorf("%s shows %q, want %q", tc.metric, got, tc.shown)
		}
		if got := child(n, "delta"); got != tc.delta {
			t.Errorf("%s change shows %q, want %q", tc.metric, got, tc.delta)
		}
	}
	// The change is coloured by meaning: RPR down is bad news, CAC down is good news.
	for metric, want := range map[string]string{"rpr": "delta down bad", "cac": "delta down good", "customers": "delta up good", "aov_repeat": "delta none"} {
		n := p.one(t, "data-metric", metric)
		var cls string
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if v, _ := attr(c, "class"); strings.HasPrefix(v, "delta") {
				cls = v
			}
		}
		if cls != want {
			t.Errorf("%s change class %q, want %q", metric, cls, want)
		}
	}
}

func TestTablesOnPage(t *testing.T) {
	_, p := render(t, writeFixture(t))
	checkAttrs := func(n *html.Node, kv ...string) {
		t.Helper()
		for i := 0; i < len(kv); i += 2 {
			if v, _ := attr(n, kv[i]); v != kv[i+1] {
				t.Errorf("%s = %q, want %q", kv[i], v, kv[i+1])
			}
		}
	}
	// R x F grid: one customer in each of four cells, 5 x 5 cells in all.
	if n := len(p.find("data-r", "5", "data-f", "5")); n != 1 {
		t.Fatalf("cells R5 F5: %d", n)
	}
	c := p.one(t, "data-r", "5", "data-f", "5")
	checkAttrs(c, "data-count", "1", "data-revenue", "300")
	if got := text(c); got != "1 300.00" {
		t.Errorf("R5F5 shows %q", got)
	}
	checkAttrs(p.one(t, "data-r", "1", "data-f", "3"), "data-count", "1", "data-revenue", "120.5")
	checkAttrs(p.one(t, "data-r", "2", "data-f", "2"), "data-count", "0")
	if n := len(p.find("data-count", "0")); n != 25-4 {
		t.Errorf("empty R x F cells: %d, want 21", n)
	}
	// Named RFM segments: new = 2 customers, 50.25 + 30 = 80.25.
	checkAttrs(p.one(t, "data-rfm-segment", "new"), "data-count", "2", "data-revenue", "80.25")
	if got := text(p.one(t, "data-rfm-segment", "new")); got != "new 2 50.0% 80.25" {
		t.Errorf("segment new shows %q", got)
	}
	// Cohorts: 2026-09 offset 1 has 1 of 2 customers = 50%; 2026-10 has no offset 2.
	if got := text(p.one(t, "data-cohort", "2026-09", "data-offset", "1")); got != "50.0%" {
		t.Errorf("cohort 2026-09 +1 shows %q", got)
	}
	checkAttrs(p.one(t, "data-cohort", "2026-10", "data-offset", "1"), "data-retention", "0", "data-active", "0")
	if n := len(p.find("data-cohort", "2026-10", "data-offset", "2")); n != 0 {
		t.Errorf("cohort 2026-10 offset 2 has %d cells, want none (not reached yet)", n)
	}
	// k-means centroids in original units.
	checkAttrs(p.one(t, "data-cluster", "1"), "data-size", "3", "data-recency", "200.5", "data-frequency", "1.25", "data-monetary", "66.9167")
	if got := text(p.one(t, "data-cluster", "1")); got != "1 one-off 3 75.0% 200.5 1.25 66.92 250" {
		t.Errorf("cluster 1 shows %q", got)
	}
	// Segments: rule mattress_cover 2 members, previously 5: -3 (-60%); rfm champions is
	// new since the previous run: +1 from 0.
	seg := p.one(t, "data-segment", "rule:mattress_cover")
	checkAttrs(seg, "data-value", "2", "data-prev", "5")
	if got := text(seg); got != "rule mattress_cover 2 -3 (-60.0%)" {
		t.Errorf("segment row shows %q", got)
	}
	if got := text(p.one(t, "data-segment", "rfm:champions")); got != "rfm champions 1 +1" {
		t.Errorf("segment row shows %q", got)
	}
	// Audiences: vk members 2, previously 4.
	vk := p.one(t, "data-audience", "mattress_cover", "data-platform", "vk")
	checkAttrs(vk, "data-members", "2", "data-emails", "2", "data-phones", "0", "data-sent", "2", "data-accepted", "1", "data-rejected", "1", "data-added", "2", "data-removed", "0", "data-status", "ok")
	if got := text(vk); got != "mattress_cover vk incremental ok 2 0 2 -2 (-50.0%) 2 1 1 2 0 invalid_hash: 1" {
		t.Errorf("vk row shows %q", got)
	}
	checkAttrs(p.one(t, "data-audience", "mattress_cover", "data-platform", "meta"), "data-status", "failed", "data-emails", "1", "data-phones", "1")
	// Lookalikes: one row each, with the platform's size when it gives one.
	lm := p.one(t, "data-lookalike-of", "mattress_cover", "data-platform", "meta")
	checkAttrs(lm, "data-status", "waiting", "data-size", "")
	if got := text(lm); got != "mattress_cover meta waiting the source audience is not on meta yet –" {
		t.Errorf("meta lookalike row shows %q", got)
	}
	ly := p.one(t, "data-lookalike-of", "mattress_cover", "data-platform", "yandex")
	checkAttrs(ly, "data-status", "unchanged", "data-remote-id", "1077", "data-size", "1234567")
	if got := text(ly); got != "mattress_cover yandex unchanged 1077 1055 1,234,567" {
		t.Errorf("yandex lookalike row shows %q", got)
	}
	// An audience computed but not delivered still shows who should be in it.
	checkAttrs(p.one(t, "data-audience", "winback", "data-platform", "yandex"), "data-status", "not delivered", "data-emails", "2", "data-phones", "1", "data-members", "3")
	// Sizes going up or down are news, not good or bad news.
	for _, n := range p.find("class", "num delta down") {
		if v, _ := attr(n, "data-delta"); v != "-3" && v != "-2" {
			t.Errorf("neutral delta %q", v)
		}
	}
	if n := len(p.find("class", "num delta down")); n != 2 {
		t.Errorf("neutral falling sizes: %d cells, want 2 (segment -3, audience -2)", n)
	}
	// Dead letters from the summary.
	checkAttrs(p.one(t, "data-stage", "contacts", "data-reason", "phone_invalid"), "data-count", "12")
	checkAttrs(p.one(t, "data-stage", "orders", "data-reason", "bad_amount"), "data-count", "3")
	// CLV over 20, 40, 150: mean 70, median 40, p90 = 40 + 0.8 x 110 = 128, total 210.
	for k, want := range map[string]string{"mean": "70.00", "median": "40.00", "p90": "128.00", "total": "210.00", "customers": "3"} {
		if got := text(p.one(t, "data-clv", k)); got != want {
			t.Errorf("CLV %s shows %q, want %q", k, got, want)
		}
	}
	checkAttrs(p.one(t, "data-param", "alpha"), "data-value", "4.41")
	// Charts are inline SVG from gonum/plot: LTV, AOV, rates and the CLV histogram.
	if n := len(p.find("class", "chart", "role", "img")); n != 4 {
		t.Errorf("inline charts: %d, want 4", n)
	}
}

var emailLike = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

func TestNoPIIAndNothingExternal(t *testing.T) {
	_, p := render(t, writeFixture(t))
	if m := emailLike.FindAllString(p.raw, -1); m != nil {
		t.Errorf("page has e-mail-like strings: %q", m)
	}
	if !strings.Contains(p.raw, "[redacted]") {
		t.Errorf("the errors carrying e-mails should show as [redacted]")
	}
	if strings.Contains(p.raw, "CUST-ALPHA") {
		t.Errorf("page shows customer ids")
	}
	// Self-contained: a CSP that blocks every load, no scripts, no external references.
	if !strings.Contains(p.raw, `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`) {
		t.Errorf("CSP meta tag missing")
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "link", "iframe", "object", "embed":
				t.Errorf("page has a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href" || a.Key == "xlink:href") && !strings.HasPrefix(a.Val, "data:") {
					t.Errorf("<%s %s=%q> loads a resource", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.root)
	if strings.Contains(p.raw, "url(") && !strings.Contains(p.raw, "url(data:") {
		t.Errorf("CSS references a URL")
	}
}

func TestWriteUpdatesHistoryAndRerunIsStable(t *testing.T) {
	dir := writeFixture(t)
	ctx := context.Background()
	for range 2 { // a rerun of the same date must not compare with itself
		if err := report.Write(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, report.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, string(b))
	if got := child(p.one(t, "data-metric", "customers"), "delta"); got != "+1 (+33.3%)" {
		t.Errorf("after a rerun customers change shows %q, want +1 (+33.3%%) against 2026-11-26", got)
	}
	var h report.History
	hb, err := os.ReadFile(filepath.Join(dir, report.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	var dates []string
	for _, r := range h.Runs {
		dates = append(dates, r.RunDate)
	}
	if got := strings.Join(dates, ","); got != "2026-11-20,2026-11-26,2026-11-27,2026-11-28" {
		t.Fatalf("history dates %s", got)
	}
	today := h.Runs[2]
	if today.Figures["RUB"]["customers"] != 4 || today.Figures["RUB"]["revenue"] != 500.75 || today.Figures["RUB"]["cac"] != 50 {
		t.Errorf("today's figures %v", today.Figures)
	}
	if today.Segments["rule:mattress_cover"] != 2 || today.Audiences["mattress_cover/vk"] != 2 {
		t.Errorf("today's segments %v audiences %v", today.Segments, today.Audiences)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); m != nil {
		t.Errorf("temporary files left behind: %v", m)
	}
}

func TestFirstRunHasNoChanges(t *testing.T) {
	dir := t.TempDir()
	if err := reporttest.WriteDir(context.Background(), dir, fixture()); err != nil {
		t.Fatal(err)
	}
	d, p := render(t, dir)
	if d.PrevDate != "" {
		t.Fatalf("PrevDate = %q on a first run", d.PrevDate)
	}
	if got := child(p.one(t, "data-metric", "revenue"), "delta"); got != "" {
		t.Errorf("revenue change on a first run: %q", got)
	}
	if got := text(p.one(t, "id", "prev-date")); got != "no earlier run" {
		t.Errorf("prev-date shows %q", got)
	}
}

func TestMissingSummaryIsAClearError(t *testing.T) {
	_, err := report.Build(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "run_summary.json") {
		t.Fatalf("err = %v, want one naming run_summary.json", err)
	}
}

func TestNoCACWithoutSpend(t *testing.T) {
	ds := fixture()
	for i := range ds.PeriodMetrics {
		ds.PeriodMetrics[i].Spend, ds.PeriodMetrics[i].CAC = nil, nil
	}
	dir := t.TempDir()
	if err := reporttest.WriteDir(context.Background(), dir, ds); err != nil {
		t.Fatal(err)
	}
	_, p := render(t, dir)
	if n := len(p.find("data-metric", "cac")); n != 0 {
		t.Errorf("CAC shown without spend")
	}
}

func TestOtherRunDatesAreLeftOut(t *testing.T) {
	ds := fixture()
	old := ds.CustomerMetrics[0]
	old.RunDate, old.Revenue = runDay-1, 1000
	ds.CustomerMetrics = append(ds.CustomerMetrics, old)
	ds.Segments = append(ds.Segments, tables.SegmentMembership{RunDate: runDay - 1, CustomerID: "CUST-ALPHA-9", Segment: "mattress_cover", Source: "rule"})
	dir := t.TempDir()
	if err := reporttest.WriteDir(context.Background(), dir, ds); err != nil {
		t.Fatal(err)
	}
	d, p := render(t, dir)
	if v, _ := attr(p.one(t, "data-metric", "revenue"), "data-value"); v != "500.75" {
		t.Errorf("revenue %s, want 500.75 without the row of another date", v)
	}
	if v, _ := attr(p.one(t, "data-segment", "rule:mattress_cover"), "data-value"); v != "2" {
		t.Errorf("segment members %s, want 2", v)
	}
	want := []string{"customer_metrics: 1 rows are not dated 2026-11-27 and are left out", "segment_membership: 1 rows are not dated 2026-11-27 and are left out"}
	if strings.Join(d.Warnings, "|") != strings.Join(want, "|") {
		t.Errorf("warnings %q, want %q", d.Warnings, want)
	}
}

func TestHistoryElsewhere(t *testing.T) {
	dir := writeFixture(t) // its out/history holds 2026-11-26, which must not be read
	hist := filepath.Join(t.TempDir(), "state", "report_history.json")
	ctx := context.Background()
	if err := report.WriteWithHistory(ctx, dir, hist); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, report.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := text(parse(t, string(b)).one(t, "id", "prev-date")); got != "no earlier run" {
		t.Errorf("prev-date %q: the history under the output folder was read", got)
	}
	var h report.History
	hb, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(hb, &h); err != nil || len(h.Runs) != 1 || h.Runs[0].RunDate != "2026-11-27" {
		t.Fatalf("history at %s: %+v (%v)", hist, h, err)
	}
}

// A run that wrote no tables (e.g. every input row was rejected) still gets a page with
// its summary and dead letters.
func TestEmptyRun(t *testing.T) {
	dir := t.TempDir()
	ds := reporttest.Dataset{Summary: tables.Summary{RunDate: "2026-11-27", OK: false, Errors: []string{"orders: no valid rows"},
		DeadLetters: map[string]map[string]int64{"orders": {"bad_date": 5}}}}
	if err := reporttest.WriteDir(context.Background(), dir, ds); err != nil {
		t.Fatal(err)
	}
	if err := report.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, report.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, string(b))
	if v, _ := attr(p.one(t, "data-stage", "orders", "data-reason", "bad_date"), "data-count"); v != "5" {
		t.Errorf("dead letters %s, want 5", v)
	}
	if v, _ := attr(p.one(t, "id", "run-status"), "data-ok"); v != "false" {
		t.Errorf("run-status data-ok %s", v)
	}
	if n := len(p.find("data-metric", "customers")); n != 0 {
		t.Errorf("headline figures on an empty run: %d", n)
	}
}

func ptr[T any](v T) *T { return &v }
