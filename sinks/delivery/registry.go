package delivery

import (
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/audiencesync/audiencesync/pipelines/config/yamlfield"
	"github.com/audiencesync/audiencesync/sinks/googleads"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/sinks/meta"
	"github.com/audiencesync/audiencesync/sinks/vkads"
	"github.com/audiencesync/audiencesync/sinks/yandex"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
)

// Sinks is the config's `sinks:` section: one block per platform with base URLs, credentials
// (env or file references) and rate limits.
type Sinks struct {
	Yandex *yandex.Config    `yaml:"yandex"`
	VK     *vkads.Config     `yaml:"vk"`
	Meta   *meta.Config      `yaml:"meta"`
	Google *googleads.Config `yaml:"google"`
}

// Target is one audience on one platform: its membership and sync rules, and the platform's
// own block of the audience's destinations (exactly one of the pointers is set).
type Target struct {
	audience.Target
	Yandex *yandex.Target    `json:",omitempty"`
	VK     *vkads.Target     `json:",omitempty"`
	Meta   *meta.Target      `json:",omitempty"`
	Google *googleads.Target `json:",omitempty"`
}

// platform is one ad platform audiences can be delivered to. The list below is the one place
// the platforms are named: config validation, targets and accounts all read it (transforms/
// contacts keeps a hashing profile of the same name for each).
type platform struct {
	name       string
	targetType reflect.Type // the type its destination block decodes into
	// target decodes and validates the platform's block of an audience's destinations into t.
	target func(a *audience.Config, path string, t *Target) error
	// sink reports whether sinks.<name> is present and validates it (credentials too when
	// withSecrets).
	sink func(s *Sinks, path string, withSecrets bool) (bool, error)
	// open builds the platform's account and returns how to make one target's destination.
	open func(s *Sinks, opts []sinkutil.Option) (func(*Target) (audience.Destination, error), error)

	// lookalikeType is the type a platform's block of an audience's lookalikes decodes into;
	// nil when the platform builds no lookalikes through its API (noLookalike says why).
	lookalikeType reflect.Type
	// lookalike decodes and validates the block into t (after target).
	lookalike   func(a *audience.Config, path string, t *Target) error
	noLookalike string
}

var platforms = []platform{
	withLookalike(entry(yandex.Platform, func(s *Sinks) **yandex.Config { return &s.Yandex }, func(t *Target) **yandex.Target { return &t.Yandex }, yandex.NewAccount, (*yandex.Account).Destination),
		func(t *Target, l *yandex.Lookalike) { t.Yandex.Lookalike = l }),
	noLookalike(entry(vkads.Platform, func(s *Sinks) **vkads.Config { return &s.VK }, func(t *Target) **vkads.Target { return &t.VK }, vkads.NewAccount, (*vkads.Account).Destination),
		"the VK Ads API has no call that creates a lookalike audience: make it in the VK Ads cabinet from the synced users list (sinks/vkads/README.md, \"Lookalikes\")"),
	withLookalike(entry(meta.Platform, func(s *Sinks) **meta.Config { return &s.Meta }, func(t *Target) **meta.Target { return &t.Meta }, meta.NewAccount, (*meta.Account).Destination),
		func(t *Target, l *meta.Lookalike) { t.Meta.Lookalike = l }),
	noLookalike(entry(googleads.Platform, func(s *Sinks) **googleads.Config { return &s.Google }, func(t *Target) **googleads.Target { return &t.Google }, googleads.NewAccount, (*googleads.Account).Destination),
		"Google retired similar audiences in 2023: a Customer Match list only feeds Google's optimised targeting (sinks/googleads/README.md, \"Lookalikes\")"),
}

// Platforms returns the platform names, in the order of the registry.
func Platforms() []string {
	out := make([]string, len(platforms))
	for i, p := range platforms {
		out[i] = p.name
	}
	return out
}

// TargetType is the type a platform's block of an audience's destinations decodes into (nil
// for an unknown platform).
func TargetType(platform string) reflect.Type {
	if p, ok := lookup(platform); ok {
		return p.targetType
	}
	return nil
}

// LookalikeType is the type a platform's block of an audience's lookalikes decodes into (nil
// for a platform that builds no lookalikes, or an unknown one).
func LookalikeType(platform string) reflect.Type {
	if p, ok := lookup(platform); ok {
		return p.lookalikeType
	}
	return nil
}

func lookup(name string) (*platform, bool) {
	for i := range platforms {
		if platforms[i].name == name {
			return &platforms[i], true
		}
	}
	return nil, false
}

// settings is what every sink's config block offers.
type settings interface {
	Validate(path string) error
	ValidateSettings(path string) error
}

// identifierTypes is implemented by a target whose platform holds only some identifier types
// (a VK list holds one).
type identifierTypes interface{ IdentifierTypes() []string }

// entry builds a platform from its sink package's types: its config block C in Sinks, its
// target block T in Target, its account A and destination D.
func entry[C settings, T interface{ Validate(string) error }, A any, D audience.Destination](
	name string, cfg func(*Sinks) **C, tgt func(*Target) **T,
	newAccount func(C, ...sinkutil.Option) (A, error), dest func(A, T) (D, error)) platform {
	return platform{
		name:       name,
		targetType: reflect.TypeFor[T](),
		target: func(a *audience.Config, path string, t *Target) error {
			v := new(T)
			if err := decodeDestination(a, name, path, v); err != nil {
				return err
			}
			if err := (*v).Validate(path); err != nil {
				return err
			}
			if it, ok := any(*v).(identifierTypes); ok {
				t.Identifiers = it.IdentifierTypes()
			}
			*tgt(t) = v
			return nil
		},
		sink: func(s *Sinks, path string, withSecrets bool) (bool, error) {
			c := *cfg(s)
			if c == nil {
				return false, nil
			}
			if withSecrets {
				return true, (*c).Validate(path)
			}
			return true, (*c).ValidateSettings(path)
		},
		open: func(s *Sinks, opts []sinkutil.Option) (func(*Target) (audience.Destination, error), error) {
			var c C
			if p := *cfg(s); p != nil {
				c = *p
			}
			a, err := newAccount(c, opts...)
			if err != nil {
				return nil, err
			}
			return func(t *Target) (audience.Destination, error) {
				v := *tgt(t)
				if v == nil {
					return nil, fmt.Errorf("audience %q: no %s block in its destinations", t.Audience, name)
				}
				return dest(a, *v)
			}, nil
		},
	}
}

// lookalikeSettings is what a sink's lookalike block offers.
type lookalikeSettings interface {
	Validate(path string) error
	// ValueColumn returns the value column (and currency) the lookalike's source takes its
	// values from: "" for a plain source.
	ValueColumn() (column, currency string)
}

// withLookalike lets the audiences of platform p ask for a lookalike, decoded into L and set
// on the target's platform block by set.
func withLookalike[L lookalikeSettings](p platform, set func(*Target, *L)) platform {
	p.lookalikeType = reflect.TypeFor[L]()
	p.lookalike = func(a *audience.Config, path string, t *Target) error {
		v := new(L)
		if _, err := a.DecodeLookalike(p.name, v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		n := a.Lookalikes[p.name]
		if err := checkKeys(&n, reflect.TypeOf(v), path); err != nil {
			return err
		}
		if err := (*v).Validate(path); err != nil {
			return err
		}
		t.Lookalike = true
		t.Value, t.ValueCurrency = (*v).ValueColumn()
		set(t, v)
		return nil
	}
	return p
}

// noLookalike records why the platform's audiences cannot ask for a lookalike.
func noLookalike(p platform, why string) platform {
	p.noLookalike = why
	return p
}

// Plan is every target of a run plus the platform settings; plain data, carried by DoFns.
type Plan struct {
	Targets []Target // sorted by Key
	Sinks   Sinks
}

// NewPlan decodes and validates every audience's destinations. withSecrets also checks that
// the credentials of every platform in use are present (--audiences=send and --validate).
func NewPlan(auds []audience.Config, sinks Sinks, c contacts.Config, withSecrets bool) (*Plan, error) {
	if err := audience.ValidateAll("audiences", auds, Platforms()); err != nil {
		return nil, err
	}
	p := &Plan{Sinks: sinks}
	used := map[string]string{}
	for i := range auds {
		a := &auds[i]
		for _, pl := range platforms {
			if _, ok := a.Destinations[pl.name]; !ok {
				continue
			}
			path := fmt.Sprintf("audiences[%d].destinations.%s", i, pl.name)
			t := Target{Target: audience.Target{Audience: a.Name, Platform: pl.name, Mode: a.SyncMode(),
				MaxRemoveShare: a.MaxRemoveShare, Identifiers: a.IDs(), Source: a.Source}}
			if err := pl.target(a, path, &t); err != nil {
				return nil, err
			}
			if _, ok := a.Lookalikes[pl.name]; ok {
				lpath := fmt.Sprintf("audiences[%d].lookalikes.%s", i, pl.name)
				if pl.lookalike == nil {
					return nil, fmt.Errorf("%s: %s builds no lookalikes through its API: %s", lpath, pl.name, pl.noLookalike)
				}
				if err := pl.lookalike(a, lpath, &t); err != nil {
					return nil, err
				}
			}
			used[pl.name] = a.Name
			p.Targets = append(p.Targets, t)
		}
	}
	for _, pl := range platforms {
		path := "sinks." + pl.name
		aud, inUse := used[pl.name]
		present, err := pl.sink(&p.Sinks, path, withSecrets && inUse)
		switch {
		case err != nil:
			return nil, err
		case !present && inUse && withSecrets:
			return nil, fmt.Errorf("%s: missing, but audience %q sends to %s (add a %s block with its credentials)", path, aud, pl.name, path)
		}
	}
	if s := sinks.VK; s != nil {
		want := c.VKHash
		if want == "" {
			want = contacts.HashMD5
		}
		if got := s.Defaults().Hash; got != want {
			return nil, fmt.Errorf("sinks.vk.hash: %q differs from contacts.vk_hash %q (the sink must expect what contacts computes)", got, want)
		}
	}
	sort.Slice(p.Targets, func(i, j int) bool { return p.Targets[i].Key() < p.Targets[j].Key() })
	return p, nil
}

// AudienceTargets returns the targets' membership rules, for the compute pipeline's
// audience_members table.
func (p *Plan) AudienceTargets() []audience.Target {
	if p == nil {
		return nil
	}
	out := make([]audience.Target, len(p.Targets))
	for i, t := range p.Targets {
		out[i] = t.Target
	}
	return out
}

// target returns the target with this key.
func (p *Plan) target(key string) (*Target, bool) {
	for i := range p.Targets {
		if p.Targets[i].Key() == key {
			return &p.Targets[i], true
		}
	}
	return nil, false
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
	for f := range yamlfield.Of(t) {
		fields[f.Name] = f.Type
		names = append(names, f.Name)
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

// Accounts builds one account per platform on first use and makes each target's Destination
// from it, so that every audience of a worker shares its platform's rate limits (and VK's
// token cache). In a dry run no credentials are read and nothing can be sent.
type Accounts struct {
	plan *Plan
	opts []sinkutil.Option

	mu   sync.Mutex
	open map[string]func(*Target) (audience.Destination, error)
}

// NewAccounts prepares the accounts of plan; stateDir is where VK keeps its token cache.
// Extra options go to every account (tests pass a transport).
func NewAccounts(p *Plan, dryRun bool, stateDir string, log *slog.Logger, extra ...sinkutil.Option) *Accounts {
	opts := []sinkutil.Option{sinkutil.WithStateDir(stateDir)}
	if log != nil {
		opts = append(opts, sinkutil.WithLogger(log))
	}
	if dryRun {
		opts = append(opts, sinkutil.WithoutCredentials())
	}
	return &Accounts{plan: p, opts: append(opts, extra...), open: map[string]func(*Target) (audience.Destination, error){}}
}

// Destination returns the destination of one target.
func (a *Accounts) Destination(t *Target) (audience.Destination, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, ok := a.open[t.Platform]
	if !ok {
		pl, known := lookup(t.Platform)
		if !known {
			return nil, fmt.Errorf("audience %q: unknown platform %q (known: %s)", t.Audience, t.Platform, strings.Join(Platforms(), ", "))
		}
		var err error
		if f, err = pl.open(&a.plan.Sinks, a.opts); err != nil {
			return nil, err
		}
		a.open[t.Platform] = f
	}
	return f(t)
}
