package vkads

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
	"github.com/audiencesync/audiencesync/sinks/internal/sinktest"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/sinks/vkads/vkadstest"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

const (
	clientID     = "app-1234"
	clientSecret = "cs-very-secret-0123456789abcdef"
)

func md5hex(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }

// members returns the e-mail identifiers of customers [from, to), hashed with MD5 (VK's
// default), sorted.
func members(from, to int) []audience.Identifier {
	var out []audience.Identifier
	for i := from; i < to; i++ {
		out = append(out, audience.Identifier{Type: audience.TypeEmail, Hash: md5hex(fmt.Sprintf("user%d@example.com", i))})
	}
	return audience.NormaliseIdentifiers(out)
}

func emails(ids []audience.Identifier) []string {
	var out []string
	for _, x := range ids {
		out = append(out, x.Hash)
	}
	sort.Strings(out)
	return out
}

// minus returns a without the identifiers of b.
func minus(a, b []audience.Identifier) []audience.Identifier {
	drop := map[audience.Identifier]bool{}
	for _, x := range b {
		drop[x] = true
	}
	var out []audience.Identifier
	for _, x := range a {
		if !drop[x] {
			out = append(out, x)
		}
	}
	return out
}

type fixture struct {
	srv      *vkadstest.Server
	clk      *httpxtest.Clock
	stateDir string
	cfg      Config
}

func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	srv := vkadstest.NewServer(clientID, clientSecret, "md5")
	t.Cleanup(srv.Close)
	t.Setenv("TEST_VK_SECRET", clientSecret)
	cfg := Config{BaseURL: srv.URL, ClientID: clientID, ClientSecret: secret.Ref{Env: "TEST_VK_SECRET"}}
	if edit != nil {
		edit(&cfg)
	}
	return &fixture{srv: srv, clk: httpxtest.NewClock(), stateDir: t.TempDir(), cfg: cfg}
}

// account is what one pipeline run builds: a new process, same state dir.
func (f *fixture) account(t *testing.T) *Account {
	t.Helper()
	a, err := NewAccount(f.cfg, sinkutil.WithStateDir(f.stateDir), sinkutil.WithClock(f.clk.Now, f.clk.Sleep),
		sinkutil.WithHTTPOptions(httpx.WithRand(func() float64 { return 0 })))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) dest(t *testing.T, target Target) *Destination {
	t.Helper()
	d, err := f.account(t).Destination(target)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func createReq(all []audience.Identifier) audience.Request {
	return audience.Request{Audience: "mattress_no_cover", Platform: Platform, Create: true, Mode: audience.ModeIncremental, Add: all, All: all}
}

func diffReq(id string, add, remove []audience.Identifier) audience.Request {
	return audience.Request{Audience: "mattress_no_cover", Platform: Platform, RemoteID: id, Mode: audience.ModeIncremental, Add: add, Remove: remove}
}

func outcomes(res audience.Result) []string { return sinktest.Outcomes(res) }

func TestCreateDiffNothing(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	target := Target{Type: TypeEmails, Name: "as mattress", Segment: &SegmentTarget{}}
	all := members(0, 2100)

	res, err := f.dest(t, target).Apply(ctx, createReq(all))
	if err != nil {
		t.Fatal(err)
	}
	lists := f.srv.Lists()
	if len(lists) != 1 || lists[0].Name != "as mattress" || lists[0].Type != "emails" {
		t.Fatalf("lists = %+v", lists)
	}
	id := lists[0].ID
	if !res.Created || res.RemoteID != fmt.Sprint(id) || res.Sent != 2100 {
		t.Errorf("Result %v", outcomes(res))
	}
	if diff := cmp.Diff(emails(all), f.srv.Members(id)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	segs := f.srv.Segments()
	if len(segs) != 1 || segs[0].Name != "as mattress" || segs[0].PassCondition != 1 || !cmp.Equal(segs[0].SourceIDs, []int64{id}) {
		t.Errorf("segments = %+v", segs)
	}

	// Next night, a new process (new Account): 10 removed, 5 added; only the diff goes out,
	// additions first; the cached token is reused.
	remove, add := members(0, 10), members(3000, 3005)
	res, err = f.dest(t, target).Apply(ctx, diffReq(res.RemoteID, add, remove))
	if err != nil {
		t.Fatal(err)
	}
	want := []vkadstest.Upload{
		{Name: "as mattress", Type: "emails", Rows: 2100},
		{Name: "as mattress", Type: "emails", Base: id, Rows: 5},
		{Name: "as mattress", Type: "emails", Base: -id, Rows: 10},
	}
	if diff := cmp.Diff(want, f.srv.Uploads()); diff != "" {
		t.Errorf("uploads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(emails(append(minus(all, remove), add...)), f.srv.Members(id)); diff != "" {
		t.Errorf("members after diff (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"add 5 confirmed", "remove 10 confirmed"}, outcomes(res)); diff != "" || res.Created || res.Sent != 15 {
		t.Errorf("Result created %v sent %d; applied (-want +got):\n%s", res.Created, res.Sent, diff)
	}
	// Uploads share a one-a-minute bucket: the removal waited 60s after the addition.
	if w := f.clk.Waits(); !containsDur(w, time.Minute) {
		t.Errorf("waits %v, want a 60s upload wait", w)
	}
	if f.srv.Minted() != 1 || f.srv.LiveTokens() != 1 {
		t.Errorf("minted %d, live %d tokens; want 1 and 1 (cached between runs)", f.srv.Minted(), f.srv.LiveTokens())
	}

	// Third night: no change, nothing sent.
	n := f.srv.Calls()
	res, err = f.dest(t, target).Apply(ctx, diffReq(res.RemoteID, nil, nil))
	if err != nil || f.srv.Calls() != n || res.Requests != 0 {
		t.Errorf("no-change Sync: %+v, %v, %d calls", res, err, f.srv.Calls()-n)
	}
}

func containsDur(ds []time.Duration, d time.Duration) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

func TestBelowMinimumNotCreated(t *testing.T) {
	f := newFixture(t, nil)
	res, err := f.dest(t, Target{Type: TypeEmails}).Apply(context.Background(), createReq(members(0, 1999)))
	if err != nil || !res.BelowMinimum || len(res.Applied) != 0 {
		t.Fatalf("Result below %v, applied %v, err %v: want below the minimum, nothing sent", res.BelowMinimum, outcomes(res), err)
	}
	if len(f.srv.Uploads()) != 0 {
		t.Error("uploaded anyway")
	}
	// And the fake refuses it too.
	c, err := f.account(t).api()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadUsersList(context.Background(), UploadRequest{Name: "x", Type: "emails", File: joinLines(members(0, 10))})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "too_few_entries" {
		t.Errorf("fake accepted a 10-row list: %v", err)
	}
}

func TestWrongTypeRefused(t *testing.T) {
	f := newFixture(t, nil)
	phone := audience.Identifier{Type: audience.TypePhone, Hash: md5hex("79995551111")}
	_, err := f.dest(t, Target{Type: TypeEmails}).Apply(context.Background(), createReq(append(members(0, 2000), phone)))
	if err == nil || !strings.Contains(err.Error(), "a emails list got a phone identifier") || f.srv.Calls() != 0 {
		t.Errorf("err = %v after %d calls", err, f.srv.Calls())
	}
}

// A lost answer to the list creation: VK made the list, the client timed out. The sink lists
// by name instead of uploading again: exactly one list.
func TestCreateTimeoutListsFirst(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HTTP.Timeout = 100 * time.Millisecond })
	// token, list GET, then the creation upload whose answer is late.
	f.srv.Faults.Push(httpxtest.Fault{}, httpxtest.Fault{}, httpxtest.Fault{Delay: 5 * time.Second})
	res, err := f.dest(t, Target{Type: TypeEmails, Segment: &SegmentTarget{}}).Apply(context.Background(), createReq(members(0, 2000)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Lists()); n != 1 || !res.Created || len(f.srv.Uploads()) != 1 || len(f.srv.Segments()) != 1 {
		t.Errorf("%d lists, %d uploads, %d segments, created %v: want one of each", n, len(f.srv.Uploads()), len(f.srv.Segments()), res.Created)
	}
}

func TestFoundByNameNoDuplicate(t *testing.T) {
	f := newFixture(t, nil)
	id := f.srv.AddList("mattress_no_cover", "emails", md5hex("old@example.com"))
	all := members(0, 50) // below 2,000: fine, it is an add to an existing list
	res, err := f.dest(t, Target{Type: TypeEmails}).Apply(context.Background(), createReq(all))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.RemoteID != fmt.Sprint(id) || len(f.srv.Lists()) != 1 {
		t.Errorf("Result %v, lists %+v", outcomes(res), f.srv.Lists())
	}
	if diff := cmp.Diff([]string{"replace 50 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	want := emails(all)
	want = append(want, md5hex("old@example.com"))
	sort.Strings(want)
	if diff := cmp.Diff(want, f.srv.Members(id)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func TestTokenLimitAndCache(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// Five processes without a token cache each mint a token; the sixth is refused.
	f.stateDir = ""
	var err error
	for i := 0; i < 6; i++ {
		var c *Client
		c, err = f.account(t).api()
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListUsersLists(ctx)
		if i < 5 && err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	t.Logf("6th token: %v", err)
	if !errors.Is(err, ErrTokenLimit) || !strings.Contains(err.Error(), "token cache") {
		t.Fatalf("6th token: err = %v", err)
	}
	if strings.Contains(err.Error(), clientSecret) {
		t.Fatalf("error leaks the client secret: %v", err)
	}
	if f.srv.LiveTokens() != 5 {
		t.Errorf("live tokens %d, want 5", f.srv.LiveTokens())
	}
}

func TestTokenCacheFileReusedRefreshedReminted(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	run := func() {
		t.Helper()
		c, err := f.account(t).api()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListUsersLists(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	if f.srv.Minted() != 1 {
		t.Fatalf("minted %d tokens over two runs, want 1", f.srv.Minted())
	}
	path := filepath.Join(f.stateDir, "vk", "token-"+clientID+".json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token cache mode %v, want 0600", st.Mode().Perm())
	}
	// The access token dies (a day later, or revoked): the refresh token renews it, no new slot.
	f.srv.ExpireAccessTokens()
	run()
	if f.srv.Minted() != 1 || f.srv.LiveTokens() != 1 {
		t.Errorf("after expiry: minted %d live %d, want 1 and 1", f.srv.Minted(), f.srv.LiveTokens())
	}
	// Expiry by the clock: the cached token is renewed before use, without a 401 first.
	f.clk.Sleep(ctx, 25*time.Hour)
	run()
	if f.srv.Minted() != 1 {
		t.Errorf("after clock expiry: minted %d, want 1", f.srv.Minted())
	}
	// All tokens deleted: refresh fails, a new token is minted.
	f.srv.RevokeAll()
	run()
	if f.srv.Minted() != 2 || f.srv.LiveTokens() != 1 {
		t.Errorf("after revoke: minted %d live %d, want 2 and 1", f.srv.Minted(), f.srv.LiveTokens())
	}
}

func TestWrongSecretClearErrorWithoutSecret(t *testing.T) {
	f := newFixture(t, nil)
	wrong := "cs-wrong-secret-value-xyz"
	t.Setenv("TEST_VK_SECRET", wrong)
	_, err := f.dest(t, Target{Type: TypeEmails}).Apply(context.Background(), createReq(members(0, 2000)))
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), clientSecret) {
		t.Fatalf("error leaks the secret: %v", err)
	}
	t.Logf("wrong secret: %v", err)
	if f.srv.Calls() != 0 || f.srv.Minted() != 0 {
		t.Errorf("calls %d minted %d after a refused secret", f.srv.Calls(), f.srv.Minted())
	}
	if !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "sinks.vk.client_secret") {
		t.Errorf("error not clear: %v", err)
	}
}

func TestTransientFailuresConverge(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HTTP.MaxAttempts = 8 })
	f.srv.Faults.SetTransientRate(0.10, 7)
	ctx := context.Background()
	target := Target{Type: TypeEmails, Segment: &SegmentTarget{Name: "seg"}}
	want := members(0, 2100)
	res, err := f.dest(t, target).Apply(ctx, createReq(want))
	if err != nil {
		t.Fatal(err)
	}
	for night := 1; night <= 6; night++ {
		remove := want[:20]
		add := members(10000*night, 10000*night+13)
		if res, err = f.dest(t, target).Apply(ctx, diffReq(res.RemoteID, add, remove)); err != nil {
			t.Fatalf("night %d: %v", night, err)
		}
		want = audience.NormaliseIdentifiers(append(append([]audience.Identifier(nil), want[20:]...), add...))
	}
	if n := len(f.srv.Lists()); n != 1 {
		t.Fatalf("%d lists, want 1", n)
	}
	if diff := cmp.Diff(emails(want), f.srv.Members(f.srv.Lists()[0].ID)); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if len(f.srv.Segments()) != 1 || f.srv.Minted() != 1 {
		t.Errorf("segments %d, tokens minted %d; want 1 and 1", len(f.srv.Segments()), f.srv.Minted())
	}
	if f.srv.Faults.Injected() == 0 {
		t.Error("no fault injected: the test proves nothing")
	}
	t.Logf("faults injected: %d, calls served: %d", f.srv.Faults.Injected(), f.srv.Calls())
}

func TestThrottledServerErrorSlow(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HTTP.Timeout = 100 * time.Millisecond })
	f.srv.Faults.Push(
		httpxtest.Fault{Status: 429, RetryAfter: "30"}, // token call
		httpxtest.Fault{Status: 502},                   // token call again
		httpxtest.Fault{Delay: 5 * time.Second},        // token call hangs past the timeout
	)
	res, err := f.dest(t, Target{Type: TypeEmails}).Apply(context.Background(), createReq(members(0, 2000)))
	if err != nil {
		t.Fatal(err)
	}
	// The slow token call was served although the client gave up on it: VK minted a token
	// whose answer was lost, and the retry minted a second one.
	if !res.Created || f.srv.Minted() != 2 {
		t.Errorf("created %v, minted %d; want 2", res.Created, f.srv.Minted())
	}
	if w := f.clk.Waits(); !containsDur(w, 30*time.Second) {
		t.Errorf("waits %v, want the 30s Retry-After among them", w)
	}
}

func TestHashShapeChecked(t *testing.T) {
	f := newFixture(t, nil)
	sum := sha256.Sum256([]byte("a@example.com"))
	bad := audience.Identifier{Type: audience.TypeEmail, Hash: hex.EncodeToString(sum[:])} // SHA-256 in an MD5 list
	_, err := f.dest(t, Target{Type: TypeEmails}).Apply(context.Background(), createReq(append(members(0, 2000), bad)))
	if err == nil || !strings.Contains(err.Error(), "1 identifier(s)") || !strings.Contains(err.Error(), "contacts.vk_hash") {
		t.Fatalf("err = %v", err)
	}
	if f.srv.Calls() != 0 {
		t.Errorf("%d calls made", f.srv.Calls())
	}
}

func TestWritePayloads(t *testing.T) {
	f := newFixture(t, nil)
	d := f.dest(t, Target{Type: TypeEmails, Name: "L", Segment: &SegmentTarget{Name: "S"}})
	a := audience.Identifier{Type: audience.TypeEmail, Hash: md5hex("a@example.com")}
	b := audience.Identifier{Type: audience.TypeEmail, Hash: md5hex("b@example.com")}
	dir := t.TempDir()
	req := createReq(audience.NormaliseIdentifiers(append(members(0, 1998), a, b))) // 2,000: large enough to create
	res, err := d.WritePayloads(context.Background(), req, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 2000 {
		t.Errorf("Sent = %d", res.Sent)
	}
	read := func(dir, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := read(dir, "1-users_lists_create.txt"), strings.Join(emails(req.All), "\n")+"\n"; got != want {
		t.Errorf("create file: %d bytes, want %d", len(got), len(want))
	}
	if got, want := read(dir, "1-users_lists_create.json"), "{\n  \"file\": \"1-users_lists_create.txt\",\n  \"name\": \"L\",\n  \"type\": \"emails\"\n}\n"; got != want {
		t.Errorf("create fields:\n%s\nwant:\n%s", got, want)
	}
	wantSeg := `{
  "name": "S",
  "pass_condition": 1,
  "relations": [
    {
      "object_type": "remarketing_users_list",
      "params": {
        "source_id": 0,
        "type": "positive"
      }
    }
  ]
}
`
	if got := read(dir, "2-segments_create.json"); got != wantSeg {
		t.Errorf("segment:\n%s\nwant:\n%s", got, wantSeg)
	}
	dir2 := t.TempDir()
	if _, err := d.WritePayloads(context.Background(), diffReq("77", []audience.Identifier{b}, []audience.Identifier{a}), dir2); err != nil {
		t.Fatal(err)
	}
	if got := read(dir2, "2-users_lists_remove.txt"); got != a.Hash+"\n" {
		t.Errorf("remove file %q", got)
	}
	if got := read(dir2, "1-users_lists_add.json"); !strings.Contains(got, `"base": 77`) {
		t.Errorf("add fields %s", got)
	}
	if got := read(dir2, "2-users_lists_remove.json"); !strings.Contains(got, `"base": -77`) {
		t.Errorf("remove fields %s", got)
	}
	if f.srv.Calls() != 0 {
		t.Errorf("dry run made %d calls", f.srv.Calls())
	}
}

func TestValidate(t *testing.T) {
	err := Target{Type: "phonez"}.Validate("audiences[2].destinations.vk")
	if err == nil || err.Error() != `audiences[2].destinations.vk.type: unknown type "phonez" (known: phones, emails)` {
		t.Errorf("Target.Validate = %v", err)
	}
	if err := (Target{}).Validate("x"); err == nil || !strings.HasPrefix(err.Error(), "x.type: required") {
		t.Errorf("Target.Validate = %v", err)
	}
	t.Setenv("TEST_VK_SECRET", clientSecret)
	ok := Config{ClientID: "c", ClientSecret: secret.Ref{Env: "TEST_VK_SECRET"}}
	if err := ok.Validate("sinks.vk"); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if err := (Config{}).ValidateSettings("sinks.vk"); err != nil {
		t.Errorf("settings of an empty block (dry run): %v", err)
	}
	sinktest.RefusedAll(t, "sinks.vk", map[string]Config{
		"sinks.vk.client_id: required":            Config{ClientSecret: ok.ClientSecret},
		"sinks.vk.client_secret: no secret":       Config{ClientID: "c"},
		"sinks.vk.hash: unknown algorithm \"sha1": Config{ClientID: "c", ClientSecret: ok.ClientSecret, Hash: "sha1"},
		"sinks.vk.hash: \"none\" is not allowed":  Config{ClientID: "c", ClientSecret: ok.ClientSecret, Hash: "none"},
		"sinks.vk.http.rate_per_sec:":             Config{ClientID: "c", ClientSecret: ok.ClientSecret, HTTP: httpx.Config{RatePerSec: -1}},
	})
}

func TestRateLimitHeadersHonoured(t *testing.T) {
	f := newFixture(t, nil)
	hdr := http.Header{}
	hdr.Set("X-RateLimit-RPS-Remaining", "0")
	f.srv.Faults.Push(httpxtest.Fault{Header: hdr}) // the token answer says: no requests left this second
	if _, err := f.dest(t, Target{Type: TypeEmails}).Apply(context.Background(), createReq(members(0, 2000))); err != nil {
		t.Fatal(err)
	}
	// A second audience: its list GET answer says the second is used up; the upload that
	// follows (another HTTP client of the same account) pauses 1s.
	hdr2 := http.Header{}
	hdr2.Set("X-RateLimit-RPS-Remaining", "0")
	f.srv.Faults.Push(httpxtest.Fault{Header: hdr2})
	n := len(f.clk.Waits())
	d := f.dest(t, Target{Type: TypeEmails, Name: "second"})
	if _, err := d.Apply(context.Background(), createReq(members(0, 2000))); err != nil {
		t.Fatal(err)
	}
	if w := f.clk.Waits()[n:]; !containsDur(w, time.Second) {
		t.Errorf("waits %v, want a 1s pause after X-RateLimit-RPS-Remaining: 0", w)
	}
}

func TestAgencyGrant(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AgencyClientName = "client-login" })
	res, err := f.dest(t, Target{Type: TypeEmails}).Apply(context.Background(), createReq(members(0, 2000)))
	if err != nil || !res.Created || f.srv.Minted() != 1 {
		t.Fatalf("Sync = %+v, %v; minted %d", res, err, f.srv.Minted())
	}
	// The cache is bound to the agency client: an account for the plain client ignores it.
	f.cfg.AgencyClientName = ""
	c, err := f.account(t).api()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListUsersLists(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.srv.Minted() != 2 {
		t.Errorf("minted %d, want 2 (a cached agency token must not be used for another client)", f.srv.Minted())
	}
}
