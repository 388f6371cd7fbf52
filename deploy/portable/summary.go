package portable

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// volatileSummaryKeys are run_summary.json keys that differ between any two runs of the
// same data: wall clock, the runner's name, the run id and where the outputs went. Keys are matched
// after lower-casing and removing underscores, so both "started_at" and "StartedAt" (the
// sync-log entries carry Go field names) are dropped.
var volatileSummaryKeys = map[string]bool{
	"startedat":  true,
	"durations":  true,
	"durationms": true,
	"runner":     true,
	"outputs":    true,
	"runid":      true,
}

// CompareSummaries compares two run_summary.json documents on their counts and returns
// one line per difference ("tables.customer_metrics: 120 != 118"), empty when they agree.
// Arrays are compared as multisets (runners may finish audiences in any order) and numbers
// within tol (relative, see Options.Tolerance).
func CompareSummaries(a, b []byte, tol float64) ([]string, error) {
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		return nil, fmt.Errorf("portable: first %s is not JSON: %w", SummaryFile, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return nil, fmt.Errorf("portable: second %s is not JSON: %w", SummaryFile, err)
	}
	var diffs []string
	diffValues("", normalise(va), normalise(vb), tol, &diffs)
	return diffs, nil
}

// normalise drops volatile keys and sorts arrays by their canonical JSON.
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if volatileSummaryKeys[strings.ReplaceAll(strings.ToLower(k), "_", "")] {
				continue
			}
			out[k] = normalise(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		keys := make([]string, len(x))
		for i, e := range x {
			out[i] = normalise(e)
		}
		idx := make([]int, len(x))
		for i := range idx {
			idx[i] = i
			b, _ := json.Marshal(maskNumbers(out[i]))
			keys[i] = string(b)
		}
		sort.SliceStable(idx, func(p, q int) bool { return keys[idx[p]] < keys[idx[q]] })
		sorted := make([]any, len(x))
		for i, k := range idx {
			sorted[i] = out[k]
		}
		return sorted
	default:
		return v
	}
}

// maskNumbers hides float-valued numbers from the array sort key so that near-equal
// elements keep their pairing; whole numbers (counts) stay in the key.
func maskNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = maskNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskNumbers(e)
		}
		return out
	case float64:
		if x != math.Trunc(x) {
			return "~"
		}
		return x
	default:
		return v
	}
}

func diffValues(path string, a, b any, tol float64, diffs *[]string) {
	name := path
	if name == "" {
		name = "(root)"
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: object != %s", name, short(b)))
			return
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			ea, okA := x[k]
			eb, okB := y[k]
			switch {
			case !okA:
				*diffs = append(*diffs, fmt.Sprintf("%s: only in B (%s)", p, short(eb)))
			case !okB:
				*diffs = append(*diffs, fmt.Sprintf("%s: only in A (%s)", p, short(ea)))
			default:
				diffValues(p, ea, eb, tol, diffs)
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: array != %s", name, short(b)))
			return
		}
		if len(x) != len(y) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %d elements != %d", name, len(x), len(y)))
			return
		}
		for i := range x {
			diffValues(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], tol, diffs)
		}
	case float64:
		y, ok := b.(float64)
		if !ok || !floatClose(x, y, tol) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %s != %s", name, short(a), short(b)))
		}
	default:
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %s != %s", name, short(a), short(b)))
		}
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
