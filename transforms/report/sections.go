package report

import (
	"encoding/json"
	"math"
	"regexp"
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
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Segment < out[j].Segment
	})
	return out
}

func buildAudiences(syncs []tables.SyncLog, prev map[string]int64, today map[string]int64) []AudienceRow {
	var out []AudienceRow
	for _, s := range syncs {
		key := s.Audience + "/" + s.Platform
		today[key] = s.Members
		f := Figure{Key: "audience:" + key, Label: key, Kind: KindCount, Value: ptr(float64(s.Members)), Neutral: true}
		if p, ok := prev[key]; ok {
			f.Prev = ptr(float64(p))
		}
		row := AudienceRow{
			Audience: s.Audience, Platform: s.Platform, Mode: s.Mode, DryRun: s.DryRun, Status: s.Status,
			Error: scrub(s.Error), Members: f, Sent: s.Sent, Accepted: s.Accepted, Rejected: s.Rejected,
			Added: s.Added, Removed: s.Removed, Requests: s.Requests, DurationMs: s.DurationMs,
		}
		var reasons map[string]float64
		if s.RejectReasons != "" && json.Unmarshal([]byte(s.RejectReasons), &reasons) == nil {
			row.RejectReasons = sortedKVf(reasons)
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Audience != out[j].Audience {
			return out[i].Audience < out[j].Audience
		}
		return out[i].Platform < out[j].Platform
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
