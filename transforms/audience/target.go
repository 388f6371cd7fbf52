package audience

import (
	"fmt"

	"github.com/audiencesync/audiencesync/transforms/contacts"
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
// contacts profile (nothing would say how to hash for it).
func NewMembers(targets []Target) (*Members, error) {
	m := &Members{targets: targets}
	for _, t := range targets {
		p, ok := contacts.ProfileOf(t.Platform)
		if !ok {
			return nil, fmt.Errorf("audience %q: platform %q has no contacts profile", t.Audience, t.Platform)
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
// Customers without consent have no hashes, so they are never members.
func (m *Members) Add(h *contacts.Hashed, segments []string, emit func(int, Identifier)) {
	if !h.Consent {
		return
	}
	for i := range m.targets {
		if !m.matchers[i].Match(segments) {
			continue
		}
		p := m.profiles[i]
		if m.email[i] && h.Email[p] != "" {
			emit(i, Identifier{TypeEmail, h.Email[p]})
		}
		if m.phone[i] && h.Phone[p] != "" {
			emit(i, Identifier{TypePhone, h.Phone[p]})
		}
	}
}
