package audience

import (
	"fmt"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// Target is one audience on one platform, as far as the audience's membership and its sync
// rules go (the platform's own settings stay with its sink, see sinks/delivery): plain data,
// carried by DoFns.
type Target struct {
	Audience string
	Platform string // yandex, vk, meta, google
	Mode     Mode
	// MaxRemoveShare is the largest share of the previous audience one run may remove
	// without Options.Force; nil means DefaultMaxRemoveShare.
	MaxRemoveShare *float64
	// Identifiers are the identifier types sent to this platform (a VK list holds one).
	Identifiers []string
	Source      Source
	// Value makes the audience value-based (a Meta seed for a value-based lookalike): every
	// identifier carries the value of the customers behind it in this customer_metrics
	// column (one of ValueColumns), summed over the customers sharing it. "" for a plain
	// audience.
	Value string `json:",omitempty"`
	// ValueCurrency takes the values from customer_metrics rows of this currency only; ""
	// takes every row, and the values of one audience must then come in one currency.
	ValueCurrency string `json:",omitempty"`
	// Lookalike: the platform builds a lookalike audience from this one (the audience's
	// lookalikes.<platform> block); the delivery makes sure it exists (SyncLookalike).
	Lookalike bool `json:",omitempty"`
}

// ValueColumns are the customer_metrics columns a value-based audience may take its values
// from.
var ValueColumns = []string{"pred_clv", "revenue", "clv_simple"}

// metricValue returns the value of column col in row; ok is false when the row has none
// (pred_clv without a CLV prediction) or the column is unknown.
func metricValue(row *tables.CustomerMetrics, col string) (float64, bool) {
	switch col {
	case "pred_clv":
		if row.PredCLV == nil {
			return 0, false
		}
		return *row.PredCLV, true
	case "revenue":
		return row.Revenue, true
	case "clv_simple":
		return row.CLVSimple, true
	}
	return 0, false
}

// Key names the target in shuffles and files: "<audience>/<platform>".
func (t Target) Key() string { return t.Audience + "/" + t.Platform }

// Members turns a customer's segments and hashed contacts into the identifiers of every
// target the customer belongs to. Build it once per worker (NewMembers); it is read-only.
type Members struct {
	targets  []Target
	matchers []*Matcher
	profiles []contacts.Profile
	email    []bool
	phone    []bool
}

// NewMembers compiles the targets' segment sources. It fails on a platform without a
// contacts profile (nothing would say how to hash for it) and on an unknown value column.
func NewMembers(targets []Target) (*Members, error) {
	m := &Members{targets: targets}
	for _, t := range targets {
		p, ok := contacts.ProfileOf(t.Platform)
		if !ok {
			return nil, fmt.Errorf("audience %q: platform %q has no contacts profile", t.Audience, t.Platform)
		}
		if t.Value != "" && !slices.Contains(ValueColumns, t.Value) {
			return nil, fmt.Errorf("audience %q on %s: unknown value column %q (known: pred_clv, revenue, clv_simple)", t.Audience, t.Platform, t.Value)
		}
		c := Config{Name: t.Audience, Source: t.Source}
		m.matchers = append(m.matchers, c.Compile())
		m.profiles = append(m.profiles, p)
		var e, ph bool
		for _, id := range t.Identifiers {
			e = e || id == TypeEmail
			ph = ph || id == TypePhone
		}
		m.email, m.phone = append(m.email, e), append(m.phone, ph)
	}
	return m, nil
}

// Targets lists the targets, in the order given to NewMembers.
func (m *Members) Targets() []Target { return m.targets }

// Add calls emit(target index, identifier) for every identifier the customer contributes to
// every target whose source matches the customer's segments ("source:segment" names).
// Customers without consent have no hashes, so they are never members. Value-based targets
// get value 0: use AddCustomer to give them the customer's values.
func (m *Members) Add(h *contacts.Hashed, segments []string, emit func(int, Identifier)) {
	m.AddCustomer(h, segments, nil, emit, nil)
}

// AddCustomer is Add with the customer's customer_metrics rows (one per currency), from which
// a value-based target's identifiers take their Value. For such a target it also calls
// valued(target index, currency) once per currency whose value the customer contributes
// (none: the customer has no value in the column, e.g. no CLV prediction, and contributes
// 0); valued may be nil.
func (m *Members) AddCustomer(h *contacts.Hashed, segments []string, metrics []tables.CustomerMetrics, emit func(int, Identifier), valued func(int, string)) {
	if !h.Consent {
		return
	}
	for i := range m.targets {
		if !m.matchers[i].Match(segments) {
			continue
		}
		var v float64
		if t := &m.targets[i]; t.Value != "" {
			for j := range metrics {
				r := &metrics[j]
				if t.ValueCurrency != "" && r.Currency != t.ValueCurrency {
					continue
				}
				if x, ok := metricValue(r, t.Value); ok {
					v += x
					if valued != nil {
						valued(i, r.Currency)
					}
				}
			}
			v = RoundValue(v)
		}
		p := m.profiles[i]
		if m.email[i] && h.Email[p] != "" {
			emit(i, Identifier{TypeEmail, h.Email[p], v})
		}
		if m.phone[i] && h.Phone[p] != "" {
			emit(i, Identifier{TypePhone, h.Phone[p], v})
		}
	}
}
