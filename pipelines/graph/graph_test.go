package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/audiencesync/audiencesync/pipelines/config"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/kmeans"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// The hand-computed shop of transforms/metrics (W = 60 days, as of 2024-04-01), now as
// input files with a cancelled order, an order after the as-of date, a duplicate order
// id, a malformed row and order lines, run through the whole graph.
const ordersCSV = `order_id,customer_id,ordered_at,status,amount,currency,channel,ignored_extra
a1,A,2024-01-05T10:00:00Z,completed,100,RUB,ads,x
a2,A,2024-01-20,completed,50.00,RUB,ads,x
a3,A,2024-03-10,partially_refunded,200,RUB,,x
b1,B,2024-01-15,completed,300,RUB,seo,x
c1,C,2024-02-02,completed,80,RUB,ads,x
c2,C,2024-02-03,completed,120,RUB,ads,x
c9,C,2024-02-04,cancelled,999,RUB,ads,x
d1,D,2023-12-10,completed,400,RUB,,x
d2,D,2024-02-25,completed,100,RUB,,x
d2,D,2024-02-26,completed,100,RUB,,x
z1,A,2024-04-02,completed,5000,RUB,ads,x
bad,A,2024-02-30,completed,10,RUB,ads,x
`

const customersCSV = `customer_id,email,phone,country,marketing_consent,created_at
A,  Alex.Z@Example.com ,8 (999) 555-11-11,RU,true,2024-01-01
B,b@example.com,,RU,false,2024-01-01
C,not-an-email,,RU,yes,2024-01-01
D,,,RU,true,
`

const linesCSV = `order_id,product_id,category,quantity,amount
a1,P1,Mattress,1,100
c9,P2,pillow,1,999
zz,P3,pillow,1,1
c1,P9,pillow,two,1
`

func write(t *testing.T, dir, name, body string) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNightlyGraphOnHandShop(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	mc := metrics.Config{ActivityWindowDays: 60}
	mc.Defaults()
	km := kmeans.Defaults()
	km.K = 2
	cfg := Config{
		RunDate: value.DayFromDate(2024, time.April, 1),
		Sources: []nightly.Source{
			{Input: orders.InputOrders, Path: write(t, dir, "orders.csv", ordersCSV)},
			{Input: orders.InputCustomers, Path: write(t, dir, "customers.csv", customersCSV)},
			{Input: orders.InputLines, Path: write(t, dir, "lines.csv", linesCSV)},
		},
		Output:   out,
		Read:     nightly.ReadConfig{Buckets: 4, SplitBytes: 1 << 20, Contacts: contacts.Defaults()},
		Settings: model.Settings{Metrics: mc, RFM: rfm.Defaults(), KMeans: km, KMeansEnabled: true},
		StateDir: filepath.Join(dir, "state"),
	}
	p, s := beam.NewPipelineWithRoot()
	o, err := Build(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	passert.Count(s, o.Models, "models", 1)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}

	cm, err := parquetio.ReadDir[tables.CustomerMetrics](ctx, filepath.Join(out, "customer_metrics"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(cm, func(i, j int) bool { return cm[i].CustomerID < cm[j].CustomerID })
	if len(cm) != 4 {
		t.Fatalf("customer_metrics has %d rows, want 4 (A, B, C, D)", len(cm))
	}
	// A: a1 100 + a2 50 + a3 200 (z1 is after the as-of date, "bad" is dead-lettered).
	if a := cm[0]; a.CustomerID != "A" || a.Orders != 3 || a.Revenue != 350 || a.RecencyDays != 22 || a.RFMScore == "" || a.Cluster < 0 {
		t.Errorf("A = %+v", a)
	}
	// C: the cancelled c9 does not count.
	if c := cm[2]; c.Orders != 2 || c.Revenue != 200 {
		t.Errorf("C = orders %d revenue %v, want 2 and 200", c.Orders, c.Revenue)
	}
	// D: the duplicate d2 is kept once.
	if d := cm[3]; d.Orders != 2 || d.Revenue != 500 {
		t.Errorf("D = orders %d revenue %v, want 2 and 500", d.Orders, d.Revenue)
	}
	if !cm[1].Churned || cm[0].Churned {
		t.Errorf("churned flags: A %v B %v, want false, true", cm[0].Churned, cm[1].Churned)
	}

	churn, _ := parquetio.ReadDir[tables.ChurnList](ctx, filepath.Join(out, "churn_list"))
	if len(churn) != 1 || churn[0].CustomerID != "B" || churn[0].Period != "2024-03" || churn[0].Revenue != 300 {
		t.Errorf("churn_list = %+v, want B in 2024-03 with revenue 300", churn)
	}

	pm, _ := parquetio.ReadDir[tables.PeriodMetrics](ctx, filepath.Join(out, "period_metrics"))
	var march *tables.PeriodMetrics
	for i := range pm {
		if pm[i].Channel == "all" && pm[i].Period == "2024-03" {
			march = &pm[i]
		}
	}
	if march == nil || march.ActiveStart != 4 || march.ActiveEnd != 3 || march.CRR == nil || math.Abs(*march.CRR-75) > 1e-9 {
		t.Errorf("March = %+v, want S=4 E=3 CRR=75", march)
	}
	cr, _ := parquetio.ReadDir[tables.CohortRetention](ctx, filepath.Join(out, "cohort_retention"))
	if len(cr) != 9 {
		t.Errorf("cohort_retention has %d rows, want 9", len(cr))
	}
	cents, _ := parquetio.ReadDir[tables.KMeansCentroid](ctx, filepath.Join(out, "kmeans_centroids"))
	var size int64
	for _, c := range cents {
		size += c.Size
	}
	if len(cents) != 2 || size != 4 {
		t.Errorf("kmeans_centroids: %d clusters with %d customers, want 2 and 4", len(cents), size)
	}

	dead, err := os.ReadFile(filepath.Join(out, "dead_letters", "orders.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"11,d2,duplicate_order_id", "13,bad,bad_date"} {
		if !strings.Contains(string(dead), want) {
			t.Errorf("dead_letters/orders.csv lacks %q:\n%s", want, dead)
		}
	}
	lines, _ := os.ReadFile(filepath.Join(out, "dead_letters", "order_lines.csv"))
	// Both stages' dead letters for one input land in its one file: the reader's
	// bad_quantity and the join's line_of_unknown_order.
	if !strings.Contains(string(lines), "4,zz,line_of_unknown_order") || !strings.Contains(string(lines), "5,c1,bad_quantity") {
		t.Errorf("dead_letters/order_lines.csv:\n%s", lines)
	}
	cdead, _ := os.ReadFile(filepath.Join(out, "dead_letters", "contacts.csv"))
	if !strings.Contains(string(cdead), "4,C,email_invalid") || strings.Contains(string(cdead), "not-an-email") {
		t.Errorf("dead_letters/contacts.csv must name C's reason without the value:\n%s", cdead)
	}
	// No raw contact data in any output file.
	filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, raw := range []string{"Example.com", "example.com", "555-11-11", "79995551111", "not-an-email"} {
			if strings.Contains(string(b), raw) {
				t.Errorf("%s contains raw contact data %q", path, raw)
			}
		}
		return nil
	})
}

// buyersConfig: every customer with an order is in rule:buyers, the audience "buyers" on
// Yandex (tests append destinations and lookalikes to it).
const buyersConfig = `version: 1
segments:
  rules:
    - name: buyers
      condition: aov > 0
audiences:
  - name: buyers
    source: {segments: ["rule:buyers"]}
    identifiers: [email, phone]
    destinations:
      yandex: {name: "buyers"}
`

// The audience stage end to end on the hand shop: every customer with orders is in
// rule:buyers; only A has consent and a usable e-mail and phone (B has no consent, C's
// e-mail is invalid and has no phone, D has no contacts), so the Yandex audience is A's
// e-mail and phone, two audience_members rows of the run date.
func TestNightlyGraphAudienceMembers(t *testing.T) {
	rows, runDate := runAudienceGraph(t, buyersConfig, true)
	types := map[string]bool{}
	for _, r := range rows {
		if r.Audience != "buyers" || r.Platform != "yandex" || r.RunDate != int32(runDate) || len(r.Hash) != 64 {
			t.Errorf("audience_members row %+v, want buyers on yandex, dated %s, a SHA-256 hash", r, runDate)
		}
		types[r.IdentifierType] = true
	}
	if len(rows) != 2 || !types["email"] || !types["phone"] {
		t.Errorf("audience_members = %+v, want A's e-mail and phone", rows)
	}
}

// runAudienceGraph builds and runs the graph on the hand shop (orders and customers) with
// the config given (its segments and audiences) and returns the audience_members rows and
// the run date; withState keeps segment history in a state folder.
func runAudienceGraph(t *testing.T, yaml string, withState bool) ([]tables.AudienceMember, value.Day) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := cfg.AudiencePlan(false)
	if err != nil {
		t.Fatal(err)
	}
	mc := metrics.Config{ActivityWindowDays: 60}
	mc.Defaults()
	c := Config{
		RunDate: value.DayFromDate(2024, time.April, 1),
		Sources: []nightly.Source{
			{Input: orders.InputOrders, Path: write(t, dir, "orders.csv", ordersCSV)},
			{Input: orders.InputCustomers, Path: write(t, dir, "customers.csv", customersCSV)},
		},
		Output:    out,
		Read:      nightly.ReadConfig{Buckets: 4, SplitBytes: 1 << 20, Contacts: cfg.Contacts},
		Settings:  model.Settings{Metrics: mc, RFM: rfm.Defaults(), Segments: cfg.Segments, ConfigFile: "test.yaml"},
		Audiences: plan.AudienceTargets(),
	}
	if withState {
		c.StateDir = filepath.Join(dir, "state")
	}
	p, s := beam.NewPipelineWithRoot()
	if _, err := Build(s, c); err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	rows, err := parquetio.ReadDir[tables.AudienceMember](context.Background(), filepath.Join(out, "audience_members"))
	if err != nil {
		t.Fatal(err)
	}
	return rows, c.RunDate
}

// A value-based seed through the compute graph: the Meta destination of an audience with
// `lookalikes.meta.value: revenue` carries each identifier's value in audience_members.
// By hand from the shop above: A's purchases before 2024-04-01 are a1 100 + a2 50 + a3 200
// (partially refunded counts at its amount) = 350 (z1 is after the run date, bad is
// dead-lettered); A's e-mail and phone each carry 350. The Yandex destination of the same
// audience carries no value.
func TestNightlyGraphValueBasedMembers(t *testing.T) {
	rows, _ := runAudienceGraph(t, buyersConfig+`      meta: {ad_account_id: "act_1", name: "buyers (value-based)"}
    lookalikes:
      meta: {ratio: 0.02, country: RU, value: revenue}
`, false)
	n := map[string]int{}
	for _, r := range rows {
		n[r.Platform]++
		switch r.Platform {
		case "meta":
			if r.Value == nil || *r.Value != 350 {
				t.Errorf("meta row %s has value %v, want 350", r.IdentifierType, r.Value)
			}
		case "yandex":
			if r.Value != nil {
				t.Errorf("yandex row %s has value %v, want none", r.IdentifierType, *r.Value)
			}
		}
	}
	if n["meta"] != 2 || n["yandex"] != 2 {
		t.Errorf("rows per platform %v, want A's e-mail and phone on each", n)
	}
}

// TestGraphIndependentOfCores: the DoFns work on several elements of a bundle at once
// (transforms/par) and k-means restarts run in parallel, so the number of cores must not
// change any output. A shop of 300 customers with duplicate order ids across customers,
// bad rows and lines of unknown orders, read in 2 KB splits into 16 buckets, gives the same
// rows in every table and the same dead letters with GOMAXPROCS 1 and 3, and with the
// batches spilled to files (nightly.ReadConfig.SpillDir).
func TestGraphIndependentOfCores(t *testing.T) {
	dir := t.TempDir()
	var o, l strings.Builder
	o.WriteString("order_id,customer_id,ordered_at,status,amount,currency,channel\n")
	l.WriteString("order_id,product_id,category,quantity,amount\n")
	for c := 0; c < 300; c++ {
		for k := 0; k <= c%5; k++ {
			id := fmt.Sprintf("o%d-%d", c, k)
			if c%37 == 0 && k == 0 {
				id = "dup" // one order id under several customers: the join decides
			}
			fmt.Fprintf(&o, "%s,C%03d,2023-%02d-%02dT10:00:00+03:00,completed,%d.50,RUB,ads\n", id, c, 1+(c+k)%12, 1+k*3, 100+c*k)
			fmt.Fprintf(&l, "%s,P%d,cat%d,1,%d.50\n", id, k, c%4, 100+c*k)
		}
		if c%50 == 0 {
			fmt.Fprintf(&o, "bad%d,C%03d,not a date,completed,1,RUB,ads\n", c, c)
			fmt.Fprintf(&l, "unknown%d,P1,cat1,1,1\n", c)
		}
	}
	mc := metrics.Config{ActivityWindowDays: 90}
	mc.Defaults()
	km := kmeans.Defaults()
	km.K = 3
	km.Restarts = 6
	base := Config{
		RunDate: value.DayFromDate(2024, time.January, 1),
		Sources: []nightly.Source{
			{Input: orders.InputOrders, Path: write(t, dir, "orders.csv", o.String())},
			{Input: orders.InputLines, Path: write(t, dir, "lines.csv", l.String())},
		},
		Read:     nightly.ReadConfig{Buckets: 16, SplitBytes: 2 << 10, Contacts: contacts.Defaults()},
		Settings: model.Settings{Metrics: mc, RFM: rfm.Defaults(), KMeans: km, KMeansEnabled: true},
	}
	run := func(procs int, spill string) map[string][]string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		c := base
		c.Read.SpillDir = spill
		c.Output = filepath.Join(dir, fmt.Sprint("out", procs, spill != ""))
		p, s := beam.NewPipelineWithRoot()
		if _, err := Build(s, c); err != nil {
			t.Fatal(err)
		}
		if err := ptest.Run(p); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{
			"customer_metrics":   rowsOf[tables.CustomerMetrics](t, c.Output, "customer_metrics"),
			"segment_membership": rowsOf[tables.SegmentMembership](t, c.Output, "segment_membership"),
			"churn_list":         rowsOf[tables.ChurnList](t, c.Output, "churn_list"),
			"period_metrics":     rowsOf[tables.PeriodMetrics](t, c.Output, "period_metrics"),
			"cohort_retention":   rowsOf[tables.CohortRetention](t, c.Output, "cohort_retention"),
			"kmeans_centroids":   rowsOf[tables.KMeansCentroid](t, c.Output, "kmeans_centroids"),
		}
		for _, in := range []string{"orders", "order_lines"} {
			b, err := os.ReadFile(filepath.Join(c.Output, "dead_letters", in+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			got["dead_letters/"+in] = strings.Split(string(b), "\n")
		}
		return got
	}
	one, three := run(1, ""), run(3, "")
	// The same with the batches spilled to files (the shuffles carry references).
	spillDir := t.TempDir()
	spilled := run(3, spillDir)
	if files, _ := os.ReadDir(spillDir); len(files) == 0 {
		t.Error("nothing was spilled")
	}
	// 300 customers less C185, whose one order is "dup" under a lower-numbered customer
	// (the lowest input line wins: C000's).
	if n := len(one["customer_metrics"]); n != 299 {
		t.Fatalf("customer_metrics has %d rows, want 299", n)
	}
	if n := len(one["dead_letters/orders"]); n < 8 {
		t.Fatalf("dead_letters/orders has %d lines; the shop has bad rows and duplicates", n)
	}
	for name, rows := range one {
		if !slices.Equal(rows, three[name]) {
			t.Errorf("%s differs between GOMAXPROCS 1 and 3 (%d vs %d rows)", name, len(rows), len(three[name]))
		}
		if !slices.Equal(rows, spilled[name]) {
			t.Errorf("%s differs with the batches spilled (%d vs %d rows)", name, len(rows), len(spilled[name]))
		}
	}
}

// rowsOf reads a table's rows as sorted JSON strings.
func rowsOf[T any](t *testing.T, out, table string) []string {
	t.Helper()
	rows, err := parquetio.ReadDir[T](context.Background(), filepath.Join(out, table))
	if err != nil {
		t.Fatal(err)
	}
	s := make([]string, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(r) // pointers as their values, floats exactly
		if err != nil {
			t.Fatal(err)
		}
		s[i] = string(b)
	}
	slices.Sort(s)
	return s
}
