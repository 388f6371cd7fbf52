package meta

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/audiencesync/audiencesync/sinks/meta/metatest"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

const (
	testToken  = "EAAGtesttokenvalue1234567890"
	testSecret = "appsecret-0123456789abcdef"
	account    = "1234567"
)

func h(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// member i has e-mail user<i>@example.com and phone 1555000<i>, hashed.
func member(i int) audience.Member {
	e, p := h(fmt.Sprintf("user%d@example.com", i)), h(fmt.Sprintf("1555000%04d", i))
	return audience.Member{Key: h(e + p), Email: e, Phone: p}
}

func members(from, to int) []audience.Member {
	var out []audience.Member
	for i := from; i < to; i++ {
		out = append(out, member(i))
	}
	return out
}

func emailsOf(ms []audience.Member) []string {
	var out []string
	for _, m := range ms {
		if m.Email != "" {
			out = append(out, m.Email)
		}
	}
	sort.Strings(out)
	return out
}

func phonesOf(ms []audience.Member) []string {
	var out []string
	for _, m := range ms {
		if m.Phone != "" {
			out = append(out, m.Phone)
		}
	}
	sort.Strings(out)
	return out
}

// noSleep records the waits instead of sleeping.
type noSleep struct{ waits []time.Duration }

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.waits = append(n.waits, d)
	return ctx.Err()
}

func newClient(t *testing.T, fake *metatest.Server, mod func(*Config)) (*Client, *noSleep) {
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
	ns := &noSleep{}
	c, err := NewClient(cfg, WithHTTPOptions(httpx.WithClock(time.Now, ns.sleep)))
	if err != nil {
		t.Fatal(err)
	}
	return c, ns
}

func newDest(t *testing.T, c *Client, tgt Target) *Destination {
	t.Helper()
	d, err := NewDestination(c, tgt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAppSecretProofKnownVector(t *testing.T) {
	// The RFC 4231-style example from Wikipedia's HMAC article.
	got := AppSecretProof("key", "The quick brown fox jumps over the lazy dog")
	if want := "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Fatalf("AppSecretProof = %s, want %s", got, want)
	}
}

func TestCreateIfAbsentThenOnlyDiffs(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	d := newDest(t, c, Target{AdAccountID: "act_" + account, Description: "bought twice"})
	ctx := context.Background()

	first := members(0, 5)
	res, err := d.Sync(ctx, audience.SyncRequest{Audience: "repeat_buyers", RunDate: "2026-11-26", BatchID: "b1", Mode: audience.ModeIncremental, Add: first, All: first})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.RemoteID == "" || res.Sent != 5 || res.Accepted != 5 || res.Extra["num_received"] != 5 || res.Extra["num_invalid_entries"] != 0 {
		t.Fatalf("first run result = %+v", res)
	}
	auds := fake.Audiences(account)
	if len(auds) != 1 || auds[0].Name != "repeat_buyers" || auds[0].Subtype != "CUSTOM" || auds[0].CustomerFileSource != "USER_PROVIDED_ONLY" || auds[0].Description != "bought twice" {
		t.Fatalf("audiences after first run = %+v", auds)
	}
	// Second night: member 5 joins, member 1 leaves.
	today := append(members(0, 1), members(2, 6)...)
	res2, err := d.Sync(ctx, audience.SyncRequest{Audience: "repeat_buyers", RunDate: "2026-11-27", BatchID: "b2", RemoteID: res.RemoteID, Mode: audience.ModeIncremental,
		Add: members(5, 6), Remove: members(1, 2), All: today})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Created || res2.Sent != 2 || res2.Requests != 2 {
		t.Fatalf("second run result = %+v, want 2 rows in 2 requests", res2)
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

func TestChangedPhoneKeepsEmail(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	id := fake.AddAudience(account, "a")
	old := member(1)
	fake.Seed(id, []string{old.Email}, []string{old.Phone})
	d := newDest(t, c, Target{AdAccountID: account})
	changed := audience.Member{Email: old.Email, Phone: h("15559999999")}
	changed.Key = h(changed.Email + changed.Phone)
	if _, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "a", BatchID: "x", RemoteID: id, Mode: audience.ModeIncremental,
		Add: []audience.Member{changed}, Remove: []audience.Member{old}, All: []audience.Member{changed}}); err != nil {
		t.Fatal(err)
	}
	emails, phones, _ := fake.Members(id)
	if diff := cmp.Diff([]string{old.Email}, emails); diff != "" {
		t.Fatalf("the unchanged e-mail must stay (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{changed.Phone}, phones); diff != "" {
		t.Fatalf("phones (-want +got):\n%s", diff)
	}
}

func TestFindsExistingByNameAcrossPagesAndReplaces(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	fake.SetPageSize(10)
	for i := 0; i < 23; i++ {
		fake.AddAudience(account, fmt.Sprintf("other_%d", i))
	}
	id := fake.AddAudience(account, "vip")
	stale := member(99)
	fake.Seed(id, []string{stale.Email}, []string{stale.Phone})
	c, _ := newClient(t, fake, nil)
	d := newDest(t, c, Target{AdAccountID: account, Name: "vip"})
	all := members(0, 3)
	res, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "vip_customers", BatchID: "b", Mode: audience.ModeIncremental, Add: all, All: all})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.RemoteID != id {
		t.Fatalf("result = %+v, want the existing audience %s", res, id)
	}
	// 24 audiences in pages of 10: three list calls; no creation; the unknown remote content
	// is replaced, so the stale member is gone.
	want := map[string]int{"GET customaudiences": 3, "POST usersreplace": 1}
	if diff := cmp.Diff(want, fake.Requests()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	emails, _, _ := fake.Members(id)
	if diff := cmp.Diff(emailsOf(all), emails); diff != "" {
		t.Fatalf("remote e-mails (-want +got):\n%s", diff)
	}
}

func TestUnknownIDFails(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	d := newDest(t, c, Target{AdAccountID: account, ID: "999"})
	_, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "a", BatchID: "b", Add: members(0, 1)})
	if err == nil || !strings.Contains(err.Error(), "not in ad account act_1234567") {
		t.Fatalf("err = %v", err)
	}
	if n := fake.Requests()["POST customaudiences"]; n != 0 {
		t.Fatalf("created %d audiences for an unknown id", n)
	}
}

func TestBatchesAndSessions(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	id := fake.AddAudience(account, "big")
	d := newDest(t, c, Target{AdAccountID: account, ID: id})
	// 25,001 rows at 10,000 a request: 10,000 + 10,000 + 5,001.
	all := members(0, 25001)
	res, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "big", BatchID: "2026-11-27/big/meta", RemoteID: id, Mode: audience.ModeReplace, All: all})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 3 || res.Sent != 25001 || fake.MaxRowsSeen() != 10000 {
		t.Fatalf("result %+v, max rows %d", res, fake.MaxRowsSeen())
	}
	ss := fake.Sessions()
	if len(ss) != 1 {
		t.Fatalf("sessions = %+v", ss)
	}
	want := metatest.SessionLog{AudienceID: id, Op: "replace", SessionID: sessionID(audience.SyncRequest{BatchID: "2026-11-27/big/meta"}, OpReplace),
		Batches: []int{10000, 10000, 5001}, Estimated: 25001, Closed: true}
	if diff := cmp.Diff(want, ss[0]); diff != "" {
		t.Fatalf("session (-want +got):\n%s", diff)
	}
	if e, p := fake.Size(id); e != 25001 || p != 25001 {
		t.Fatalf("audience size = %d e-mails, %d phones; want 25001 each", e, p)
	}
}

func TestSmallBatchSizeSessionFields(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	fake.RecordBodies()
	c, _ := newClient(t, fake, func(c *Config) { c.BatchSize = 3 })
	id := fake.AddAudience(account, "s")
	d := newDest(t, c, Target{AdAccountID: account})
	if _, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "s", BatchID: "B", RemoteID: id, Mode: audience.ModeIncremental, Add: members(0, 7)}); err != nil {
		t.Fatal(err)
	}
	sid := sessionID(audience.SyncRequest{BatchID: "B"}, OpAdd)
	var got []string
	for _, b := range fake.Bodies() {
		got = append(got, b.Session)
	}
	want := []string{
		fmt.Sprintf(`{"session_id":%d,"batch_seq":1,"last_batch_flag":false,"estimated_num_total":7}`, sid),
		fmt.Sprintf(`{"session_id":%d,"batch_seq":2,"last_batch_flag":false,"estimated_num_total":7}`, sid),
		fmt.Sprintf(`{"session_id":%d,"batch_seq":3,"last_batch_flag":true,"estimated_num_total":7}`, sid),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("sessions (-want +got):\n%s", diff)
	}
	m0 := member(0)
	if !strings.HasPrefix(fake.Bodies()[0].Payload, `{"schema":["EMAIL","PHONE"],"data":[["`+m0.Email+`","`+m0.Phone+`"],`) {
		t.Fatalf("payload = %.200s", fake.Bodies()[0].Payload)
	}
}

func TestSessionIDDeterministic(t *testing.T) {
	a := sessionID(audience.SyncRequest{BatchID: "2026-11-27/vip/meta"}, OpAdd)
	if a != sessionID(audience.SyncRequest{BatchID: "2026-11-27/vip/meta", Audience: "other"}, OpAdd) {
		t.Fatal("session id must depend on BatchID only")
	}
	if a == sessionID(audience.SyncRequest{BatchID: "2026-11-27/vip/meta"}, OpRemove) || a == sessionID(audience.SyncRequest{BatchID: "2026-11-28/vip/meta"}, OpAdd) {
		t.Fatal("different operations or nights must get different sessions")
	}
	if a <= 0 || a >= 1<<53 {
		t.Fatalf("session id %d outside 1..2^53", a)
	}
}

func TestThrottleAnd5xxRetried(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, ns := newClient(t, fake, nil)
	id := fake.AddAudience(account, "r")
	d := newDest(t, c, Target{AdAccountID: account})
	fake.Fail("/users", metatest.Throttle613(), metatest.ServerError(503), metatest.TooManyRequests(), metatest.Fault{HTTPStatus: 400, Code: 80003, Message: "custom audience throttle"})
	res, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "r", BatchID: "b", RemoteID: id, Add: members(0, 2)})
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
		t.Fatalf("result = %+v", res)
	}
}

func TestCode100NotRetried(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	id := fake.AddAudience(account, "r")
	d := newDest(t, c, Target{AdAccountID: account})
	for _, f := range []metatest.Fault{metatest.InvalidParam100(), {HTTPStatus: 400, Code: 1713230, Message: "terms not accepted"}} {
		before := fake.Requests()["POST users"]
		fake.Fail("/users", f)
		_, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "r", BatchID: "b", RemoteID: id, Add: members(0, 2)})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != f.Code || ae.Retryable() || !IsNotRetryable(err) {
			t.Fatalf("code %d: err = %v", f.Code, err)
		}
		if got := fake.Requests()["POST users"] - before; got != 1 {
			t.Fatalf("code %d: sent %d times, want once", f.Code, got)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	fake := metatest.New(testToken, "a-different-app-secret")
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	d := newDest(t, c, Target{AdAccountID: account})
	_, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "x", BatchID: "b", Add: members(0, 1)})
	if err == nil || !strings.Contains(err.Error(), "appsecret_proof") {
		t.Fatalf("err = %v, want the fake's appsecret_proof rejection", err)
	}
	// A platform that echoes the token back.
	fake2 := metatest.New(testToken, testSecret)
	defer fake2.Close()
	c2, _ := newClient(t, fake2, nil)
	id := fake2.AddAudience(account, "y")
	fake2.Fail("/users", metatest.Fault{HTTPStatus: 400, Code: 100, Message: "bad token " + testToken + " proof " + AppSecretProof(testSecret, testToken) + " secret " + testSecret})
	_, err2 := newDest(t, c2, Target{AdAccountID: account}).Sync(context.Background(), audience.SyncRequest{Audience: "y", BatchID: "b", RemoteID: id, Add: members(0, 1)})
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
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	d := newDest(t, c, Target{AdAccountID: account})
	bad := members(0, 3)
	bad[2].Email = "alice@example.com"
	_, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "x", BatchID: "b", Add: bad, All: bad})
	if err == nil || !strings.Contains(err.Error(), "Add[2].Email") || strings.Contains(err.Error(), "alice") {
		t.Fatalf("err = %v", err)
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("requests sent: %v", fake.Requests())
	}
	// Uppercase hex is not what Meta expects either.
	up := members(0, 1)
	up[0].Phone = strings.ToUpper(up[0].Phone)
	if _, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "x", BatchID: "b", Add: up}); err == nil {
		t.Fatal("uppercase hash accepted")
	}
}

func TestInvalidEntriesRecorded(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	id := fake.AddAudience(account, "x")
	d := newDest(t, c, Target{AdAccountID: account})
	ms := members(0, 4)
	fake.MarkInvalid(ms[3].Email)
	ms = append(ms, audience.Member{Key: "empty"}) // nothing to send: skipped locally
	res, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "x", BatchID: "b", RemoteID: id, Add: ms})
	if err != nil {
		t.Fatal(err)
	}
	want := audience.Result{RemoteID: id, Sent: 4, Accepted: 3, Rejected: 2, Requests: 1, Status: "ok",
		RejectReasons: map[string]int64{"invalid_entry": 1, "no_identifier": 1},
		Extra:         map[string]int64{"num_received": 4, "num_invalid_entries": 1, "rows_add": 4}}
	res.Duration = 0
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("result (-want +got):\n%s", diff)
	}
}

func TestWritePayloadsEqualsWhatSyncSends(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	fake.RecordBodies()
	c, _ := newClient(t, fake, func(c *Config) { c.BatchSize = 4 })
	id := fake.AddAudience(account, "w")
	fake.Seed(id, emailsOf(members(20, 22)), nil)
	d := newDest(t, c, Target{AdAccountID: account})
	req := audience.SyncRequest{Audience: "w", BatchID: "night", RemoteID: id, Mode: audience.ModeIncremental, Add: members(0, 10), Remove: members(20, 22), All: members(0, 10)}
	dir := t.TempDir()
	dres, err := d.WritePayloads(req, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("dry run sent requests: %v", fake.Requests())
	}
	res, err := d.Sync(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if dres.Sent != res.Sent || dres.Requests != res.Requests || dres.Sent != 12 || dres.Requests != 4 {
		t.Fatalf("dry run %+v vs sync %+v; want 12 rows in 3 add + 1 remove requests", dres, res)
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
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, nil)
	d := newDest(t, c, Target{AdAccountID: account, Name: "new one"})
	dir := t.TempDir()
	res, err := d.WritePayloads(audience.SyncRequest{Audience: "n", BatchID: "b", Add: members(0, 2), All: members(0, 2)}, dir)
	if err != nil || !res.Created || res.Requests != 2 || len(fake.Requests()) != 0 {
		t.Fatalf("res %+v err %v, fake saw %v", res, err, fake.Requests())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "meta-0001-create.json"))
	want := `{"method":"POST","params":{"customer_file_source":"USER_PROVIDED_ONLY","name":"new one","subtype":"CUSTOM"},"path":"/v25.0/act_1234567/customaudiences"}`
	if string(b) != want {
		t.Fatalf("create file = %s\nwant %s", b, want)
	}
	b2, _ := os.ReadFile(filepath.Join(dir, "meta-0002-add.json"))
	if !strings.HasPrefix(string(b2), `{"method":"POST","path":"/v25.0/{new_audience_id}/users","params":{"payload":{"schema":["EMAIL","PHONE"]`) {
		t.Fatalf("add file = %.200s", b2)
	}
}

func TestExternIDColumn(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, func(c *Config) { c.SendExternID = true })
	id := fake.AddAudience(account, "x")
	d := newDest(t, c, Target{AdAccountID: account})
	ms := []audience.Member{{Key: "k1", Email: h("a@example.com"), ExternID: `crm-"7"`}, {Key: "k2", ExternID: "crm-8"}}
	if _, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "x", BatchID: "b", RemoteID: id, Add: ms}); err != nil {
		t.Fatal(err)
	}
	emails, phones, externs := fake.Members(id)
	if diff := cmp.Diff([]string{h("a@example.com")}, emails); diff != "" || len(phones) != 0 {
		t.Fatalf("emails %v phones %v", emails, phones)
	}
	if diff := cmp.Diff([]string{`crm-"7"`, "crm-8"}, externs); diff != "" {
		t.Fatalf("externs (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Setenv("TEST_META_TOKEN", testToken)
	t.Setenv("TEST_META_SECRET", testSecret)
	ok := Config{AccessToken: secret.Ref{Env: "TEST_META_TOKEN"}, AppSecret: secret.Ref{Env: "TEST_META_SECRET"}}
	if err := ok.Validate("sinks.meta"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.BatchSize = 10001 }, "sinks.meta.batch_size: 10001 is outside 1..10000"},
		{func(c *Config) { c.APIVersion = "25" }, `sinks.meta.api_version: "25" is not a Graph API version`},
		{func(c *Config) { c.CustomerFileSource = "ME" }, `sinks.meta.customer_file_source: unknown value "ME" (known: USER_PROVIDED_ONLY`},
		{func(c *Config) { c.AppSecret = secret.Ref{} }, "sinks.meta.app_secret: no secret source"},
		{func(c *Config) { c.BaseURL = "graph.facebook.com" }, "sinks.meta.base_url:"},
		{func(c *Config) { c.HTTP.RatePerSec = -1 }, "sinks.meta.http.rate_per_sec: must not be negative"},
	}
	for _, tc := range cases {
		c := ok
		tc.mod(&c)
		err := c.Validate("sinks.meta")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v, want prefix %q", err, tc.want)
		}
	}
	tcs := []struct {
		t    Target
		want string
	}{
		{Target{}, "audiences[2].destinations.meta.ad_account_id: missing"},
		{Target{AdAccountID: "act_12x"}, `audiences[2].destinations.meta.ad_account_id: "act_12x" is not`},
		{Target{AdAccountID: "12", ID: "abc"}, `audiences[2].destinations.meta.id: "abc" is not`},
	}
	for _, tc := range tcs {
		err := tc.t.Validate("audiences[2].destinations.meta")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v, want prefix %q", err, tc.want)
		}
	}
}

func TestYAMLKeys(t *testing.T) {
	var doc struct {
		Meta   Config `yaml:"meta"`
		Target Target `yaml:"target"`
	}
	src := `
meta:
  base_url: https://graph.example
  api_version: v26.0
  access_token: {env: META_TOKEN}
  app_secret: {file: /run/secrets/meta}
  customer_file_source: PARTNER_PROVIDED_ONLY
  send_extern_id: true
  batch_size: 5000
  http: {rate_per_sec: 2, timeout: 10s, max_attempts: 3}
target:
  ad_account_id: act_42
  id: "99"
  name: VIP
  description: top spenders
`
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	want := Config{BaseURL: "https://graph.example", APIVersion: "v26.0", AccessToken: secret.Ref{Env: "META_TOKEN"}, AppSecret: secret.Ref{File: "/run/secrets/meta"},
		CustomerFileSource: "PARTNER_PROVIDED_ONLY", SendExternID: true, BatchSize: 5000, HTTP: httpx.Config{RatePerSec: 2, Timeout: 10 * time.Second, MaxAttempts: 3}}
	if diff := cmp.Diff(want, doc.Meta); diff != "" {
		t.Fatalf("config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Target{AdAccountID: "act_42", ID: "99", Name: "VIP", Description: "top spenders"}, doc.Target); diff != "" {
		t.Fatalf("target (-want +got):\n%s", diff)
	}
}

func TestRerunOfSameNightContinuesTheSession(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	c, _ := newClient(t, fake, func(c *Config) { c.BatchSize = 2 })
	id := fake.AddAudience(account, "r")
	old := member(50)
	fake.Seed(id, []string{old.Email}, []string{old.Phone})
	d := newDest(t, c, Target{AdAccountID: account})
	all := members(0, 7) // 4 batches: 2, 2, 2, 1
	req := audience.SyncRequest{Audience: "r", BatchID: "2026-11-27/r/meta", RemoteID: id, Mode: audience.ModeReplace, All: all}
	// The third batch fails for good: the run stops with the replace half done.
	fake.FailAt("/usersreplace", 3, metatest.InvalidParam100())
	if _, err := d.Sync(context.Background(), req); err == nil || !strings.Contains(err.Error(), "batch 3 of 4") {
		t.Fatalf("err = %v", err)
	}
	if emails, _, _ := fake.Members(id); len(emails) != 1 || emails[0] != old.Email {
		t.Fatalf("a half-done replace changed the audience: %v", emails)
	}
	// The rerun of the same night sends the same session from batch 1; the fake takes batches
	// 1 and 2 as replays and the rest as new.
	if _, err := d.Sync(context.Background(), req); err != nil {
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

func TestNetworkErrorHidesToken(t *testing.T) {
	fake := metatest.New(testToken, testSecret)
	c, _ := newClient(t, fake, func(c *Config) { c.HTTP.MaxAttempts = 2 })
	fake.Close() // connection refused from now on
	_, err := newDest(t, c, Target{AdAccountID: account}).Sync(context.Background(), audience.SyncRequest{Audience: "x", BatchID: "b", Add: members(0, 1)})
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	for _, s := range []string{testToken, testSecret, AppSecretProof(testSecret, testToken), "access_token="} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error leaks %q: %v", s, err)
		}
	}
}
