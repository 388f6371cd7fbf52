package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinktest"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/sinks/meta/metatest"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/google/go-cmp/cmp"
)

const (
	testToken  = "EAAGtesttokenvalue1234567890"
	testSecret = "appsecret-0123456789abcdef"
	account    = "1234567"
)

func h(s string) string { return sinktest.SHA256(s) }

// members returns the identifiers of customers [from, to): e-mail user<i>@example.com and
// phone 1555000<i>, hashed, sorted.
func members(from, to int) []audience.Identifier {
	var out []audience.Identifier
	for i := from; i < to; i++ {
		out = append(out, audience.Identifier{Type: audience.TypeEmail, Hash: h(fmt.Sprintf("user%d@example.com", i))},
			audience.Identifier{Type: audience.TypePhone, Hash: h(fmt.Sprintf("1555000%04d", i))})
	}
	return audience.NormaliseIdentifiers(out)
}

func hashesOf(ids []audience.Identifier, typ string) []string {
	var out []string
	for _, x := range ids {
		if x.Type == typ {
			out = append(out, x.Hash)
		}
	}
	sort.Strings(out)
	return out
}

func emailsOf(ids []audience.Identifier) []string { return hashesOf(ids, audience.TypeEmail) }
func phonesOf(ids []audience.Identifier) []string { return hashesOf(ids, audience.TypePhone) }

// noSleep records the waits instead of sleeping.
type noSleep struct{ waits []time.Duration }

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.waits = append(n.waits, d)
	return ctx.Err()
}

// newFake starts the fake Graph API for the test's token and app secret; it stops with the test.
func newFake(t testing.TB) *metatest.Server {
	fake := metatest.New(testToken, testSecret)
	t.Cleanup(fake.Close)
	return fake
}

func testConfig(t testing.TB, fake *metatest.Server, mod func(*Config)) Config {
	t.Helper()
	t.Setenv("TEST_META_TOKEN", testToken)
	t.Setenv("TEST_META_SECRET", testSecret)
	cfg := Config{
		BaseURL:     fake.URL,
		AccessToken: secret.Ref{Env: "TEST_META_TOKEN"},
		AppSecret:   secret.Ref{Env: "TEST_META_SECRET"},
		HTTP:        httpx.Config{RatePerSec: 1000, Burst: 10},
	}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

// newAccount returns an account on the fake and its client (built now, as Apply would).
func newAccount(t testing.TB, fake *metatest.Server, mod func(*Config), opts ...httpx.Option) (*Account, *Client, *noSleep) {
	t.Helper()
	ns := &noSleep{}
	a, err := NewAccount(testConfig(t, fake, mod), sinkutil.WithHTTPOptions(append([]httpx.Option{httpx.WithClock(time.Now, ns.sleep)}, opts...)...))
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.api()
	if err != nil {
		t.Fatal(err)
	}
	return a, c, ns
}

func newDest(t *testing.T, a *Account, tgt Target) *Destination {
	t.Helper()
	d, err := a.Destination(tgt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func outcomes(res audience.Result) []string { return sinktest.Outcomes(res) }

func diffReq(name, id string, add, remove, all []audience.Identifier) audience.Request {
	return audience.Request{Audience: name, Platform: Platform, RemoteID: id, Mode: audience.ModeIncremental, Add: add, Remove: remove, All: all}
}

func createReq(name string, all []audience.Identifier) audience.Request {
	return audience.Request{Audience: name, Platform: Platform, Create: true, Mode: audience.ModeIncremental, Add: all, All: all}
}

func TestAppSecretProofKnownVector(t *testing.T) {
	// The RFC 4231-style example from Wikipedia's HMAC article.
	got := AppSecretProof("key", "The quick brown fox jumps over the lazy dog")
	if want := "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Fatalf("AppSecretProof = %s, want %s", got, want)
	}
}

func TestCreateIfAbsentThenOnlyDiffs(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, nil)
	d := newDest(t, a, Target{AdAccountID: "act_" + account, Description: "bought twice"})
	ctx := context.Background()

	first := members(0, 5) // 10 identifiers
	res, err := d.Apply(ctx, createReq("repeat_buyers", first))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.RemoteID == "" || res.Sent != 10 || res.Accepted != 10 || res.Extra["num_received"] != 10 || res.Extra["num_invalid_entries"] != 0 {
		t.Fatalf("first run: created %v id %q sent %d accepted %d extra %v", res.Created, res.RemoteID, res.Sent, res.Accepted, res.Extra)
	}
	if diff := cmp.Diff([]string{"add 10 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	auds := fake.Audiences(account)
	if len(auds) != 1 || auds[0].Name != "repeat_buyers" || auds[0].Subtype != "CUSTOM" || auds[0].CustomerFileSource != "USER_PROVIDED_ONLY" || auds[0].Description != "bought twice" {
		t.Fatalf("audiences after first run = %+v", auds)
	}
	// Second night: customer 5 joins, customer 1 leaves: 2 identifiers each way.
	today := audience.NormaliseIdentifiers(append(members(0, 1), members(2, 6)...))
	res2, err := d.Apply(ctx, diffReq("repeat_buyers", res.RemoteID, members(5, 6), members(1, 2), today))
	if err != nil {
		t.Fatal(err)
	}
	if res2.Created || res2.Sent != 4 || res2.Requests != 2 {
		t.Fatalf("second run: sent %d in %d requests, want 4 in 2", res2.Sent, res2.Requests)
	}
	if diff := cmp.Diff([]string{"add 2 confirmed", "remove 2 confirmed"}, outcomes(res2)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	want := map[string]int{"GET customaudiences": 1, "POST customaudiences": 1, "POST users": 2, "DELETE users": 1}
	if diff := cmp.Diff(want, fake.Requests()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	emails, phones, _ := fake.Members(res.RemoteID)
	if diff := cmp.Diff(emailsOf(today), emails); diff != "" {
		t.Fatalf("remote e-mails (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(phonesOf(today), phones); diff != "" {
		t.Fatalf("remote phones (-want +got):\n%s", diff)
	}
}

func TestFindsExistingByNameAcrossPagesAndReplaces(t *testing.T) {
	fake := newFake(t)
	fake.SetPageSize(10)
	for i := 0; i < 23; i++ {
		fake.AddAudience(account, fmt.Sprintf("other_%d", i))
	}
	id := fake.AddAudience(account, "vip")
	stale := members(99, 100)
	fake.Seed(id, emailsOf(stale), phonesOf(stale))
	a, _, _ := newAccount(t, fake, nil)
	d := newDest(t, a, Target{AdAccountID: account, Name: "vip"})
	all := members(0, 3)
	res, err := d.Apply(context.Background(), createReq("vip_customers", all))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.RemoteID != id {
		t.Fatalf("created %v id %q, want the existing audience %s", res.Created, res.RemoteID, id)
	}
	// 24 audiences in pages of 10: three list calls; no creation; the unknown remote content
	// is replaced, so the stale identifiers are gone.
	want := map[string]int{"GET customaudiences": 3, "POST usersreplace": 1}
	if diff := cmp.Diff(want, fake.Requests()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"replace 6 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	emails, _, _ := fake.Members(id)
	if diff := cmp.Diff(emailsOf(all), emails); diff != "" {
		t.Fatalf("remote e-mails (-want +got):\n%s", diff)
	}
}

func TestDuplicateNamesRefused(t *testing.T) {
	fake := newFake(t)
	x, y := fake.AddAudience(account, "dup"), fake.AddAudience(account, "dup")
	a, _, _ := newAccount(t, fake, nil)
	_, err := newDest(t, a, Target{AdAccountID: account}).Apply(context.Background(), createReq("dup", members(0, 1)))
	if err == nil || !strings.Contains(err.Error(), "ids "+x+", "+y) || !strings.Contains(err.Error(), "destinations.meta.id") {
		t.Fatalf("err = %v", err)
	}
	if n := fake.Requests()["POST users"] + fake.Requests()["POST usersreplace"]; n != 0 {
		t.Errorf("%d uploads to an ambiguous audience", n)
	}
}

// A lost answer to the creation: Meta made the audience, the client timed out. The sink lists
// by name instead of creating again: exactly one audience, filled.
func TestCreateTimeoutListsFirst(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, func(c *Config) { c.HTTP.Timeout = 100 * time.Millisecond })
	d := newDest(t, a, Target{AdAccountID: account})
	fake.SetLatencyFor("POST customaudiences", 2*time.Second)
	res, err := d.Apply(context.Background(), createReq("slow", members(0, 2)))
	if err != nil {
		t.Fatal(err)
	}
	auds := fake.Audiences(account)
	if len(auds) != 1 || !res.Created || res.RemoteID != auds[0].ID || fake.Requests()["POST customaudiences"] != 1 {
		t.Fatalf("%d audiences, %d creates, created %v: want exactly one", len(auds), fake.Requests()["POST customaudiences"], res.Created)
	}
	if e, p := fake.Size(auds[0].ID); e != 2 || p != 2 {
		t.Errorf("audience holds %d e-mails, %d phones; want 2 and 2", e, p)
	}
}

func TestUnknownIDFails(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, nil)
	d := newDest(t, a, Target{AdAccountID: account, ID: "999"})
	_, err := d.Apply(context.Background(), createReq("a", members(0, 1)))
	if err == nil || !strings.Contains(err.Error(), "not in ad account act_1234567") {
		t.Fatalf("err = %v", err)
	}
	if n := fake.Requests()["POST customaudiences"]; n != 0 {
		t.Fatalf("created %d audiences for an unknown id", n)
	}
}

func TestBatchesAndSessions(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, nil)
	id := fake.AddAudience(account, "big")
	d := newDest(t, a, Target{AdAccountID: account, ID: id})
	// 12,501 customers = 25,002 identifiers at 10,000 a request: 10,000 + 10,000 + 5,002.
	all := members(0, 12501)
	req := audience.Request{Audience: "big", Platform: Platform, RemoteID: id, Mode: audience.ModeReplace, All: all, Add: all}
	res, err := d.Apply(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 3 || res.Sent != 25002 || fake.MaxRowsSeen() != 10000 {
		t.Fatalf("%d requests, %d sent, max rows %d", res.Requests, res.Sent, fake.MaxRowsSeen())
	}
	ss := fake.Sessions()
	want := metatest.SessionLog{AudienceID: id, Op: "replace", SessionID: d.sessionID(req, step{op: OpReplace, ids: all}),
		Batches: []int{10000, 10000, 5002}, Estimated: 25002, Closed: true}
	if len(ss) != 1 {
		t.Fatalf("%d sessions", len(ss))
	}
	if diff := cmp.Diff(want, ss[0]); diff != "" {
		t.Fatalf("session (-want +got):\n%s", diff)
	}
	if e, p := fake.Size(id); e != 12501 || p != 12501 {
		t.Fatalf("audience size = %d e-mails, %d phones; want 12501 each", e, p)
	}
}

func TestSmallBatchSizeSessionFields(t *testing.T) {
	fake := newFake(t)
	fake.RecordBodies()
	a, _, _ := newAccount(t, fake, func(c *Config) { c.BatchSize = 3 })
	id := fake.AddAudience(account, "s")
	d := newDest(t, a, Target{AdAccountID: account})
	add := members(0, 3) // 6 identifiers: e-mails first, then phones
	req := diffReq("s", id, add, nil, add)
	if _, err := d.Apply(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	sid := d.sessionID(req, step{op: OpAdd, ids: add})
	var got []string
	for _, b := range fake.Bodies() {
		got = append(got, b.Session)
	}
	want := []string{
		fmt.Sprintf(`{"session_id":%d,"batch_seq":1,"last_batch_flag":false,"estimated_num_total":6}`, sid),
		fmt.Sprintf(`{"session_id":%d,"batch_seq":2,"last_batch_flag":true,"estimated_num_total":6}`, sid),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("sessions (-want +got):\n%s", diff)
	}
	e, p := add[0].Hash, add[3].Hash
	if got := fake.Bodies()[0].Payload; !strings.HasPrefix(got, `{"schema":["EMAIL","PHONE"],"data":[["`+e+`",""],`) {
		t.Fatalf("payload = %.200s", got)
	}
	if got := fake.Bodies()[1].Payload; !strings.HasPrefix(got, `{"schema":["EMAIL","PHONE"],"data":[["","`+p+`"],`) {
		t.Fatalf("payload = %.200s", got)
	}
}

// Session ids come from the content: the same upload from the same state is the same
// session; another operation, other identifiers or another audience is another session.
func TestSessionIDFromContent(t *testing.T) {
	acct, err := NewAccount(Config{}, sinkutil.WithoutCredentials())
	if err != nil {
		t.Fatal(err)
	}
	d := newDest(t, acct, Target{AdAccountID: account})
	req := diffReq("vip", "1", members(0, 2), nil, members(0, 2))
	s := step{op: OpAdd, ids: members(0, 2)}
	a := d.sessionID(req, s)
	if a != d.sessionID(req, step{op: OpAdd, ids: members(0, 2)}) {
		t.Fatal("same content, different session")
	}
	other := req
	other.Audience = "other"
	for _, b := range []int64{
		d.sessionID(req, step{op: OpRemove, ids: members(0, 2)}),
		d.sessionID(req, step{op: OpAdd, ids: members(0, 3)}),
		d.sessionID(other, s),
	} {
		if b == a {
			t.Fatal("a different upload reused the session id")
		}
	}
	if a <= 0 || a >= 1<<53 {
		t.Fatalf("session id %d outside 1..2^53", a)
	}
}

// A repeated session is a replay on Meta: nothing applied. A rerun whose plan changed must
// therefore use a new session, and the rerun of an unchanged plan changes nothing.
func TestRepeatedSessionIsReplay(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, nil)
	id := fake.AddAudience(account, "r")
	d := newDest(t, a, Target{AdAccountID: account})
	req := diffReq("r", id, members(0, 2), nil, members(0, 2))
	for i := 0; i < 2; i++ {
		if _, err := d.Apply(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	ss := fake.Sessions()
	if len(ss) != 1 || ss[0].Replayed != 1 {
		t.Fatalf("sessions %+v: want one session, replayed once", ss)
	}
	// Changed data the same night: a new session, applied.
	if _, err := d.Apply(context.Background(), diffReq("r", id, members(2, 3), nil, members(0, 3))); err != nil {
		t.Fatal(err)
	}
	if e, p := fake.Size(id); e != 3 || p != 3 || len(fake.Sessions()) != 2 {
		t.Errorf("size %d/%d in %d sessions, want 3/3 in 2", e, p, len(fake.Sessions()))
	}
}

func TestThrottleAnd5xxRetried(t *testing.T) {
	fake := newFake(t)
	a, c, ns := newAccount(t, fake, nil)
	id := fake.AddAudience(account, "r")
	d := newDest(t, a, Target{AdAccountID: account})
	fake.Fail("/users", metatest.Throttle613(), metatest.ServerError(503), metatest.TooManyRequests(), metatest.Fault{HTTPStatus: 400, Code: 80003, Message: "custom audience throttle"})
	res, err := d.Apply(context.Background(), diffReq("r", id, members(0, 1), nil, members(0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.Requests()["POST users"]; got != 5 {
		t.Fatalf("POST users reached the fake %d times, want 4 faults + 1 success", got)
	}
	if st := c.Stats(); st.Retries != 4 || len(ns.waits) != 4 {
		t.Fatalf("stats %+v, waits %v; want 4 retries", st, ns.waits)
	}
	if res.Accepted != 2 {
		t.Fatalf("accepted %d", res.Accepted)
	}
}

func TestCode100NotRetried(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, nil)
	id := fake.AddAudience(account, "r")
	d := newDest(t, a, Target{AdAccountID: account})
	for _, f := range []metatest.Fault{metatest.InvalidParam100(), {HTTPStatus: 400, Code: 1713230, Message: "terms not accepted"}} {
		before := fake.Requests()["POST users"]
		fake.Fail("/users", f)
		res, err := d.Apply(context.Background(), diffReq("r", id, members(0, 1), nil, members(0, 1)))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != f.Code || ae.Retryable() || !IsNotRetryable(err) {
			t.Fatalf("code %d: err = %v", f.Code, err)
		}
		if got := fake.Requests()["POST users"] - before; got != 1 {
			t.Fatalf("code %d: sent %d times, want once", f.Code, got)
		}
		if diff := cmp.Diff([]string{"add 2 not_sent"}, outcomes(res)); diff != "" {
			t.Errorf("a refused batch is not applied (-want +got):\n%s", diff)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	fake := metatest.New(testToken, "a-different-app-secret")
	defer fake.Close()
	a, _, _ := newAccount(t, fake, nil)
	_, err := newDest(t, a, Target{AdAccountID: account}).Apply(context.Background(), createReq("x", members(0, 1)))
	if err == nil || !strings.Contains(err.Error(), "appsecret_proof") {
		t.Fatalf("err = %v, want the fake's appsecret_proof rejection", err)
	}
	// A platform that echoes the token back.
	fake2 := metatest.New(testToken, testSecret)
	defer fake2.Close()
	a2, _, _ := newAccount(t, fake2, nil)
	id := fake2.AddAudience(account, "y")
	fake2.Fail("/users", metatest.Fault{HTTPStatus: 400, Code: 100, Message: "bad token " + testToken + " proof " + AppSecretProof(testSecret, testToken) + " secret " + testSecret})
	_, err2 := newDest(t, a2, Target{AdAccountID: account}).Apply(context.Background(), diffReq("y", id, members(0, 1), nil, members(0, 1)))
	for _, e := range []error{err, err2} {
		for _, s := range []string{testToken, testSecret, AppSecretProof(testSecret, testToken)} {
			if e == nil || strings.Contains(e.Error(), s) {
				t.Fatalf("error leaks a secret: %v", e)
			}
		}
	}
	if !strings.Contains(err2.Error(), httpx.Redacted) {
		t.Fatalf("err2 = %v, want the echoed token redacted", err2)
	}
}

func TestMalformedHashSendsNothing(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, nil)
	d := newDest(t, a, Target{AdAccountID: account})
	bad := append(members(0, 1), audience.Identifier{Type: audience.TypeEmail, Hash: "alice@example.com"})
	_, err := d.Apply(context.Background(), createReq("x", bad))
	if err == nil || !strings.Contains(err.Error(), "1 identifier(s)") || strings.Contains(err.Error(), "alice") {
		t.Fatalf("err = %v", err)
	}
	up := members(0, 1)
	up[1].Hash = strings.ToUpper(up[1].Hash) // uppercase hex is not what Meta expects either
	if _, err := d.Apply(context.Background(), createReq("x", up)); err == nil {
		t.Fatal("uppercase hash accepted")
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("requests sent: %v", fake.Requests())
	}
}

// Meta refuses some rows of a batch: which ones it does not say, so the batch stays
// unconfirmed (the next run sends it again) and the refusals are counted.
func TestInvalidEntriesLeaveTheBatchUnconfirmed(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, func(c *Config) { c.BatchSize = 4 })
	id := fake.AddAudience(account, "x")
	d := newDest(t, a, Target{AdAccountID: account})
	add := members(0, 4) // 8 identifiers: [e0..e3], [p0..p3] by sort order
	fake.MarkInvalid(add[1].Hash)
	res, err := d.Apply(context.Background(), diffReq("x", id, add, nil, add))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"add 4 unconfirmed", "add 4 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if res.Sent != 8 || res.Accepted != 7 || res.Rejected != 1 || res.RejectReasons["invalid_entry"] != 1 || res.Extra["num_invalid_entries"] != 1 {
		t.Errorf("sent %d accepted %d rejected %d reasons %v extra %v", res.Sent, res.Accepted, res.Rejected, res.RejectReasons, res.Extra)
	}
}

func TestWritePayloadsEqualsWhatApplySends(t *testing.T) {
	fake := newFake(t)
	fake.RecordBodies()
	a, _, _ := newAccount(t, fake, func(c *Config) { c.BatchSize = 4 })
	id := fake.AddAudience(account, "w")
	fake.Seed(id, emailsOf(members(20, 22)), nil)
	d := newDest(t, a, Target{AdAccountID: account})
	rm := audience.NormaliseIdentifiers([]audience.Identifier{members(20, 21)[0], members(21, 22)[0]}) // their e-mails
	req := diffReq("w", id, members(0, 5), rm, members(0, 5))
	dir := t.TempDir()
	dres, err := d.WritePayloads(context.Background(), req, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("dry run sent requests: %v", fake.Requests())
	}
	res, err := d.Apply(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// 10 additions in 3 requests (4, 4, 2) and 2 removals in 1.
	if dres.Sent != res.Sent || dres.Requests != res.Requests || dres.Sent != 12 || dres.Requests != 4 {
		t.Fatalf("dry run %d rows in %d requests, apply %d in %d; want 12 in 4", dres.Sent, dres.Requests, res.Sent, res.Requests)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	sent := fake.Bodies()
	if len(files) != len(sent) {
		t.Fatalf("%d files, %d requests", len(files), len(sent))
	}
	for i, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), testToken) || strings.Contains(string(b), "appsecret_proof") {
			t.Fatalf("%s holds credentials", f)
		}
		var w struct {
			Method, Path string
			Params       struct{ Payload, Session json.RawMessage }
		}
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		if w.Method != sent[i].Method || w.Path != sent[i].Path || string(w.Params.Payload) != sent[i].Payload || string(w.Params.Session) != sent[i].Session {
			t.Fatalf("%s differs from request %d:\nfile %s %s %s %s\nsent %+v", f, i, w.Method, w.Path, w.Params.Payload, w.Params.Session, sent[i])
		}
	}
}

func TestWritePayloadsForNewAudience(t *testing.T) {
	fake := newFake(t)
	a, err := NewAccount(Config{}, sinkutil.WithoutCredentials()) // a dry run needs no secrets
	if err != nil {
		t.Fatal(err)
	}
	d := newDest(t, a, Target{AdAccountID: account, Name: "new one"})
	dir := t.TempDir()
	res, err := d.WritePayloads(context.Background(), createReq("n", members(0, 1)), dir)
	if err != nil || !res.Created || res.Requests != 2 || len(fake.Requests()) != 0 {
		t.Fatalf("created %v requests %d err %v, fake saw %v", res.Created, res.Requests, err, fake.Requests())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "meta-0001-create.json"))
	want := `{"method":"POST","params":{"customer_file_source":"USER_PROVIDED_ONLY","name":"new one","subtype":"CUSTOM"},"path":"/v25.0/act_1234567/customaudiences"}` + "\n"
	if string(b) != want {
		t.Fatalf("create file = %s\nwant %s", b, want)
	}
	b2, _ := os.ReadFile(filepath.Join(dir, "meta-0002-add.json"))
	if !strings.HasPrefix(string(b2), `{"method":"POST","path":"/v25.0/{new_audience_id}/users","params":{"payload":{"schema":["EMAIL","PHONE"]`) {
		t.Fatalf("add file = %.200s", b2)
	}
	if _, err := d.Apply(context.Background(), createReq("n", members(0, 1))); !errors.Is(err, sinkutil.ErrDryRun) {
		t.Fatalf("a dry-run account sent: %v", err)
	}
}

// A replace that failed at its third batch changed nothing (Meta applies a replace at its last
// batch); the rerun of the same plan sends the same session: batches 1 and 2 are replays.
func TestRerunOfSamePlanContinuesTheSession(t *testing.T) {
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, func(c *Config) { c.BatchSize = 2 })
	id := fake.AddAudience(account, "r")
	old := members(50, 51)
	fake.Seed(id, emailsOf(old), phonesOf(old))
	d := newDest(t, a, Target{AdAccountID: account})
	all := audience.NormaliseIdentifiers(append(members(0, 3), members(3, 4)[0])) // 7 identifiers: batches 2, 2, 2, 1
	req := audience.Request{Audience: "r", Platform: Platform, RemoteID: id, Mode: audience.ModeReplace, All: all}
	fake.FailAt("/usersreplace", 3, metatest.InvalidParam100())
	res, err := d.Apply(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "batch 3 of 4") || len(res.Applied) != 0 {
		t.Fatalf("err = %v, applied %v: want the failure and nothing applied", err, outcomes(res))
	}
	if emails, _, _ := fake.Members(id); len(emails) != 1 || emails[0] != old[0].Hash {
		t.Fatalf("a half-done replace changed the audience: %v", emails)
	}
	if _, err := d.Apply(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	ss := fake.Sessions()
	if len(ss) != 1 || fmt.Sprint(ss[0].Batches) != "[2 2 2 1]" || ss[0].Replayed != 2 || !ss[0].Closed {
		t.Fatalf("sessions = %+v, want one session of 4 batches with 2 replays", ss)
	}
	emails, _, _ := fake.Members(id)
	if diff := cmp.Diff(emailsOf(all), emails); diff != "" {
		t.Fatalf("e-mails (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Setenv("TEST_META_TOKEN", testToken)
	t.Setenv("TEST_META_SECRET", testSecret)
	ok := Config{AccessToken: secret.Ref{Env: "TEST_META_TOKEN"}, AppSecret: secret.Ref{Env: "TEST_META_SECRET"}}
	if err := ok.Validate("sinks.meta"); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(*Config)) Config { return sinktest.Mod(ok, f) }
	sinktest.RefusedAll(t, "sinks.meta", map[string]Config{
		"sinks.meta.batch_size: 10001 is outside 1..10000":                               mod(func(c *Config) { c.BatchSize = 10001 }),
		`sinks.meta.api_version: "25" is not a Graph API version`:                        mod(func(c *Config) { c.APIVersion = "25" }),
		`sinks.meta.customer_file_source: unknown value "ME" (known: USER_PROVIDED_ONLY`: mod(func(c *Config) { c.CustomerFileSource = "ME" }),
		"sinks.meta.app_secret: no secret source":                                        mod(func(c *Config) { c.AppSecret = secret.Ref{} }),
		"sinks.meta.base_url:":                               mod(func(c *Config) { c.BaseURL = "graph.facebook.com" }),
		"sinks.meta.http.rate_per_sec: must not be negative": mod(func(c *Config) { c.HTTP.RatePerSec = -1 }),
	})
	sinktest.RefusedAll(t, "audiences[2].destinations.meta", map[string]Target{
		"audiences[2].destinations.meta.ad_account_id: missing":          Target{},
		`audiences[2].destinations.meta.ad_account_id: "act_12x" is not`: Target{AdAccountID: "act_12x"},
		`audiences[2].destinations.meta.id: "abc" is not`:                Target{AdAccountID: "12", ID: "abc"},
	})
}

func TestYAMLKeys(t *testing.T) {
	sinktest.YAMLKeys(t, `
config:
  base_url: https://graph.example
  api_version: v26.0
  access_token: {env: META_TOKEN}
  app_secret: {file: /run/secrets/meta}
  customer_file_source: PARTNER_PROVIDED_ONLY
  batch_size: 5000
  http: {rate_per_sec: 2, timeout: 10s, max_attempts: 3}
target:
  ad_account_id: act_42
  id: "99"
  name: VIP
  description: top spenders
`, Config{BaseURL: "https://graph.example", APIVersion: "v26.0", AccessToken: secret.Ref{Env: "META_TOKEN"}, AppSecret: secret.Ref{File: "/run/secrets/meta"},
		CustomerFileSource: "PARTNER_PROVIDED_ONLY", BatchSize: 5000, HTTP: httpx.Config{RatePerSec: 2, Timeout: 10 * time.Second, MaxAttempts: 3}},
		Target{AdAccountID: "act_42", ID: "99", Name: "VIP", Description: "top spenders"})
}

func TestNetworkErrorHidesToken(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	a, _, _ := newAccount(t, fake, func(c *Config) { c.HTTP.MaxAttempts = 2 })
	fake.Close() // connection refused from now on
	_, err := newDest(t, a, Target{AdAccountID: account}).Apply(context.Background(), createReq("x", members(0, 1)))
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	for _, s := range []string{testToken, testSecret, AppSecretProof(testSecret, testToken), "access_token="} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error leaks %q: %v", s, err)
		}
	}
}
