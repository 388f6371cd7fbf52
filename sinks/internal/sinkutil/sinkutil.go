// Package sinkutil is the scaffolding the four audience sinks share: the options their
// accounts take, how an error maps to an audience.Outcome, and batching. Each sink keeps
// only what is specific to its platform.
package sinkutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// Options are what every sink's NewAccount takes besides its config.
type Options struct {
	HTTP     []httpx.Option // transport, clock, jitter, logger for the HTTP layer
	Log      *slog.Logger   // warnings (few_data, a disabled token cache)
	Sleep    func(context.Context, time.Duration) error
	Now      func() time.Time
	StateDir string // where a sink may keep a cache (VK's token), local or gs://
	// NoCredentials builds an account for dry runs: no secret is needed or read, and any
	// call that would reach the platform fails.
	NoCredentials bool
}

// Option configures Options.
type Option func(*Options)

// New returns the options with defaults: a discarding logger, the wall clock, real sleeps.
func New(opts ...Option) Options {
	o := Options{Log: slog.New(slog.DiscardHandler), Sleep: httpx.Sleep, Now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithHTTPOptions passes options to the HTTP layer (tests: transport, jitter).
func WithHTTPOptions(o ...httpx.Option) Option {
	return func(x *Options) { x.HTTP = append(x.HTTP, o...) }
}

// WithLogger sets the logger of the sink and of its HTTP layer.
func WithLogger(l *slog.Logger) Option {
	return func(x *Options) { x.Log = l; x.HTTP = append(x.HTTP, httpx.WithLogger(l)) }
}

// WithClock replaces the clock and the sleeps of the sink (status polls, token expiry) and
// of its HTTP layer; tests record the waits instead of sleeping.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(x *Options) {
		x.Now, x.Sleep = now, sleep
		x.HTTP = append(x.HTTP, httpx.WithClock(now, sleep))
	}
}

// WithStateDir lets the sink keep caches under dir.
func WithStateDir(dir string) Option { return func(x *Options) { x.StateDir = dir } }

// WithoutCredentials builds an account for dry runs (see Options.NoCredentials).
func WithoutCredentials() Option { return func(x *Options) { x.NoCredentials = true } }

// Client holds a sink's API client, built on first use (secrets are resolved then, so a dry
// run needs none) and shared by every audience of the account.
type Client[C any] struct {
	once sync.Once
	c    C
	err  error
}

// Get returns the client, building it with build on the first call. An account made
// WithoutCredentials never builds one: Get fails with ErrDryRun, prefixed with platform.
func (l *Client[C]) Get(o *Options, platform string, build func() (C, error)) (C, error) {
	l.once.Do(func() {
		if o.NoCredentials {
			l.err = fmt.Errorf("%s: %w", platform, ErrDryRun)
			return
		}
		l.c, l.err = build()
	})
	return l.c, l.err
}

// ErrDryRun is returned by an account built WithoutCredentials when asked to send.
var ErrDryRun = errors.New("this account was built for a dry run and sends nothing")

// Refuser is implemented by a platform's API error that knows whether the platform refused
// the call (then nothing was applied).
type Refuser interface{ Refused() bool }

// Outcome is what a failed call means for the identifiers it carried: nothing applied when
// the platform refused it or it never left, otherwise unknown (it may have been applied).
func Outcome(err error) audience.Outcome {
	var r Refuser
	if httpx.Refused(err) || errors.As(err, &r) && r.Refused() {
		return audience.NotSent
	}
	return audience.Unconfirmed
}

// Batches cuts ids into consecutive batches of at most n (n ≥ 1).
func Batches(ids []audience.Identifier, n int) [][]audience.Identifier {
	var out [][]audience.Identifier
	for len(ids) > 0 {
		k := min(n, len(ids))
		out = append(out, ids[:k:k])
		ids = ids[k:]
	}
	return out
}

// Settings is what every sink's config block offers.
type Settings[Cfg any] interface {
	Defaults() Cfg                      // the block with its defaults
	ValidateSettings(path string) error // everything but the credentials' values
}

// Account is what every sink's account holds: its config block with the defaults applied,
// the options, and the API client built on first use (Client). A sink embeds it.
type Account[Cfg Settings[Cfg], C any] struct {
	Cfg    Cfg
	Opts   Options
	client Client[C]
}

// Init checks cfg's settings (the credentials are read on the first call, so a dry run needs
// none) and keeps it with its defaults applied; path names the block, e.g. "sinks.yandex".
func (a *Account[Cfg, C]) Init(path string, cfg Cfg, opts []Option) error {
	if err := cfg.ValidateSettings(path); err != nil {
		return err
	}
	a.Cfg, a.Opts = cfg.Defaults(), New(opts...)
	return nil
}

// NewAccount is every sink's NewAccount: a new account A (which embeds Account) with cfg's
// settings checked (see Init); path names the block, e.g. "sinks.yandex".
func NewAccount[A any, P interface {
	*A
	Init(path string, cfg Cfg, opts []Option) error
}, Cfg any](path string, cfg Cfg, opts []Option) (*A, error) {
	a := P(new(A))
	if err := a.Init(path, cfg, opts); err != nil {
		return nil, err
	}
	return a, nil
}

// Target is a sink's destination block: it checks itself, path naming it in messages.
type Target interface{ Validate(path string) error }

// Bind is every sink's Account.Destination: it checks t as the block at path (e.g.
// "destinations.yandex") and only then builds the destination with bind.
func Bind[T Target, D any](path string, t T, bind func() *D) (*D, error) {
	if err := t.Validate(path); err != nil {
		return nil, err
	}
	return bind(), nil
}

// ParseID reads the numeric remote id an audience's state holds for platform ("" = none
// yet); what names the platform's object ("list", "segment") in the error.
func ParseID(platform, what, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s: remote id %q from state is not a %s id: fix or delete the audience's %s state file", platform, s, what, platform)
	}
	return id, nil
}

// Only returns the one item of found, nil when there is none. Several are an error, built by
// several from their number and their ids (id of each, joined by ", "): the sink cannot tell
// which one is the audience's.
func Only[T any](found []T, id func(T) string, several func(n int, ids string) error) (*T, error) {
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, x := range found {
		ids[i] = id(x)
	}
	return nil, several(len(found), strings.Join(ids, ", "))
}

// CountRequests starts counting a client's HTTP requests (requests reads its total); the func
// it returns sets *n to those made since: defer sinkutil.CountRequests(c.Requests, &res.Requests)().
func CountRequests(requests func() int64, n *int64) func() {
	before := requests()
	return func() { *n = requests() - before }
}

// Begin starts a destination's Apply: it returns checkErr (the request's check) if any,
// else the client from api and a func, to defer, that sets *n to the requests the client
// made since.
func Begin[C interface{ Requests() int64 }](checkErr error, api func() (C, error), n *int64) (C, func(), error) {
	var c C
	if checkErr != nil {
		return c, nil, checkErr
	}
	c, err := api()
	if err != nil {
		return c, nil, err
	}
	return c, CountRequests(c.Requests, n), nil
}

// API returns the account's client, building it with build on the first call.
func (a *Account[Cfg, C]) API(platform string, build func() (C, error)) (C, error) {
	return a.client.Get(&a.Opts, platform, build)
}
