package report

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

//go:embed templates/report.html.tmpl
var pageTemplate string

//go:embed templates/report.css
var pageCSS string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"css":        func() template.CSS { return template.CSS(pageCSS) },
	"raw":        raw,
	"rawp":       rawp,
	"count":      func(v int64) string { return group(strconv.FormatInt(v, 10)) },
	"money":      money,
	"pct":        func(v float64) string { return fixed(v, 1) + "%" },
	"pct0":       func(v float64) string { return fixed(v, 0) },
	"num":        num,
	"value":      figureText,
	"delta":      delta,
	"deltaClass": deltaClass,
	"lower":      strings.ToLower,
}).Parse(pageTemplate))

// Render writes the page for d to w.
func Render(w io.Writer, d Data) error {
	var buf bytes.Buffer
	if err := page.Execute(&buf, d); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Write builds the report from outDir, writes outDir/report.html atomically and records
// today's figures in outDir/history/report_history.json (after the page, so a failed
// render leaves the history as it was).
func Write(ctx context.Context, outDir string) error {
	return WriteWithHistory(ctx, outDir, "")
}

// WriteWithHistory is Write with the history kept at historyFile ("" = the default under
// outDir). Point it at the state folder when the output folder is not kept between runs.
func WriteWithHistory(ctx context.Context, outDir, historyFile string) error {
	in, err := readInputs(ctx, outDir)
	if err != nil {
		return err
	}
	return write(ctx, outDir, historyPath(outDir, historyFile), in)
}

// WriteRun is WriteWithHistory for the pipeline's driver, which holds the run's summary
// and has read the tables once already (ReadTables).
func WriteRun(ctx context.Context, outDir, historyFile string, sum *tables.Summary, t *Tables) error {
	return write(ctx, outDir, historyPath(outDir, historyFile), inputs{summary: *sum, Tables: t})
}

func write(ctx context.Context, outDir, hp string, in inputs) error {
	h, err := readHistory(ctx, hp)
	if err != nil {
		return err
	}
	d, err := build(in, h)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := Render(&buf, d); err != nil {
		return err
	}
	if err := fileio.WriteFile(ctx, fileio.Join(outDir, ReportFile), buf.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	b, err := json.MarshalIndent(h.with(d.Today), "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode history: %w", err)
	}
	if err := fileio.WriteFile(ctx, hp, append(b, '\n')); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// raw is the machine-readable form of a number for data- attributes.
func raw(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func rawp(v *float64) string {
	if v == nil {
		return ""
	}
	return raw(*v)
}

// fixed formats v with n decimals and thousands separators.
func fixed(v float64, n int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', n, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	out := sign + group(intPart)
	if hasFrac {
		out += "." + frac
	}
	return out
}

// group inserts thousands separators into a run of digits (with an optional sign).
func group(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return sign + b.String()
}

func money(v float64) string { return fixed(v, 2) }

// num formats a plain number: integers without decimals, others with up to 4 significant
// decimals, for centroids, model parameters and counters.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	if math.Abs(v) < 1e-9 { // floating-point residue of a zero (e.g. a back-transformed centroid)
		v = 0
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fixed(v, 0)
	}
	if math.Abs(v) >= 100 {
		return fixed(v, 1)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func kindFormat(kind string, v float64) string {
	switch kind {
	case KindCount:
		return fixed(v, 0)
	case KindMoney:
		return money(v)
	case KindPct:
		return fixed(v, 1) + "%"
	}
	return num(v)
}

// figureText is a figure's display text, "—" when undefined.
func figureText(f Figure) string {
	if f.Value == nil {
		return "—"
	}
	return kindFormat(f.Kind, *f.Value)
}

func signed(s string, v float64) string {
	if v > 0 {
		return "+" + s
	}
	return s
}

// delta is a figure's change since the previous run: "+12 (+5.0%)", "-1.5 pp"; "" when
// there is nothing to compare.
func delta(f Figure) string {
	d := f.Delta()
	if d == nil {
		return ""
	}
	if f.Kind == KindPct {
		return signed(fixed(*d, 1), *d) + " pp"
	}
	s := signed(kindFormat(f.Kind, *d), *d)
	if p := f.DeltaPct(); p != nil {
		s += " (" + signed(fixed(*p, 1), *p) + "%)"
	}
	return s
}

// deltaClass is "up" or "down" (the sign) plus "good" or "bad" (the meaning).
func deltaClass(f Figure) string {
	d := f.Delta()
	switch {
	case d == nil:
		return "none"
	case *d == 0:
		return "flat"
	}
	dir := "up"
	if *d < 0 {
		dir = "down"
	}
	if f.Neutral {
		return dir
	}
	if (*d > 0) != f.LowerIsBetter {
		return dir + " good"
	}
	return dir + " bad"
}
