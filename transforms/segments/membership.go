package segments

import (
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Sources of segment_membership rows.
const (
	SourceRFM    = "rfm"
	SourceKMeans = "kmeans"
	SourceRule   = "rule"
)

// EnteredAt is the entered_at of a membership today: the previous run's entered_at when the
// customer was in the same segment (same source and name) on the previous run, else today.
func EnteredAt(prev []tables.SegmentMembership, source, segment string, today value.Day) value.Day {
	for i := range prev {
		if p := &prev[i]; p.Segment == segment && p.Source == source {
			return value.Day(p.EnteredAt)
		}
	}
	return today
}

// ModelMemberships appends the customer's RFM segment and k-means cluster memberships (when
// set: rfm_segment not empty, cluster >= 0), with entered_at carried over from prev.
func ModelMemberships(dst []tables.SegmentMembership, row *tables.CustomerMetrics, prev []tables.SegmentMembership) []tables.SegmentMembership {
	today := value.Day(row.RunDate)
	if row.RFMSegment != "" {
		dst = append(dst, tables.SegmentMembership{RunDate: row.RunDate, CustomerID: row.CustomerID, Segment: row.RFMSegment,
			Source: SourceRFM, EnteredAt: int32(EnteredAt(prev, SourceRFM, row.RFMSegment, today))})
	}
	if row.Cluster >= 0 && row.ClusterName != "" {
		dst = append(dst, tables.SegmentMembership{RunDate: row.RunDate, CustomerID: row.CustomerID, Segment: row.ClusterName,
			Source: SourceKMeans, EnteredAt: int32(EnteredAt(prev, SourceKMeans, row.ClusterName, today))})
	}
	return dst
}

// History is the previous run's segment membership by customer id.
type History map[string][]tables.SegmentMembership

// NewHistory keeps, from segment_membership rows of any number of past runs, those of the
// latest run date before today (a rerun of today ignores today's own rows), by customer.
// Rows with an empty customer id only say that a run happened on their date (a run with no
// member in this part of the base still counts as the previous run).
func NewHistory(rows []tables.SegmentMembership, today value.Day) History {
	var latest int32 = -1 << 31
	for i := range rows {
		if d := rows[i].RunDate; d < int32(today) && d > latest {
			latest = d
		}
	}
	h := History{}
	for _, r := range rows {
		if r.RunDate == latest && r.CustomerID != "" {
			h[r.CustomerID] = append(h[r.CustomerID], r)
		}
	}
	return h
}

// Of returns a customer's previous membership (nil when none).
func (h History) Of(customerID string) []tables.SegmentMembership { return h[customerID] }
