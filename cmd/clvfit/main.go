// Command clvfit fits the BG/NBD and Gamma-Gamma models of transforms/clv to an orders CSV
// or to the CDNOW sample (as shipped with the lifetimes Python project) and prints the
// parameters, log-likelihoods and customer counts, plus a holdout comparison when asked.
// It is a check-and-explore tool: the nightly pipeline fits the same models in a Beam
// combine.
//
//	clvfit --input orders.csv --calibration_end 2024-06-30 [--holdout_end 2024-12-31]
//	clvfit --format cdnow --input CDNOW_sample.txt --calibration_end 1997-09-30 --time_unit weeks
//
// Orders CSV: a header with at least order_id, customer_id, ordered_at, status, amount,
// currency; only completed and partially_refunded orders count; one model per currency.
// CDNOW: whitespace-separated customer id, customer index, YYYYMMDD, number of CDs, dollar
// value; currency "USD".
package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "clvfit:", err)
		os.Exit(1)
	}
}

type key struct{ customer, currency string }

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("clvfit", flag.ContinueOnError)
	input := fs.String("input", "", "input file (required)")
	format := fs.String("format", "orders", "input format: orders (CSV with header) | cdnow")
	cfg := clv.Defaults()
	cfg.Enabled = true
	fs.StringVar(&cfg.CalibrationEnd, "calibration_end", "", "last calibration day, inclusive (YYYY-MM-DD; default: the last order day)")
	fs.StringVar(&cfg.HoldoutEnd, "holdout_end", "", "last holdout day, inclusive (YYYY-MM-DD); turns on the holdout report")
	fs.StringVar(&cfg.TimeUnit, "time_unit", cfg.TimeUnit, "days | weeks")
	fs.Float64Var(&cfg.HorizonDays, "horizon_days", cfg.HorizonDays, "prediction horizon in days")
	fs.Float64Var(&cfg.Margin, "margin", cfg.Margin, "profit margin for CLV (0 < margin <= 1)")
	fs.Float64Var(&cfg.DiscountRate, "discount_rate", 0, "discount rate per discount_period")
	fs.StringVar(&cfg.DiscountPeriod, "discount_period", cfg.DiscountPeriod, "year | month")
	fs.IntVar(&cfg.Starts, "starts", cfg.Starts, "optimiser starting points")
	asJSON := fs.Bool("json", false, "print the run-summary report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *input == "" {
		return fmt.Errorf("--input is required")
	}
	f, err := os.Open(*input)
	if err != nil {
		return err
	}
	defer f.Close()
	var custs map[key]*facts.Customer
	var skipped int
	switch *format {
	case "orders":
		custs, skipped, err = readOrders(f)
	case "cdnow":
		custs, skipped, err = readCDNOW(f)
	default:
		return fmt.Errorf("--format: unknown format %q (known: orders, cdnow)", *format)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *input, err)
	}
	var last value.Day
	for _, c := range custs {
		c.Sort()
		if d := c.LastDay(); d > last {
			last = d
		}
	}
	asOf := last
	if cfg.HoldoutEnd != "" {
		if d, err := value.ParseDay(cfg.HoldoutEnd); err == nil && d > asOf {
			asOf = d
		}
	}
	spec, err := cfg.Resolve("flags", asOf)
	if err != nil {
		return err
	}
	byCur := map[string][]*facts.Customer{}
	for k, c := range custs {
		byCur[k.currency] = append(byCur[k.currency], c)
	}
	curs := make([]string, 0, len(byCur))
	for c := range byCur {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	fmt.Fprintf(out, "input %s: %d customers, %d rows skipped; calibration end %s, time unit %s\n",
		*input, len(custs), skipped, spec.CalibrationEnd, spec.Unit)
	for _, cur := range curs {
		agg := clv.NewAggregate(spec)
		for _, c := range byCur[cur] {
			agg.AddCustomer(c)
		}
		start := time.Now()
		m, err := clv.Fit(agg, spec)
		if err != nil {
			fmt.Fprintf(out, "%s: %v\n", cur, err)
			continue
		}
		el := time.Since(start)
		if *asJSON {
			b, _ := json.MarshalIndent(map[string]any{cur: m.Report()}, "", "  ")
			fmt.Fprintln(out, string(b))
			continue
		}
		b := m.BGNBD
		fmt.Fprintf(out, "%s: BG/NBD r=%.4f alpha=%.4f a=%.4f b=%.4f  LL=%.4f  customers=%d cells=%d converged=%v (%d/%d starts) fit %v\n",
			cur, b.R, b.Alpha, b.A, b.B, m.BGNBDFit.LogLikelihood, m.BGNBDFit.Customers, m.BGNBDFit.Cells,
			m.BGNBDFit.Converged, m.BGNBDFit.ConvergedStarts, m.BGNBDFit.Starts, el.Round(time.Millisecond))
		if m.GG != nil {
			fmt.Fprintf(out, "%s: Gamma-Gamma p=%.4f q=%.4f v=%.4f  LL=%.4f  repeat buyers=%d  population mean AOV=%.4f\n",
				cur, m.GG.P, m.GG.Q, m.GG.V, m.GGFit.LogLikelihood, m.GGFit.Customers, m.GG.ExpectedAOV(0, 0))
		} else {
			fmt.Fprintf(out, "%s: Gamma-Gamma not fitted: %s\n", cur, m.GGFit.Error)
		}
		for _, w := range []string{m.BGNBDFit.Warning, m.GGFit.Warning} {
			if w != "" {
				fmt.Fprintf(out, "%s: warning: %s\n", cur, w)
			}
		}
		if h := m.Holdout; h != nil {
			fmt.Fprintf(out, "%s: holdout %s..%s (%.2f %s): customers=%d actual=%.0f predicted=%.1f\n",
				cur, h.CalibrationEnd, h.HoldoutEnd, h.Duration, spec.Unit, h.Customers, h.Actual, h.Predicted)
			fmt.Fprintf(out, "  %-9s %9s %12s %12s\n", "frequency", "customers", "actual_mean", "pred_mean")
			for _, r := range h.Buckets {
				fmt.Fprintf(out, "  %-9s %9d %12.4f %12.4f\n", r.Frequency, r.Customers, r.ActualMean, r.PredictedMean)
			}
		}
	}
	return nil
}

func readCDNOW(r io.Reader) (map[key]*facts.Customer, int, error) {
	custs := map[key]*facts.Customer{}
	sc := bufio.NewScanner(r)
	line, skipped := 0, 0
	for sc.Scan() {
		line++
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if len(fs) != 5 {
			skipped++
			continue
		}
		t, err := time.Parse("20060102", fs[2])
		amt, err2 := value.ParseMoney(fs[4])
		if err != nil || err2 != nil {
			skipped++
			continue
		}
		k := key{fs[0], "USD"}
		c := custs[k]
		if c == nil {
			c = &facts.Customer{CustomerID: fs[0], Currency: "USD"}
			custs[k] = c
		}
		c.Purchases = append(c.Purchases, facts.Purchase{OrderID: fmt.Sprintf("%09d", line), Day: value.DayOf(t), Amount: amt})
	}
	return custs, skipped, sc.Err()
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"}

func readOrders(r io.Reader) (map[key]*facts.Customer, int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, 0, fmt.Errorf("reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, need := range []string{"order_id", "customer_id", "ordered_at", "status", "amount", "currency"} {
		if _, ok := col[need]; !ok {
			return nil, 0, fmt.Errorf("header has no column %q (want order_id, customer_id, ordered_at, status, amount, currency)", need)
		}
	}
	custs := map[key]*facts.Customer{}
	skipped := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		get := func(n string) string {
			if i := col[n]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		st, ok := orders.ParseStatus(get("status"))
		if !ok || !st.Counts() {
			skipped++
			continue
		}
		var t time.Time
		var terr error = fmt.Errorf("no layout")
		for _, l := range timeLayouts {
			if t, terr = time.Parse(l, get("ordered_at")); terr == nil {
				break
			}
		}
		amt, aerr := value.ParseMoney(get("amount"))
		if terr != nil || aerr != nil || get("customer_id") == "" || !isCurrency(get("currency")) {
			skipped++
			continue
		}
		k := key{get("customer_id"), strings.ToUpper(get("currency"))}
		c := custs[k]
		if c == nil {
			c = &facts.Customer{CustomerID: k.customer, Currency: k.currency}
			custs[k] = c
		}
		c.Purchases = append(c.Purchases, facts.Purchase{OrderID: get("order_id"), Day: value.DayOf(t), Amount: amt})
	}
	return custs, skipped, nil
}

// isCurrency accepts an ISO 4217-shaped code (three ASCII letters), as the pipeline's reader does.
func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
