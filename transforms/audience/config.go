package audience

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is one audience in the config file:
//
//	audiences:
//	  - name: mattress_no_cover
//	    description: Bought a mattress in the last 30 days, no cover since
//	    source:
//	      segments: [rule:mattress_no_cover]      # union of these segments …
//	      exclude: [rfm:lost]                     # … minus the union of these
//	    identifiers: [email, phone]               # default: both
//	    mode: incremental                         # incremental (default) | replace
//	    max_remove_share: 0.5                     # default 0.5; 0 = never remove without --force
//	    destinations:
//	      yandex: {…}                             # each platform's own block, decoded by its sink
//	      vk: {…}
//	    lookalikes:                               # optional: lookalikes the platforms build from it
//	      yandex: {similarity: 3}                 # each platform's own block, decoded by its sink
type Config struct {
	Name           string               `yaml:"name"`
	Description    string               `yaml:"description"`
	Source         Source               `yaml:"source"`
	Identifiers    []string             `yaml:"identifiers"`
	Mode           Mode                 `yaml:"mode"`
	MaxRemoveShare *float64             `yaml:"max_remove_share"`
	Destinations   map[string]yaml.Node `yaml:"destinations"`
	// Lookalikes asks a platform to build a lookalike audience from this one; each block
	// needs the platform in Destinations too (the lookalike's source).
	Lookalikes map[string]yaml.Node `yaml:"lookalikes"`
}

// Source says which customers are in the audience: members of any segment in Segments and of
// none in Exclude. Segment names (rfm:champions, kmeans:loyal, rule:…) are opaque here.
type Source struct {
	Segments []string `yaml:"segments"`
	Exclude  []string `yaml:"exclude"`
}

// IDs returns the identifiers to send, defaulting to email and phone.
func (c *Config) IDs() []string {
	if len(c.Identifiers) == 0 {
		return []string{TypeEmail, TypePhone}
	}
	return c.Identifiers
}

// SyncMode returns the mode, defaulting to incremental.
func (c *Config) SyncMode() Mode {
	if c.Mode == "" {
		return ModeIncremental
	}
	return c.Mode
}

// RemoveShare returns max_remove_share, defaulting to DefaultMaxRemoveShare.
func (c *Config) RemoveShare() float64 {
	if c.MaxRemoveShare == nil {
		return DefaultMaxRemoveShare
	}
	return *c.MaxRemoveShare
}

// DecodeDestination decodes the platform's destination block into v (the sink's own config
// type). A missing or empty block leaves v unchanged.
func (c *Config) DecodeDestination(platform string, v any) error {
	n, ok := c.Destinations[platform]
	if !ok || n.Kind == 0 || n.Tag == "!!null" {
		return nil
	}
	return n.Decode(v)
}

// Validate checks one audience; path is its place in the config, e.g. "audiences[2]", and
// platforms the names a destination may have (the delivery registry's list).
func (c *Config) Validate(path string, platforms []string) error {
	if err := validName(c.Name); err != nil {
		return fmt.Errorf("%s.name: %v", path, err)
	}
	if len(c.Source.Segments) == 0 {
		return fmt.Errorf("%s.source.segments: empty; name at least one segment (e.g. rfm:champions, rule:<name>)", path)
	}
	incl := map[string]bool{}
	for i, s := range c.Source.Segments {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s.source.segments[%d]: empty segment name", path, i)
		}
		incl[s] = true
	}
	for i, s := range c.Source.Exclude {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s.source.exclude[%d]: empty segment name", path, i)
		}
		if incl[s] {
			return fmt.Errorf("%s.source.exclude[%d]: %q is also in source.segments, so none of its customers could ever be in the audience; remove it from one list", path, i, s)
		}
	}
	seen := map[string]bool{}
	for i, id := range c.Identifiers {
		if id != TypeEmail && id != TypePhone {
			return fmt.Errorf("%s.identifiers[%d]: unknown identifier %q (known: email, phone)", path, i, id)
		}
		if seen[id] {
			return fmt.Errorf("%s.identifiers[%d]: %q listed twice", path, i, id)
		}
		seen[id] = true
	}
	switch c.Mode {
	case "", ModeIncremental, ModeReplace:
	default:
		return fmt.Errorf("%s.mode: unknown mode %q (known: incremental, replace)", path, c.Mode)
	}
	if c.MaxRemoveShare != nil && (*c.MaxRemoveShare < 0 || *c.MaxRemoveShare > 1) {
		return fmt.Errorf("%s.max_remove_share: %v is outside [0, 1] (a share of the previous audience; default 0.5)", path, *c.MaxRemoveShare)
	}
	if len(c.Destinations) == 0 {
		return fmt.Errorf("%s.destinations: empty; add at least one of %s", path, strings.Join(platforms, ", "))
	}
	names := make([]string, 0, len(c.Destinations))
	for k := range c.Destinations {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(platforms, k) {
			return fmt.Errorf("%s.destinations.%s: unknown platform (known: %s)", path, k, strings.Join(platforms, ", "))
		}
		n := c.Destinations[k]
		if n.Kind != 0 && n.Kind != yaml.MappingNode && n.Tag != "!!null" {
			return fmt.Errorf("%s.destinations.%s: want a mapping of the platform's settings (line %d)", path, k, n.Line)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Lookalikes)) {
		n := c.Lookalikes[k]
		switch {
		case !slices.Contains(platforms, k):
			return fmt.Errorf("%s.lookalikes.%s: unknown platform (known: %s)", path, k, strings.Join(platforms, ", "))
		case n.Kind != yaml.MappingNode:
			return fmt.Errorf("%s.lookalikes.%s: want a mapping of the lookalike's settings (line %d)", path, k, n.Line)
		}
		if _, ok := c.Destinations[k]; !ok {
			return fmt.Errorf("%s.lookalikes.%s: the audience has no destinations.%s: a lookalike is built from the audience on the same platform, so add it there too (line %d)", path, k, k, n.Line)
		}
	}
	return nil
}

// DecodeLookalike decodes the platform's lookalike block into v (the sink's own type); ok
// is false when the audience asks for no lookalike on the platform.
func (c *Config) DecodeLookalike(platform string, v any) (ok bool, err error) {
	n, ok := c.Lookalikes[platform]
	if !ok {
		return false, nil
	}
	return true, n.Decode(v)
}

// ValidateAll validates every audience and checks that names are unique; path is the list's
// place in the config, e.g. "audiences".
func ValidateAll(path string, cfgs []Config, platforms []string) error {
	seen := map[string]int{}
	for i := range cfgs {
		p := fmt.Sprintf("%s[%d]", path, i)
		if err := cfgs[i].Validate(p, platforms); err != nil {
			return err
		}
		if j, ok := seen[cfgs[i].Name]; ok {
			return fmt.Errorf("%s.name: %q is already the name of %s[%d]; audience names must be unique (they name state files and remote audiences)", p, cfgs[i].Name, path, j)
		}
		seen[cfgs[i].Name] = i
	}
	return nil
}

// validName keeps audience names usable as a folder name and a remote audience name.
func validName(n string) error {
	if n == "" {
		return fmt.Errorf("empty; every audience needs a name")
	}
	if len(n) > 100 {
		return fmt.Errorf("%q is longer than 100 characters", n)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || (c == '.' && i > 0)
		if !ok {
			return fmt.Errorf("%q: use only letters, digits, '_', '-' and '.' (not first); the name is also a folder name", n)
		}
	}
	return nil
}

// Matches reports whether a customer in the given segments belongs to the audience. It
// scans the config's lists and allocates nothing; for many audiences × customers use
// Compile.
func (c *Config) Matches(segments []string) bool {
	in := false
	for _, s := range segments {
		for _, x := range c.Source.Exclude {
			if s == x {
				return false
			}
		}
		if !in {
			for _, x := range c.Source.Segments {
				if s == x {
					in = true
					break
				}
			}
		}
	}
	return in
}

// Matcher is a compiled audience source: a membership test per customer without allocation.
type Matcher struct {
	role map[string]bool // segment name → true: include, false: exclude
}

// Compile builds the audience's Matcher. Build it once per worker, not per customer.
func (c *Config) Compile() *Matcher {
	m := &Matcher{role: make(map[string]bool, len(c.Source.Segments)+len(c.Source.Exclude))}
	for _, s := range c.Source.Segments {
		m.role[s] = true
	}
	for _, s := range c.Source.Exclude { // exclusion wins
		m.role[s] = false
	}
	return m
}

// Match reports whether a customer in the given segments belongs to the audience: in at
// least one source segment and in no excluded one.
func (m *Matcher) Match(segments []string) bool {
	in := false
	for _, s := range segments {
		if inc, ok := m.role[s]; ok {
			if !inc {
				return false
			}
			in = true
		}
	}
	return in
}
