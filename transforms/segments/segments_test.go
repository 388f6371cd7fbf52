package segments

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

var asOf = value.DayFromDate(2025, 6, 30)

// buy is one order of one category, daysAgo before asOf.
type buy struct {
	cat     string
	daysAgo int
}

func customer(id string, buys ...buy) *facts.Customer {
	c := &facts.Customer{CustomerID: id, Currency: "EUR"}
	for i, b := range buys {
		oid := fmt.Sprintf("o%d", i)
		d := asOf - value.Day(b.daysAgo)
		c.Purchases = append(c.Purchases, facts.Purchase{OrderID: oid, Day: d, Amount: 100 * value.MoneyScale})
		c.Lines = append(c.Lines, facts.LineItem{OrderID: oid, Day: d, Category: b.cat, Amount: 100 * value.MoneyScale})
	}
	c.Sort()
	return c
}

const rulesYAML = `categories: [mattress, "mattress cover", insurance, "air conditioner", service, pillow]
rules:
  - name: mattress_no_cover
    description: Bought a mattress in the last 30 days and no cover since
    condition: bought_since("mattress", 30) && !bought_since("mattress cover", days_since_last("mattress"))
  - name: big_basket
    description: Up-sell
    condition: aov > 50000
  - name: insurance_renewal
    condition: bought("insurance", months_ago(11), months_ago(12))
  - name: ac_service_due
    condition: |
      bought("air conditioner", months_ago(8), months_ago(12))
        && !bought_since("service", days_since_last("air conditioner"))
    reminders:
      - {name: ac_service_reminder_2, description: second reminder, after_days: 14, until_days: 28}
  - name: win_back
    condition: rfm_segment in ["at risk", "can't lose"]
  - name: one_off_churned
    condition: cluster == "one-off" && churned
  - name: likely_gone
    condition: has_clv && p_alive < 0.3
  - name: pillow_fans
    condition: count("pillow", 90) >= 2
`

func mustRules(t testing.TB) *Rules {
	t.Helper()
	r, err := Parse("rules.yaml", []byte(rulesYAML))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// segmentsOf evaluates and returns "segment@entered_days_ago" for every membership.
func segmentsOf(t *testing.T, e *Evaluator, c *facts.Customer, row tables.CustomerMetrics, prev []tables.SegmentMembership) []string {
	t.Helper()
	rows, err := e.Evaluate(nil, c, &row, prev)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if r.RunDate != int32(asOf) || r.CustomerID != c.CustomerID || r.Source != "rule" {
			t.Errorf("bad row %+v", r)
		}
		out = append(out, fmt.Sprintf("%s@%d", r.Segment, int32(asOf)-r.EnteredAt))
	}
	return out
}

func TestRules(t *testing.T) {
	e := mustRules(t).NewEvaluator(asOf)
	p := func(v float64) *float64 { return &v }
	prevAC := func(dueDaysAgo, reminderDaysAgo int) []tables.SegmentMembership {
		out := []tables.SegmentMembership{{RunDate: int32(asOf - 1), Segment: "ac_service_due", Source: "rule", EnteredAt: int32(asOf) - int32(dueDaysAgo)}}
		if reminderDaysAgo >= 0 {
			out = append(out, tables.SegmentMembership{RunDate: int32(asOf - 1), Segment: "ac_service_reminder_2", Source: "rule", EnteredAt: int32(asOf) - int32(reminderDaysAgo)})
		}
		// Same name from another source must not count.
		return append(out, tables.SegmentMembership{Segment: "mattress_no_cover", Source: "rfm", EnteredAt: 1})
	}
	// Dates: as of 2025-06-30, months_ago(8) = 243 (2024-10-30), months_ago(11) = 335
	// (2024-07-30), months_ago(12) = 365 (2024-06-30), counted on a calendar.
	for _, tc := range []struct {
		name string
		c    *facts.Customer
		row  tables.CustomerMetrics
		prev []tables.SegmentMembership
		want []string
	}{
		{"mattress, no cover", customer("a", buy{"mattress", 10}), tables.CustomerMetrics{}, nil, []string{"mattress_no_cover@0"}},
		{"mattress then cover", customer("b", buy{"mattress", 10}, buy{"mattress cover", 5}), tables.CustomerMetrics{}, nil, nil},
		{"cover before mattress", customer("c", buy{"mattress cover", 20}, buy{"mattress", 10}), tables.CustomerMetrics{}, nil, []string{"mattress_no_cover@0"}},
		{"cover same day", customer("c2", buy{"mattress", 10}, buy{"mattress cover", 10}), tables.CustomerMetrics{}, nil, nil},
		{"mattress 30 days ago (inclusive)", customer("d", buy{"mattress", 30}), tables.CustomerMetrics{}, nil, []string{"mattress_no_cover@0"}},
		{"mattress 31 days ago", customer("e", buy{"mattress", 31}), tables.CustomerMetrics{}, nil, nil},
		{"mattress in the future", customer("f", buy{"mattress", -1}), tables.CustomerMetrics{}, nil, nil},
		{"aov above", customer("g"), tables.CustomerMetrics{AOV: 50000.01}, nil, []string{"big_basket@0"}},
		{"aov equal", customer("h"), tables.CustomerMetrics{AOV: 50000}, nil, nil},
		{"insurance 335 days ago", customer("i", buy{"insurance", 335}), tables.CustomerMetrics{}, nil, []string{"insurance_renewal@0"}},
		{"insurance 365 days ago", customer("j", buy{"insurance", 365}), tables.CustomerMetrics{}, nil, []string{"insurance_renewal@0"}},
		{"insurance 334 days ago", customer("k", buy{"insurance", 334}), tables.CustomerMetrics{}, nil, nil},
		{"insurance 366 days ago", customer("l", buy{"insurance", 366}), tables.CustomerMetrics{}, nil, nil},
		{"AC new in segment", customer("m", buy{"air conditioner", 302}), tables.CustomerMetrics{}, nil, []string{"ac_service_due@0"}},
		{"AC 243 days ago", customer("m2", buy{"air conditioner", 243}), tables.CustomerMetrics{}, nil, []string{"ac_service_due@0"}},
		{"AC 242 days ago", customer("m3", buy{"air conditioner", 242}), tables.CustomerMetrics{}, nil, nil},
		{"AC serviced", customer("n", buy{"air conditioner", 302}, buy{"service", 100}), tables.CustomerMetrics{}, prevAC(20, -1), nil},
		{"AC 13 days in", customer("o", buy{"air conditioner", 302}), tables.CustomerMetrics{}, prevAC(13, -1), []string{"ac_service_due@13"}},
		{"AC 14 days in: reminder", customer("p", buy{"air conditioner", 302}), tables.CustomerMetrics{}, prevAC(14, -1), []string{"ac_service_due@14", "ac_service_reminder_2@0"}},
		{"AC 20 days in, reminder kept", customer("q", buy{"air conditioner", 302}), tables.CustomerMetrics{}, prevAC(20, 6), []string{"ac_service_due@20", "ac_service_reminder_2@6"}},
		{"AC 28 days in", customer("r", buy{"air conditioner", 302}), tables.CustomerMetrics{}, prevAC(28, 14), []string{"ac_service_due@28", "ac_service_reminder_2@14"}},
		{"AC 29 days in", customer("s", buy{"air conditioner", 302}), tables.CustomerMetrics{}, prevAC(29, 15), []string{"ac_service_due@29"}},
		{"at risk", customer("t"), tables.CustomerMetrics{RFMSegment: "at risk"}, nil, []string{"win_back@0"}},
		{"can't lose", customer("u"), tables.CustomerMetrics{RFMSegment: "can't lose"}, nil, []string{"win_back@0"}},
		{"champion", customer("v"), tables.CustomerMetrics{RFMSegment: "champions"}, nil, nil},
		{"one-off churned", customer("w"), tables.CustomerMetrics{ClusterName: "one-off", Churned: true}, nil, []string{"one_off_churned@0"}},
		{"one-off active", customer("x"), tables.CustomerMetrics{ClusterName: "one-off"}, nil, nil},
		{"p_alive low", customer("y"), tables.CustomerMetrics{PredCLV: p(10), PAlive: p(0.2), ChurnRisk: p(0.8)}, nil, []string{"likely_gone@0"}},
		{"no CLV", customer("z"), tables.CustomerMetrics{}, nil, nil},
		{"two pillow orders in 90 days", customer("pp", buy{"pillow", 90}, buy{"pillow", 3}, buy{"pillow", 91}), tables.CustomerMetrics{}, nil, []string{"pillow_fans@0"}},
		{"one pillow order with two lines", func() *facts.Customer {
			c := customer("pq", buy{"pillow", 3})
			c.Lines = append(c.Lines, facts.LineItem{OrderID: "o0", Day: asOf - 3, Category: "pillow"})
			c.Sort()
			return c
		}(), tables.CustomerMetrics{}, nil, nil},
	} {
		got := segmentsOf(t, e, tc.c, tc.row, tc.prev)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: segments %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEnvFields(t *testing.T) {
	e := mustRules(t).NewEvaluator(asOf)
	c := customer("a", buy{"mattress", 40}, buy{"pillow", 5})
	c.HasRecord, c.CreatedAt, c.Country, c.MarketingConsent = true, asOf-100, "DE", true
	row := tables.CustomerMetrics{RecencyDays: 5, Orders: 2, Revenue: 200, AOV: 100, TenureDays: 40, RFMRecency: 4, RFMFrequency: 2, RFMMonetary: 3}
	if _, err := e.Evaluate(nil, c, &row, nil); err != nil {
		t.Fatal(err)
	}
	env := e.Env()
	if env.RecencyDays != 5 || env.Frequency != 2 || env.FirstOrderDaysAgo != 40 || env.AccountAgeDays != 100 || env.Country != "DE" || !env.Consent || env.RFMF != 2 || env.HasCLV {
		t.Errorf("env = %+v", env)
	}
	if env.DaysSinceLast("mattress") != 40 || env.DaysSinceFirst("pillow") != 5 || env.DaysSinceLast("service") != -1 {
		t.Error("days_since_* wrong")
	}
	// A category not named literally by any rule falls back to scanning the lines.
	if env.DaysSinceLast("sheets") != -1 || env.Count("mattress", 40) != 1 || env.Count("mattress", 39) != 0 {
		t.Error("count / fallback wrong")
	}
	if !env.Bought("mattress", 45, 35) || env.Bought("mattress", 41, 100) {
		t.Error("bought range wrong")
	}
}

func TestHistoryAndModelMemberships(t *testing.T) {
	rows := []tables.SegmentMembership{
		{RunDate: int32(asOf - 2), CustomerID: "a", Segment: "lost", Source: "rfm", EnteredAt: 1},
		{RunDate: int32(asOf - 1), CustomerID: "a", Segment: "loyal", Source: "rfm", EnteredAt: int32(asOf - 30)},
		{RunDate: int32(asOf - 1), CustomerID: "a", Segment: "loyal", Source: "kmeans", EnteredAt: int32(asOf - 7)},
		{RunDate: int32(asOf), CustomerID: "a", Segment: "champions", Source: "rfm", EnteredAt: int32(asOf)}, // today's own: ignored on rerun
	}
	h := NewHistory(rows, asOf)
	if len(h.Of("a")) != 2 || h.Of("b") != nil {
		t.Fatalf("history = %+v", h)
	}
	row := tables.CustomerMetrics{RunDate: int32(asOf), CustomerID: "a", RFMSegment: "loyal", Cluster: 2, ClusterName: "potential"}
	got := ModelMemberships(nil, &row, h.Of("a"))
	want := []tables.SegmentMembership{
		{RunDate: int32(asOf), CustomerID: "a", Segment: "loyal", Source: "rfm", EnteredAt: int32(asOf - 30)},
		{RunDate: int32(asOf), CustomerID: "a", Segment: "potential", Source: "kmeans", EnteredAt: int32(asOf)},
	}
	if !cmp.Equal(got, want) {
		t.Errorf("ModelMemberships = %+v\nwant %+v", got, want)
	}
	row.Cluster, row.RFMSegment = -1, ""
	if got := ModelMemberships(nil, &row, nil); len(got) != 0 {
		t.Errorf("unscored customer: %+v", got)
	}
}

// Config errors name the file, the line, the rule and what is wrong.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", `rules:
  - name: ok
    condition: recency_days > 30
  - name: lapsed
    condition: recency_day > 30
`, `rules.yaml:5: segments.rules[1] "lapsed": condition: unknown name recency_day (column 1 of the condition)`},
		{"unknown function on the second line of a block", `rules:
  - name: lapsed
    condition: |
      recency_days > 30 &&
        bougth("mattress", 1, 2)
`, `rules.yaml:5: segments.rules[0] "lapsed": condition: unknown name bougth (column 3 of the condition)`},
		{"category not in the vocabulary", `categories: [mattress]
rules:
  - name: m
    condition: bought_since("matress", 30)
`, `rules.yaml:4: segments.rules[0] "m": condition: bought_since("matress"): category "matress" is not in categories (column 14 of the condition)`},
		{"not boolean", `rules:
  - name: n
    condition: frequency + 1
`, `rules.yaml:3: segments.rules[0] "n": condition: expected bool, but got int`},
		{"wrong argument type", `rules:
  - name: n
    condition: bought_since("x", "30")
`, `rules.yaml:3: segments.rules[0] "n": condition: cannot use string as argument (type int) to call bought_since (column 19 of the condition)`},
		{"segment defined later", `rules:
  - name: a
    condition: days_in_segment("b") > 3
  - name: b
    condition: churned
`, `rules.yaml:3: segments.rules[0] "a": condition: days_in_segment("b"): no segment "b" is defined before this rule (rules run in order; column 17 of the condition)`},
		{"duplicate name", `rules:
  - name: a
    condition: churned
  - name: a
    condition: active
`, `rules.yaml:4: segments.rules[1] "a": segment name is used twice`},
		{"empty condition", `rules:
  - name: a
`, `rules.yaml:2: segments.rules[0] "a": condition is empty`},
		{"bad reminder window", `rules:
  - name: a
    condition: churned
    reminders:
      - {name: a2, after_days: 20, until_days: 10}
`, `rules.yaml:5: segments.rules[0].reminders[0] "a2": after_days 20 and until_days 10 must satisfy 0 <= after_days <= until_days`},
	} {
		var doc struct {
			Segments Config `yaml:"segments"`
		}
		src := "segments:\n" + indent(tc.yaml)
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// The extra "segments:" line shifts every line by one.
		_, err := doc.Segments.Compile("rules.yaml", "segments")
		want := shiftLine(tc.want)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, err, want)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	_, err := Parse("rules.yaml", []byte("rules:\n  - name: a\n    conditon: churned\n"))
	want := `rules.yaml: line 3: segment rule: unknown key "conditon" (known: name, description, condition, reminders)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func indent(s string) string {
	out := ""
	for _, l := range slices.Collect(splitLines(s)) {
		out += "  " + l + "\n"
	}
	return out
}

func splitLines(s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i < len(s); i++ {
			if s[i] == '\n' {
				if !yield(s[start:i]) {
					return
				}
				start = i + 1
			}
		}
		if start < len(s) {
			yield(s[start:])
		}
	}
}

// shiftLine adds one to the line number after "rules.yaml:".
func shiftLine(s string) string {
	var n int
	var rest string
	if _, err := fmt.Sscanf(s, "rules.yaml:%d:", &n); err != nil {
		return s
	}
	pre := fmt.Sprintf("rules.yaml:%d:", n)
	rest = s[len(pre):]
	return fmt.Sprintf("rules.yaml:%d:%s", n+1, rest)
}

func BenchmarkEvaluate5Rules(b *testing.B) {
	r, err := Parse("rules.yaml", []byte(`rules:
  - name: mattress_no_cover
    condition: bought_since("mattress", 30) && !bought_since("mattress cover", days_since_last("mattress"))
  - name: big_basket
    condition: aov > 50000
  - name: insurance_renewal
    condition: bought("insurance", months_ago(11), months_ago(12))
  - name: ac_service_due
    condition: bought("air conditioner", months_ago(8), months_ago(12)) && !bought_since("service", days_since_last("air conditioner"))
  - name: win_back
    condition: rfm_segment in ["at risk", "can't lose"] || (cluster == "one-off" && churned)
`))
	if err != nil {
		b.Fatal(err)
	}
	e := r.NewEvaluator(asOf)
	c := customer("bench", buy{"pillow", 700}, buy{"air conditioner", 300}, buy{"insurance", 340}, buy{"sheets", 200},
		buy{"mattress", 20}, buy{"pillow", 15}, buy{"service", 400}, buy{"mattress cover", 25}, buy{"towel", 3}, buy{"pillow", 1})
	row := tables.CustomerMetrics{AOV: 120, RFMSegment: "loyal", ClusterName: "loyal"}
	var dst []tables.SegmentMembership
	b.ReportAllocs()
	for b.Loop() {
		dst, err = e.Evaluate(dst[:0], c, &row, nil)
		if err != nil || len(dst) != 3 {
			b.Fatal(err, dst)
		}
	}
}
