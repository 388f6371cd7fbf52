// Package audiences binds the config's audiences to the platform sinks: it turns each
// audience × destination into a Target (decoded and validated from the YAML), builds one
// account or client per platform per worker (so rate limits and VK's token cache are shared
// across audiences), and makes each customer's audience members from their segments and
// hashed contacts. The Beam wiring is in pipelines/graph; the sync itself is
// transforms/audience.Sync.
package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/audiencesync/audiencesync/sinks/googleads"
	"github.com/audiencesync/audiencesync/sinks/meta"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/sinks/vkads"
	"github.com/audiencesync/audiencesync/sinks/yandex"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"golang.org/x/oauth2"
	"gopkg.in/yaml.v3"
)

// Sinks is the config's `sinks:` section: one block per platform with base URLs,
// credentials (env or file references) and rate limits.
type Sinks struct {
	Yandex *yandex.Config    `yaml:"yandex"`
	VK     *vkads.Config     `yaml:"vk"`
	Meta   *meta.Config      `yaml:"meta"`
	Google *googleads.Config `yaml:"google"`
}

// Target is one audience on one platform.
type Target struct {
	Audience       string
	Platform       string
	Mode           audience.Mode
	MaxRemoveShare *float64
	Identifiers    []string
	Source         audience.Source

	Yandex *yandex.Target    `json:",omitempty"`
	VK     *vkads.Target     `json:",omitempty"`
	Meta   *meta.Target      `json:",omitempty"`
	Google *googleads.Target `json:",omitempty"`
}

// Key names the target in the pipeline's shuffle.
func (t Target) Key() string { return t.Audience + "\x00" + t.Platform }

// Plan is every target of a run plus the platform settings; plain data, carried by DoFns.
type Plan struct {
	Targets []Target
	Sinks   Sinks
}

// NewPlan decodes and validates every audience's destinations. withSecrets also checks that
// the credentials of every platform in use are present (--audiences=send and --validate).
func NewPlan(auds []audience.Config, sinks Sinks, c contacts.Config, withSecrets bool) (*Plan, error) {
	if err := audience.ValidateAll("audiences", auds); err != nil {
		return nil, err
	}
	p := &Plan{Sinks: sinks}
	used := map[string]string{}
	for i := range auds {
		a := &auds[i]
		for _, plat := range a.PlatformNames() {
			path := fmt.Sprintf("audiences[%d].destinations.%s", i, plat)
			t := Target{Audience: a.Name, Platform: plat, Mode: a.SyncMode(), MaxRemoveShare: a.MaxRemoveShare, Identifiers: a.IDs(), Source: a.Source}
			var err error
			switch plat {
			case "yandex":
				t.Yandex = &yandex.Target{}
				if err = decodeDestination(a, plat, path, t.Yandex); err == nil {
					err = t.Yandex.Validate(path)
				}
			case "vk":
				t.VK = &vkads.Target{}
				if err = decodeDestination(a, plat, path, t.VK); err == nil {
					err = t.VK.Validate(path)
				}
			case "meta":
				t.Meta = &meta.Target{}
				if err = decodeDestination(a, plat, path, t.Meta); err == nil {
					err = t.Meta.Validate(path)
				}
			case "google":
				t.Google = &googleads.Target{}
				if err = decodeDestination(a, plat, path, t.Google); err == nil {
					err = t.Google.Validate(path)
				}
			default:
				err = fmt.Errorf("%s: unknown platform %q (known: yandex, vk, meta, google)", path, plat)
			}
			if err != nil {
				return nil, err
			}
			used[plat] = a.Name
			p.Targets = append(p.Targets, t)
		}
	}
	if err := sinks.validate(used, c, withSecrets); err != nil {
		return nil, err
	}
	sort.Slice(p.Targets, func(i, j int) bool { return p.Targets[i].Key() < p.Targets[j].Key() })
	return p, nil
}

// decodeDestination decodes one destination block and rejects keys its target type does not
// have, with their line: the config's KnownFields check does not reach the yaml.Node values
// the blocks are kept in, so a typo such as `nmae:` would otherwise be ignored silently.
func decodeDestination(a *audience.Config, plat, path string, v any) error {
	if err := a.DecodeDestination(plat, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	n := a.Destinations[plat]
	return checkKeys(&n, reflect.TypeOf(v), path)
}

// checkKeys reports the first key of mapping n that names no yaml field of struct type t,
// recursing into nested structs.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ft, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("%s.%s: unknown key (line %d; known: %s)", path, k.Value, k.Line, strings.Join(names, ", "))
		}
		if err := checkKeys(n.Content[i+1], ft, path+"."+k.Value); err != nil {
			return err
		}
	}
	return nil
}

func (s Sinks) validate(used map[string]string, c contacts.Config, withSecrets bool) error {
	check := func(plat string, present bool, full, settings func(string) error) error {
		aud, inUse := used[plat]
		if !present {
			if inUse && withSecrets {
				return fmt.Errorf("sinks.%s: missing, but audience %q sends to %s (add a sinks.%s block with its credentials)", plat, aud, plat, plat)
			}
			return nil
		}
		if withSecrets && inUse {
			return full("sinks." + plat)
		}
		return settings("sinks." + plat)
	}
	if err := check("yandex", s.Yandex != nil, func(p string) error { return s.Yandex.Validate(p) }, func(string) error { return nil }); err != nil {
		return err
	}
	if err := check("vk", s.VK != nil, func(p string) error { return s.VK.Validate(p) }, func(string) error { return nil }); err != nil {
		return err
	}
	if s.VK != nil {
		want := c.VKHash
		if want == "" {
			want = contacts.HashMD5
		}
		got := s.VK.Defaults().Hash
		if got != want {
			return fmt.Errorf("sinks.vk.hash: %q differs from contacts.vk_hash %q (the sink must expect what contacts computes)", got, want)
		}
	}
	if err := check("meta", s.Meta != nil, func(p string) error { return s.Meta.Validate(p) }, func(p string) error { return s.Meta.ValidateSettings(p) }); err != nil {
		return err
	}
	return check("google", s.Google != nil, func(p string) error { return s.Google.Validate(p) }, func(string) error { return nil })
}

// Profiles and identifiers of each target, for building members.
func (t Target) profile() contacts.Profile {
	p, _ := contacts.ProfileOf(t.Platform)
	return p
}

// ids are the identifiers sent to this target: a VK list holds one kind only.
func (t Target) ids() []string {
	if t.VK != nil {
		switch t.VK.Type {
		case "phones":
			return []string{contacts.IDPhone}
		case "emails":
			return []string{contacts.IDEmail}
		}
	}
	return t.Identifiers
}

// Members builds each customer's members of every target. Build it once per worker.
type Members struct {
	targets  []Target
	matchers []*audience.Matcher
	ids      [][]string
}

// NewMembers compiles the targets' segment sources.
func NewMembers(p *Plan) *Members {
	m := &Members{targets: p.Targets}
	for _, t := range p.Targets {
		c := audience.Config{Name: t.Audience, Source: t.Source}
		m.matchers = append(m.matchers, c.Compile())
		m.ids = append(m.ids, t.ids())
	}
	return m
}

// Targets lists the targets in key order.
func (m *Members) Targets() []Target { return m.targets }

// Add calls emit(targetIndex, member) for every target whose source matches the customer's
// segments ("source:segment" names) and for which the customer has a usable identifier.
// Customers without consent have no hashes, so they are never members.
func (m *Members) Add(h *contacts.Hashed, segments []string, emit func(int, audience.Member)) {
	if !h.Consent {
		return
	}
	for i, t := range m.targets {
		if !m.matchers[i].Match(segments) {
			continue
		}
		if mem, ok := h.Member(t.profile(), m.ids[i]); ok {
			emit(i, mem)
		}
	}
}

// Destinations builds and caches one account/client per platform, shared by every
// audience of a worker.
type Destinations struct {
	plan     *Plan
	dryRun   bool
	stateDir string
	log      *slog.Logger

	mu     sync.Mutex
	yandex *yandex.Account
	vk     *vkads.Account
	meta   *meta.Client
	google *googleads.Client
}

// NewDestinations prepares the factory. In a dry run no credentials are read.
func NewDestinations(p *Plan, dryRun bool, stateDir string, log *slog.Logger) *Destinations {
	if log == nil {
		log = slog.Default()
	}
	return &Destinations{plan: p, dryRun: dryRun, stateDir: stateDir, log: log}
}

// dryRunNoSecret names a secret that dry runs never resolve.
const dryRunNoSecret = "AUDIENCESYNC_DRY_RUN_NO_SECRET"

// For returns the destination of one target.
func (d *Destinations) For(ctx context.Context, t Target) (audience.Destination, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.plan.Sinks
	switch t.Platform {
	case "yandex":
		if d.yandex == nil {
			cfg := yandex.Config{}
			if s.Yandex != nil {
				cfg = *s.Yandex
			}
			if d.dryRun && cfg.Token.IsZero() {
				// The plan lets a dry run go without sinks.yandex; WritePayloads never reads
				// the token, so a reference that is never resolved satisfies the account.
				cfg.Token = secret.Ref{Env: dryRunNoSecret}
			}
			a, err := yandex.NewAccount(cfg, yandex.WithLogger(d.log))
			if err != nil {
				return nil, err
			}
			d.yandex = a
		}
		return d.yandex.Destination(*t.Yandex)
	case "vk":
		if d.vk == nil {
			cfg := vkads.Config{}
			if s.VK != nil {
				cfg = *s.VK
			}
			if d.dryRun { // as for Yandex: a dry run needs no sinks.vk block
				if strings.TrimSpace(cfg.ClientID) == "" {
					cfg.ClientID = "dry-run"
				}
				if cfg.ClientSecret.IsZero() {
					cfg.ClientSecret = secret.Ref{Env: dryRunNoSecret}
				}
			}
			opts := []vkads.Option{vkads.WithLogger(d.log)}
			if d.stateDir != "" {
				opts = append(opts, vkads.WithStateDir(d.stateDir))
			}
			a, err := vkads.NewAccount(cfg, opts...)
			if err != nil {
				return nil, err
			}
			d.vk = a
		}
		return d.vk.Destination(*t.VK)
	case "meta":
		if d.meta == nil {
			cfg := meta.Config{}
			if s.Meta != nil {
				cfg = *s.Meta
			}
			var opts []meta.Option
			if d.dryRun {
				opts = append(opts, meta.WithoutCredentials())
			}
			c, err := meta.NewClient(cfg, opts...)
			if err != nil {
				return nil, err
			}
			d.meta = c
		}
		return meta.NewDestination(d.meta, *t.Meta)
	case "google":
		if d.google == nil {
			cfg := googleads.Config{}
			if s.Google != nil {
				cfg = *s.Google
			}
			var opts []googleads.Option
			if d.dryRun {
				// Dry runs write payloads only: no credentials are looked up.
				opts = append(opts, googleads.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "dry-run"})))
			}
			c, err := googleads.NewClient(ctx, cfg, opts...)
			if err != nil {
				return nil, err
			}
			d.google = c
		}
		return googleads.NewDestination(d.google, *t.Google)
	}
	return nil, fmt.Errorf("unknown platform %q", t.Platform)
}
