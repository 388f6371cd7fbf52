package delivery_test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/audiencesync/audiencesync/sinks/googleads"
	"github.com/audiencesync/audiencesync/sinks/googleads/googleadstest"
	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/sinks/meta"
	"github.com/audiencesync/audiencesync/sinks/meta/metatest"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/sinks/vkads"
	"github.com/audiencesync/audiencesync/sinks/vkads/vkadstest"
	"github.com/audiencesync/audiencesync/sinks/yandex"
	"github.com/audiencesync/audiencesync/sinks/yandex/yandextest"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// The same scenarios run against every platform's fake through audience.Sync, the way the
// delivery phase runs them. Expected audiences are worked out by hand from the scenario,
// never read back from the code under test.

const aud = "loyal"

// platformEnv is one platform's fake and how to make a run's Destination on it.
type platformEnv struct {
	name string
	// md5: the platform takes MD5 (VK's default), else SHA-256.
	md5 bool
	// types the audience holds on the platform (a VK e-mails list: e-mails only).
	types []string
	// minCreate is the fewest identifiers a new audience needs (0: none).
	minCreate int
	// dest makes the Destination of one run (a fresh process: new account), its HTTP going
	// through rt when set; timeout is the per-attempt HTTP timeout.
	dest func(t *testing.T, rt http.RoundTripper, timeout time.Duration, validateOnly bool) audience.Destination
	// remote returns the audience's identifiers on the platform, how many audiences of its
	// name exist, and how many orphans (never confirmed uploads) there are.
	remote func(t *testing.T) (ids []audience.Identifier, named, orphans int)
	// slowCreate makes the next creation answer late (after the client's timeout) although
	// the platform serves it; nil: the platform has no creation call.
	slowCreate func()
	// validateOnly: the platform has a validate-only mode.
	validateOnly bool
}

func hashOf(md5hash bool, s string) string {
	if md5hash {
		sum := md5.Sum([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func envs(t *testing.T) []*platformEnv {
	clk := httpxtest.NewClock() // one clock for the run, as in production
	return []*platformEnv{yandexEnv(t, clk), vkEnv(t, clk), metaEnv(t, clk), googleEnv(t, clk)}
}

func yandexEnv(t *testing.T, clk *httpxtest.Clock) *platformEnv {
	srv := yandextest.NewServer("y-token")
	t.Cleanup(srv.Close)
	t.Setenv("CONF_YANDEX_TOKEN", "y-token")
	return &platformEnv{
		name: "yandex", types: []string{audience.TypeEmail, audience.TypePhone}, minCreate: yandex.MinSegmentRows,
		dest: func(t *testing.T, rt http.RoundTripper, timeout time.Duration, _ bool) audience.Destination {
			cfg := yandex.Config{BaseURL: srv.BaseURL(), Token: secret.Ref{Env: "CONF_YANDEX_TOKEN"}, HTTP: httpx.Config{Timeout: timeout}}
			a, err := yandex.NewAccount(cfg, opts(clk, rt)...)
			return must(t, a, err, func(a *yandex.Account) (audience.Destination, error) { return a.Destination(yandex.Target{}) })
		},
		remote: func(t *testing.T) ([]audience.Identifier, int, int) {
			var ids []audience.Identifier
			named, orphans := 0, 0
			for _, s := range srv.Segments() {
				switch {
				case s.Status == "uploaded":
					orphans++
				case s.Name == aud:
					named++
					for _, x := range srv.IDs(s.ID) {
						ids = append(ids, audience.Identifier{Type: x.Type, Hash: x.Hash})
					}
				}
			}
			return audience.NormaliseIdentifiers(ids), named, orphans
		},
		slowCreate: func() {
			srv.Faults.PushFor("POST /v1/management/segments/upload_csv_file", httpxtest.Fault{Delay: 2 * time.Second})
		},
	}
}

func vkEnv(t *testing.T, clk *httpxtest.Clock) *platformEnv {
	srv := vkadstest.NewServer("vk-app", "vk-secret", "md5")
	t.Cleanup(srv.Close)
	t.Setenv("CONF_VK_SECRET", "vk-secret")
	stateDir := t.TempDir() // the token cache outlives a run, as in production
	return &platformEnv{
		name: "vk", md5: true, types: []string{audience.TypeEmail}, minCreate: vkads.MinListRows,
		dest: func(t *testing.T, rt http.RoundTripper, timeout time.Duration, _ bool) audience.Destination {
			cfg := vkads.Config{BaseURL: srv.URL, ClientID: "vk-app", ClientSecret: secret.Ref{Env: "CONF_VK_SECRET"}, HTTP: httpx.Config{Timeout: timeout}}
			a, err := vkads.NewAccount(cfg, append(opts(clk, rt), sinkutil.WithStateDir(stateDir))...)
			return must(t, a, err, func(a *vkads.Account) (audience.Destination, error) {
				return a.Destination(vkads.Target{Type: vkads.TypeEmails})
			})
		},
		remote: func(t *testing.T) ([]audience.Identifier, int, int) {
			var ids []audience.Identifier
			named := 0
			for _, l := range srv.Lists() {
				if l.Name == aud {
					named++
					for _, h := range srv.Members(l.ID) {
						ids = append(ids, audience.Identifier{Type: audience.TypeEmail, Hash: h})
					}
				}
			}
			return audience.NormaliseIdentifiers(ids), named, 0
		},
		slowCreate: func() {
			srv.Faults.PushFor("POST /api/v3/remarketing/users_lists.json", httpxtest.Fault{Delay: 2 * time.Second})
		},
	}
}

func metaEnv(t *testing.T, clk *httpxtest.Clock) *platformEnv {
	fake := metatest.New("m-token", "m-secret")
	t.Cleanup(fake.Close)
	t.Setenv("CONF_META_TOKEN", "m-token")
	t.Setenv("CONF_META_SECRET", "m-secret")
	return &platformEnv{
		name: "meta", types: []string{audience.TypeEmail, audience.TypePhone},
		dest: func(t *testing.T, rt http.RoundTripper, timeout time.Duration, _ bool) audience.Destination {
			cfg := meta.Config{BaseURL: fake.URL, AccessToken: secret.Ref{Env: "CONF_META_TOKEN"}, AppSecret: secret.Ref{Env: "CONF_META_SECRET"},
				BatchSize: 1000, HTTP: httpx.Config{Timeout: timeout, RatePerSec: 1000}}
			a, err := meta.NewAccount(cfg, opts(clk, rt)...)
			return must(t, a, err, func(a *meta.Account) (audience.Destination, error) {
				return a.Destination(meta.Target{AdAccountID: "act_42"})
			})
		},
		remote: func(t *testing.T) ([]audience.Identifier, int, int) {
			var ids []audience.Identifier
			named := 0
			for _, a := range fake.Audiences("42") {
				if a.Name == aud {
					named++
					emails, phones, _ := fake.Members(a.ID)
					ids = append(ids, typed(audience.TypeEmail, emails)...)
					ids = append(ids, typed(audience.TypePhone, phones)...)
				}
			}
			return audience.NormaliseIdentifiers(ids), named, 0
		},
		slowCreate: func() { fake.SetLatencyFor("POST customaudiences", 2*time.Second) },
	}
}

func googleEnv(t *testing.T, clk *httpxtest.Clock) *platformEnv {
	fake := googleadstest.New("g-token")
	t.Cleanup(fake.Close)
	fake.AddUserList("1234567890", "777")
	return &platformEnv{
		name: "google", types: []string{audience.TypeEmail, audience.TypePhone}, validateOnly: true,
		dest: func(t *testing.T, rt http.RoundTripper, timeout time.Duration, validateOnly bool) audience.Destination {
			cfg := googleads.Config{Endpoint: fake.URL + "/", ValidateOnly: validateOnly, BatchSize: 1000, HTTP: httpx.Config{Timeout: timeout, RatePerSec: 1000}}
			a, err := googleads.NewAccount(cfg, opts(clk, rt)...)
			if err == nil {
				a.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "g-token"}))
			}
			return must(t, a, err, func(a *googleads.Account) (audience.Destination, error) {
				return a.Destination(googleads.Target{OperatingAccountID: "1234567890", UserListID: "777"})
			})
		},
		remote: func(t *testing.T) ([]audience.Identifier, int, int) {
			emails, phones := fake.Members("777")
			return audience.NormaliseIdentifiers(append(typed(audience.TypeEmail, emails), typed(audience.TypePhone, phones)...)), 1, 0
		},
	}
}

func opts(clk *httpxtest.Clock, rt http.RoundTripper) []sinkutil.Option {
	o := []sinkutil.Option{sinkutil.WithClock(clk.Now, clk.Sleep), sinkutil.WithHTTPOptions(httpx.WithRand(func() float64 { return 0 }))}
	if rt != nil {
		o = append(o, sinkutil.WithHTTPOptions(httpx.WithTransport(rt)))
	}
	return o
}

func must[A any](t *testing.T, a A, err error, dest func(A) (audience.Destination, error)) audience.Destination {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	d, err := dest(a)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func typed(typ string, hashes []string) []audience.Identifier {
	out := make([]audience.Identifier, len(hashes))
	for i, h := range hashes {
		out[i] = audience.Identifier{Type: typ, Hash: h}
	}
	return out
}

// customer is one customer's contacts (normalised), hashed for the platform when used.
type customer struct{ email, phone string }

// ids returns the identifiers of customers on env's platform, of the types it holds.
func (e *platformEnv) ids(cs ...customer) []audience.Identifier {
	var out []audience.Identifier
	for _, c := range cs {
		for _, typ := range e.types {
			v := c.email
			if typ == audience.TypePhone {
				v = c.phone
			}
			if v != "" {
				out = append(out, audience.Identifier{Type: typ, Hash: hashOf(e.md5, v)})
			}
		}
	}
	return audience.NormaliseIdentifiers(out)
}

// filler returns n customers with e-mail and phone, numbered from base: enough for the
// platforms' minimum audience size.
func filler(base, n int) []customer {
	out := make([]customer, n)
	for i := range out {
		out[i] = customer{fmt.Sprintf("f%d@example.com", base+i), fmt.Sprintf("7900%07d", base+i)}
	}
	return out
}

func job(day string, mode audience.Mode, platform string, ids []audience.Identifier) audience.Job {
	d, err := value.ParseDay(day)
	if err != nil {
		panic(err)
	}
	return audience.Job{Target: audience.Target{Audience: aud, Platform: platform, Mode: mode}, RunDate: d, Identifiers: slices.Clone(ids)}
}

func (e *platformEnv) sync(t *testing.T, store audience.StateStore, j audience.Job, d audience.Destination, o audience.Options) string {
	t.Helper()
	row, err := audience.Sync(context.Background(), d, store, j, o)
	if err != nil {
		t.Fatalf("%s %s: %v", e.name, j.RunDate, err)
	}
	return row.Status
}

// check compares the platform's audience with want (and that it is one audience, no orphans).
func (e *platformEnv) check(t *testing.T, when string, want []audience.Identifier) {
	t.Helper()
	got, named, orphans := e.remote(t)
	if named != 1 || orphans != 0 {
		t.Errorf("%s: %d audiences named %q and %d orphans, want 1 and 0", when, named, aud, orphans)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: the platform holds %d identifiers, want %d (%d missing, %d extra)", when, len(got), len(want), len(minus(want, got)), len(minus(got, want)))
	}
}

func minus(a, b []audience.Identifier) []audience.Identifier {
	var out []audience.Identifier
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestSharedIdentifiers: A and B share an e-mail, C and D a phone; B and D revoke consent.
// Worked out by hand: nobody of today carries B's phone or D's e-mail any more, so exactly
// those are removed; the shared e-mail and phone stay because A and C carry them. On a VK
// e-mails list only D's e-mail goes.
func TestSharedIdentifiers(t *testing.T) {
	a := customer{"shared@example.com", "79990000001"}
	b := customer{"shared@example.com", "79990000002"}
	c := customer{"c@example.com", "79990000009"}
	d := customer{"d@example.com", "79990000009"}
	base := filler(0, 2000)
	for _, mode := range []audience.Mode{audience.ModeIncremental, audience.ModeReplace} {
		for _, e := range envs(t) {
			t.Run(string(mode)+"/"+e.name, func(t *testing.T) {
				store := &audience.FileStore{Dir: t.TempDir()}
				day1 := e.ids(append(slices.Clone(base), a, b, c, d)...)
				e.sync(t, store, job("2026-11-01", mode, e.name, day1), e.dest(t, nil, 0, false), audience.Options{})
				e.check(t, "day 1", day1)
				day2 := e.ids(append(slices.Clone(base), a, c)...)
				row, err := audience.Sync(context.Background(), e.dest(t, nil, 0, false), store, job("2026-11-02", mode, e.name, day2), audience.Options{})
				if err != nil {
					t.Fatal(err)
				}
				removed := minus(day1, day2)
				wantRemoved := e.ids(customer{phone: b.phone}, customer{email: d.email})
				if !slices.Equal(removed, wantRemoved) || row.Removed != int64(len(wantRemoved)) || row.Added != 0 {
					t.Errorf("removed %d (row: %d added, %d removed), want exactly B's phone and D's e-mail (%d)", len(removed), row.Added, row.Removed, len(wantRemoved))
				}
				e.check(t, "day 2", day2)
			})
		}
	}
}

// TestSameNightRerunWithChangedData: a rerun of the same run date whose data changed (the
// default run date is the data's last day + 1) must send the new change, not replay the old
// one, and a third run of that night still converges.
func TestSameNightRerunWithChangedData(t *testing.T) {
	for _, mode := range []audience.Mode{audience.ModeIncremental, audience.ModeReplace} {
		for _, e := range envs(t) {
			t.Run(string(mode)+"/"+e.name, func(t *testing.T) {
				store := &audience.FileStore{Dir: t.TempDir()}
				for i, cs := range [][]customer{filler(0, 2010), filler(5, 2010), filler(0, 2001)} {
					ids := e.ids(cs...)
					e.sync(t, store, job("2026-11-02", mode, e.name, ids), e.dest(t, nil, 0, false), audience.Options{Force: true})
					e.check(t, "run "+strconv.Itoa(i+1), ids)
				}
			})
		}
	}
}

// TestValidateOnlyThenRealSend: a validate-only run applies nothing and records nothing; the
// next real run sends everything.
func TestValidateOnlyThenRealSend(t *testing.T) {
	for _, e := range envs(t) {
		if !e.validateOnly {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			store := &audience.FileStore{Dir: t.TempDir()}
			ids := e.ids(filler(0, 50)...)
			if st := e.sync(t, store, job("2026-11-02", "", e.name, ids), e.dest(t, nil, 0, true), audience.Options{}); st != audience.StatusValidated {
				t.Errorf("validate-only status %q", st)
			}
			if got, _, _ := e.remote(t); len(got) != 0 {
				t.Errorf("validate-only applied %d identifiers", len(got))
			}
			if st := e.sync(t, store, job("2026-11-02", "", e.name, ids), e.dest(t, nil, 0, false), audience.Options{}); st != audience.StatusOK {
				t.Errorf("real run status %q", st)
			}
			e.check(t, "after the real run", ids)
		})
	}
}

// TestClientTimeoutOnCreate: the platform creates the audience but its answer comes after the
// client gave up. Exactly one audience results, holding today's identifiers.
func TestClientTimeoutOnCreate(t *testing.T) {
	for _, e := range envs(t) {
		if e.slowCreate == nil {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			store := &audience.FileStore{Dir: t.TempDir()}
			ids := e.ids(filler(0, 2000)...)
			e.slowCreate()
			e.sync(t, store, job("2026-11-02", "", e.name, ids), e.dest(t, nil, 300*time.Millisecond, false), audience.Options{})
			e.check(t, "after the timed-out creation", ids)
		})
	}
}

// TestBelowMinimum: a new audience smaller than the platform's minimum is below_minimum (not
// a failure, nothing created) and is created by the first run on which it is large enough.
func TestBelowMinimum(t *testing.T) {
	for _, e := range envs(t) {
		if e.minCreate == 0 {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			store := &audience.FileStore{Dir: t.TempDir()}
			per := len(e.types) // identifiers per filler customer
			small := e.ids(filler(0, (e.minCreate-1)/per)...)
			row, err := audience.Sync(context.Background(), e.dest(t, nil, 0, false), store, job("2026-11-01", "", e.name, small), audience.Options{})
			if err != nil || row.Status != audience.StatusBelowMinimum || audience.Failed(row.Status) {
				t.Fatalf("%d identifiers: status %q, err %v", len(small), row.Status, err)
			}
			if _, named, _ := e.remote(t); named != 0 {
				t.Fatalf("a below-minimum audience was created")
			}
			enough := e.ids(filler(0, (e.minCreate+per-1)/per)...)
			if st := e.sync(t, store, job("2026-11-02", "", e.name, enough), e.dest(t, nil, 0, false), audience.Options{}); st != audience.StatusOK {
				t.Errorf("%d identifiers: status %q", len(enough), st)
			}
			e.check(t, "once large enough", enough)
		})
	}
}

// killedStore drops state writes once the run is killed: a SIGKILL leaves no last word.
type killedStore struct {
	audience.StateStore
	ctx context.Context
}

func (s killedStore) Save(ctx context.Context, a, p string, st audience.State) error {
	if s.ctx.Err() != nil {
		return errors.New("killed")
	}
	return s.StateStore.Save(ctx, a, p, st)
}

// TestKillBetweenRequests kills the run after its Nth HTTP answer, for every N until a run
// completes, on the creation night and on a change night, then reruns: every time the
// platform ends up with exactly the audience, in one audience, without orphans. Two kinds of
// kill: the state write is lost too (SIGKILL), or the run records what was confirmed before
// it stopped (a failure).
func TestKillBetweenRequests(t *testing.T) {
	for _, hard := range []bool{true, false} {
		for _, name := range []string{"yandex", "vk", "meta", "google"} {
			t.Run(fmt.Sprintf("%s/sigkill=%v", name, hard), func(t *testing.T) {
				day1 := filler(0, 2100)
				day2 := append(filler(100, 2050), customer{"new@example.com", "79991112233"})
				for n := int64(1); ; n++ {
					e := map[string]func(*testing.T, *httpxtest.Clock) *platformEnv{"yandex": yandexEnv, "vk": vkEnv, "meta": metaEnv, "google": googleEnv}[name](t, httpxtest.NewClock())
					store := &audience.FileStore{Dir: t.TempDir()}
					completed := true
					for i, cs := range [][]customer{day1, day2} {
						ids := e.ids(cs...)
						j := job(fmt.Sprintf("2026-11-0%d", i+1), "", e.name, ids)
						ctx, cancel := context.WithCancel(context.Background())
						k := &httpxtest.Killer{After: n, Cancel: cancel}
						var s audience.StateStore = store
						if hard {
							s = killedStore{store, ctx}
						}
						audience.Sync(ctx, e.dest(t, k, 0, false), s, j, audience.Options{})
						cancel()
						if k.Requests() >= n {
							completed = false
						}
						// The rerun, unkilled, converges.
						e.sync(t, store, j, e.dest(t, nil, 0, false), audience.Options{})
						e.check(t, fmt.Sprintf("night %d, killed after request %d", i+1, n), ids)
					}
					if completed || t.Failed() {
						t.Logf("%d kill points", n-1)
						return
					}
				}
			})
		}
	}
}
