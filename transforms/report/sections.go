package report

import (
	"cmp"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/tables"
)

func buildSegments(in inputs, prev map[string]int64, today map[string]int64) []SegmentRow {
	counts := in.segments
	if len(counts) == 0 {
		counts = map[[2]string]int64{}
		// Without the membership table, fall back to the summary's counts, whose names
		// carry the source as a prefix (rfm:, kmeans:, rule:).
		for name, n := range in.summary.Segments {
			src, seg, ok := strings.Cut(name, ":")
			if !ok {
				src, seg = "", name
			}
			counts[[2]string{src, seg}] = n
		}
	}
	var out []SegmentRow
	for k, n := range counts {
		key := k[0] + ":" + k[1]
		today[key] = n
		f := Figure{Key: "segment:" + key, Label: k[1], Kind: KindCount, Value: ptr(float64(n)), Neutral: true}
		if p, ok := prev[key]; ok {
			f.Prev = ptr(float64(p))
		} else if prev != nil {
			f.Prev = ptr(0) // the previous run had no such members
		}
		out = append(out, SegmentRow{Source: k[0], Segment: k[1], Figure: f})
	}
	slices.SortFunc(out, func(a, b SegmentRow) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Segment, b.Segment))
	})
	return out
}

func buildAudiences(syncs []tables.SyncLog, ids map[[3]string]int64, prev map[string]int64, today map[string]int64) []AudienceRow {
	rows := map[string]*AudienceRow{}
	row := func(a, p string) *AudienceRow {
		key := a + "/" + p
		if r := rows[key]; r != nil {
			return r
		}
		r := &AudienceRow{Audience: a, Platform: p, Status: "not delivered"}
		rows[key] = r
		return r
	}
	for k, n := range ids {
		r := row(k[0], k[1])
		switch k[2] {
		case "email":
			r.Emails += n
		case "phone":
			r.Phones += n
		}
	}
	for _, s := range syncs {
		if s.Kind == tables.KindLookalike {
			continue // the lookalike's own table (buildLookalikes)
		}
		r := row(s.Audience, s.Platform)
		r.Mode, r.DryRun, r.Status, r.Failed, r.Error = s.Mode, s.DryRun, s.Status, s.Status == "failed" || s.Status == "guarded", scrub(s.Error)
		r.Sent, r.Accepted, r.Rejected, r.Added, r.Removed, r.Requests, r.DurationMs = s.Sent, s.Accepted, s.Rejected, s.Added, s.Removed, s.Requests, s.DurationMs
		var reasons map[string]float64
		if s.RejectReasons != "" && json.Unmarshal([]byte(s.RejectReasons), &reasons) == nil {
			r.RejectReasons = sortedKVf(reasons)
		}
	}
	out := make([]AudienceRow, 0, len(rows))
	for key, r := range rows {
		// The size is the audience's identifiers; a run without audience_members (older
		// outputs) shows the sync_log's count.
		n := float64(r.Emails + r.Phones)
		if n == 0 {
			for _, s := range syncs {
				if s.Audience+"/"+s.Platform == key && s.Kind != tables.KindLookalike {
					n = float64(s.Members)
				}
			}
		}
		today[key] = int64(n)
		r.Members = Figure{Key: "audience:" + key, Label: key, Kind: KindCount, Value: ptr(n), Neutral: true}
		if p, ok := prev[key]; ok {
			r.Members.Prev = ptr(float64(p))
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b AudienceRow) int {
		return cmp.Or(cmp.Compare(a.Audience, b.Audience), cmp.Compare(a.Platform, b.Platform))
	})
	return out
}

// emailRe finds e-mail-like strings; errors should never carry one, this is the last guard.
var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// scrub removes e-mail-like strings from free text.
func scrub(s string) string { return emailRe.ReplaceAllString(s, "[redacted]") }

func sortedKV(m map[string]int64) []KV {
	out := make([]KV, 0, len(m))
	for k, v := range m {
		out = append(out, KV{Key: k, Value: float64(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func sortedKVf(m map[string]float64) []KV {
	out := make([]KV, 0, len(m))
	for k, v := range m {
		out = append(out, KV{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func ptr(v float64) *float64 { return &v }

func lower(f Figure) Figure { f.LowerIsBetter = true; return f }

// round4 rounds to 1/10,000, the precision of the tables' money, so sums of float64
// columns do not show binary noise.
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
