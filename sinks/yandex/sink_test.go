package yandex

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/sinks/yandex/yandextest"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

const testToken = "y0_AgAAAAB-test-oauth-token-0123456789"

func h(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// member i has an e-mail; every third also a phone.
func member(i int) audience.Member {
	m := audience.Member{Email: h(fmt.Sprintf("user%d@example.com", i))}
	if i%3 == 0 {
		m.Phone = h(fmt.Sprintf("7999%07d", i))
	}
	m.Key = h("e:" + m.Email + "|p:" + m.Phone)[:32]
	return m
}

func members(from, to int) []audience.Member {
	var out []audience.Member
	for i := from; i < to; i++ {
		out = append(out, member(i))
	}
	return out
}

func rowsOf(ms []audience.Member) []yandextest.Row {
	out := make([]yandextest.Row, 0, len(ms))
	for _, m := range ms {
		out = append(out, yandextest.Row{Email: m.Email, Phone: m.Phone})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Email != out[j].Email {
			return out[i].Email < out[j].Email
		}
		return out[i].Phone < out[j].Phone
	})
	return out
}

// clock is shared by the HTTP layer and the status polls: sleeps advance it and are recorded.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}
func (c *clock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

type fixture struct {
	srv *yandextest.Server
	clk *clock
	d   *Destination
}

func setup(t *testing.T, cfgEdit func(*Config), target Target) *fixture {
	t.Helper()
	srv := yandextest.NewServer(testToken)
	t.Cleanup(srv.Close)
	t.Setenv("TEST_YANDEX_TOKEN", testToken)
	clk := &clock{t: time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)}
	cfg := Config{BaseURL: srv.BaseURL(), Token: secret.Ref{Env: "TEST_YANDEX_TOKEN"}}
	if cfgEdit != nil {
		cfgEdit(&cfg)
	}
	d, err := New(cfg, target,
		WithHTTPOptions(httpx.WithClock(clk.now, clk.sleep), httpx.WithRand(func() float64 { return 0 })),
		WithSleep(clk.sleep))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, clk: clk, d: d}
}

func createReq(all []audience.Member) audience.SyncRequest {
	return audience.SyncRequest{Audience: "mattress_no_cover", RunDate: "2026-11-27", Mode: audience.ModeIncremental, Add: all, All: all}
}

func diffReq(id string, add, remove []audience.Member) audience.SyncRequest {
	return audience.SyncRequest{Audience: "mattress_no_cover", RunDate: "2026-11-28", RemoteID: id, Mode: audience.ModeIncremental, Add: add, Remove: remove}
}

func TestFirstSyncCreatesThenDiffsThenNothing(t *testing.T) {
	f := setup(t, nil, Target{Name: "as mattress"})
	ctx := context.Background()
	all := members(0, 150)

	res, err := f.d.Sync(ctx, createReq(all))
	if err != nil {
		t.Fatal(err)
	}
	segs := f.srv.Segments()
	if len(segs) != 1 {
		t.Fatalf("%d segments on the fake, want 1", len(segs))
	}
	seg := segs[0]
	if !res.Created || res.RemoteID != fmt.Sprint(seg.ID) || res.Sent != 150 || res.Status != StatusProcessed {
		t.Errorf("create Result = %+v", res)
	}
	if seg.Name != "as mattress" || seg.Status != "processed" || !seg.Hashed || seg.HashingAlg != "SHA256" || seg.ContentType != "crm" {
		t.Errorf("segment = %+v", seg)
	}
	if diff := cmp.Diff(rowsOf(all), f.srv.Rows(seg.ID)); diff != "" {
		t.Errorf("remote rows after create (-want +got):\n%s", diff)
	}
	wantCalls := []yandextest.Call{
		{Method: "POST", Path: "segments/upload_csv_file", Rows: 150},
		{Method: "POST", Path: fmt.Sprintf("segment/%d/confirm", seg.ID)},
	}
	if diff := cmp.Diff(wantCalls, f.srv.WriteCalls()); diff != "" {
		t.Errorf("write calls (-want +got):\n%s", diff)
	}
	// All calls share the 5/s bucket, writes also a 10-a-minute one: GET at 0; upload waits
	// 200ms for the shared bucket (t=0.2s); confirm waits for the write bucket until t=6s;
	// the poll GET waits 200ms behind confirm; one poll interval (15s) while is_processed.
	want := []time.Duration{200 * time.Millisecond, 5800 * time.Millisecond, 200 * time.Millisecond, 15 * time.Second}
	if diff := cmp.Diff(want, f.clk.waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}

	// Second night: 10 left, 5 joined. Only the diff goes out: subtraction first, then addition.
	n0 := len(f.srv.WriteCalls())
	remove, add := members(0, 10), members(150, 155)
	res, err = f.d.Sync(ctx, diffReq(res.RemoteID, add, remove))
	if err != nil {
		t.Fatal(err)
	}
	wantCalls = []yandextest.Call{
		{Method: "POST", Path: fmt.Sprintf("segment/%d/modify_data", seg.ID), ModificationType: "subtraction", Rows: 10},
		{Method: "POST", Path: fmt.Sprintf("segment/%d/modify_data", seg.ID), ModificationType: "addition", Rows: 5},
	}
	if diff := cmp.Diff(wantCalls, f.srv.WriteCalls()[n0:]); diff != "" {
		t.Errorf("diff calls (-want +got):\n%s", diff)
	}
	if res.Created || res.Sent != 15 || res.Status != StatusProcessed {
		t.Errorf("diff Result = %+v", res)
	}
	if diff := cmp.Diff(rowsOf(members(10, 155)), f.srv.Rows(seg.ID)); diff != "" {
		t.Errorf("remote rows after diff (-want +got):\n%s", diff)
	}

	// Third night: nothing changed; nothing is sent, not even a GET.
	n := len(f.srv.Calls())
	res, err = f.d.Sync(ctx, diffReq(res.RemoteID, nil, nil))
	if err != nil || res.Requests != 0 || len(f.srv.Calls()) != n {
		t.Errorf("no-change Sync: %+v, %v; %d new calls", res, err, len(f.srv.Calls())-n)
	}
}

func TestChangedPhoneEndsPresent(t *testing.T) {
	// Member 3 changes phone: one removal (old row) and one addition (new row) with the same
	// e-mail. Subtraction first means the new row survives.
	f := setup(t, nil, Target{})
	ctx := context.Background()
	all := members(0, 120)
	res, err := f.d.Sync(ctx, createReq(all))
	if err != nil {
		t.Fatal(err)
	}
	old := member(3)
	changed := audience.Member{Email: old.Email, Phone: h("79990000000")}
	changed.Key = h("e:" + changed.Email + "|p:" + changed.Phone)[:32]
	if _, err := f.d.Sync(ctx, diffReq(res.RemoteID, []audience.Member{changed}, []audience.Member{old})); err != nil {
		t.Fatal(err)
	}
	want := append(members(0, 3), members(4, 120)...)
	want = append(want, changed)
	id := f.srv.Segments()[0].ID
	if diff := cmp.Diff(rowsOf(want), f.srv.Rows(id)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if f.srv.Segments()[0].Name != "mattress_no_cover" {
		t.Errorf("segment name %q, want the audience name", f.srv.Segments()[0].Name)
	}
}

func TestFoundByNameReplacedNotDuplicated(t *testing.T) {
	f := setup(t, nil, Target{Name: "as mattress"})
	stale := rowsOf(members(500, 620))
	id := f.srv.AddSegment("as mattress", stale...)
	f.srv.AddSegment("someone else's")
	all := members(0, 130)
	res, err := f.d.Sync(context.Background(), createReq(all))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.RemoteID != fmt.Sprint(id) {
		t.Errorf("Result = %+v, want the existing segment %d", res, id)
	}
	if len(f.srv.Segments()) != 2 {
		t.Errorf("%d segments, want 2 (no duplicate)", len(f.srv.Segments()))
	}
	if diff := cmp.Diff(rowsOf(all), f.srv.Rows(id)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	calls := f.srv.WriteCalls()
	if len(calls) != 1 || calls[0].ModificationType != "replace" {
		t.Errorf("write calls %+v, want one replace", calls)
	}
}

func TestDuplicateNamesRefused(t *testing.T) {
	f := setup(t, nil, Target{Name: "dup"})
	a, b := f.srv.AddSegment("dup"), f.srv.AddSegment("dup")
	_, err := f.d.Sync(context.Background(), createReq(members(0, 120)))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("ids %d, %d", a, b)) || !strings.Contains(err.Error(), "destinations.yandex.id") {
		t.Fatalf("err = %v", err)
	}
	if len(f.srv.WriteCalls()) != 0 {
		t.Error("something was written")
	}
}

func TestReplaceMode(t *testing.T) {
	f := setup(t, nil, Target{})
	id := f.srv.AddSegment("mattress_no_cover", rowsOf(members(0, 200))...)
	all := members(100, 250)
	req := audience.SyncRequest{Audience: "mattress_no_cover", RemoteID: fmt.Sprint(id), Mode: audience.ModeReplace, All: all}
	if _, err := f.d.Sync(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rowsOf(all), f.srv.Rows(id)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestTransientFailuresConverge(t *testing.T) {
	f := setup(t, func(c *Config) { c.HTTP.MaxAttempts = 8 }, Target{Name: "flaky"})
	f.srv.Faults.SetTransientRate(0.10, 42)
	ctx := context.Background()
	want := members(0, 300)
	res, err := f.d.Sync(ctx, createReq(want))
	if err != nil {
		t.Fatal(err)
	}
	id := res.RemoteID
	// Several nights of churn.
	for night := 1; night <= 5; night++ {
		remove := want[:10]
		add := members(1000*night, 1000*night+7)
		if res, err = f.d.Sync(ctx, diffReq(id, add, remove)); err != nil {
			t.Fatalf("night %d: %v", night, err)
		}
		want = append(append([]audience.Member(nil), want[10:]...), add...)
	}
	segs := f.srv.Segments()
	if len(segs) != 1 {
		t.Fatalf("%d segments, want 1", len(segs))
	}
	if diff := cmp.Diff(rowsOf(want), f.srv.Rows(segs[0].ID)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if f.srv.Faults.Injected() == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
	t.Logf("faults injected: %d, calls served: %d", f.srv.Faults.Injected(), len(f.srv.Calls()))
}

func TestThrottledWithRetryAfter(t *testing.T) {
	f := setup(t, nil, Target{})
	f.srv.Faults.Push(httpxtest.Fault{Status: 429, RetryAfter: "42"})
	if _, err := f.d.Sync(context.Background(), createReq(members(0, 100))); err != nil {
		t.Fatal(err)
	}
	if w := f.clk.waits(); len(w) == 0 || w[0] != 42*time.Second {
		t.Errorf("waits %v, want the first to be the 42s Retry-After", w)
	}
}

func TestServerErrorsRetried(t *testing.T) {
	f := setup(t, nil, Target{})
	f.srv.Faults.Push(httpxtest.Fault{Status: 503}, httpxtest.Fault{Status: 500})
	if _, err := f.d.Sync(context.Background(), createReq(members(0, 100))); err != nil {
		t.Fatal(err)
	}
	if len(f.srv.Segments()) != 1 {
		t.Errorf("%d segments", len(f.srv.Segments()))
	}
}

func TestSlowAnswerTimesOutAndRetries(t *testing.T) {
	f := setup(t, func(c *Config) { c.HTTP.Timeout = 100 * time.Millisecond }, Target{})
	f.srv.Faults.Push(httpxtest.Fault{Delay: 5 * time.Second}) // first GET hangs past the timeout
	res, err := f.d.Sync(context.Background(), createReq(members(0, 100)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || len(f.srv.Segments()) != 1 {
		t.Errorf("Result %+v, %d segments", res, len(f.srv.Segments()))
	}
}

func TestInvalidParameterNotRetried(t *testing.T) {
	f := setup(t, nil, Target{})
	// modify on a segment that was uploaded but never confirmed: invalid_parameter, no retry.
	c, err := f.d.acct.api()
	if err != nil {
		t.Fatal(err)
	}
	csv, _, _ := BuildCSV(members(0, 1))
	up, err := c.UploadCSVFile(context.Background(), csv)
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.srv.Calls())
	_, err = c.ModifyData(context.Background(), up.ID, ModAddition, csv)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || !ae.HasType("invalid_parameter") || !strings.Contains(err.Error(), "not confirmed") {
		t.Fatalf("err = %v", err)
	}
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.Attempts != 1 || se.Retryable {
		t.Errorf("StatusError = %+v, want 1 attempt, not retryable", se)
	}
	if len(f.srv.Calls()) != n {
		t.Errorf("the refused call was recorded as served")
	}
}

func TestWrongTokenClearErrorWithoutToken(t *testing.T) {
	f := setup(t, nil, Target{})
	wrong := "y0_wrong-token-value-abcdef"
	t.Setenv("TEST_YANDEX_TOKEN", wrong)
	_, err := f.d.Sync(context.Background(), createReq(members(0, 100)))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, wrong) || strings.Contains(msg, testToken) {
		t.Fatalf("error leaks a token: %s", msg)
	}
	if !strings.Contains(msg, "HTTP 403") || !strings.Contains(msg, "sinks.yandex.token") {
		t.Errorf("error not clear: %s", msg)
	}

	// Missing variable: names the variable.
	t.Setenv("TEST_YANDEX_TOKEN", "")
	os.Unsetenv("TEST_YANDEX_TOKEN")
	d, _ := New(Config{BaseURL: f.srv.BaseURL(), Token: secret.Ref{Env: "TEST_YANDEX_TOKEN"}}, Target{})
	_, err = d.Sync(context.Background(), createReq(members(0, 100)))
	if err == nil || !strings.Contains(err.Error(), "TEST_YANDEX_TOKEN is not set") {
		t.Errorf("err = %v", err)
	}
}

func TestFewDataWarned(t *testing.T) {
	f := setup(t, nil, Target{})
	res, err := f.d.Sync(context.Background(), createReq(members(0, 40)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFewData || res.Extra["few_data"] != 1 {
		t.Errorf("Result = %+v, want status few_data", res)
	}
}

func TestPollingBoundedAndProcessingWaited(t *testing.T) {
	f := setup(t, func(c *Config) { c.PollInterval = 10 * time.Second; c.PollTimeout = 30 * time.Second }, Target{})
	f.srv.SetPollsUntilProcessed(10) // longer than the 3-poll budget
	res, err := f.d.Sync(context.Background(), createReq(members(0, 100)))
	if err != nil {
		t.Fatalf("an accepted but unprocessed change must not fail: %v", err)
	}
	if res.Status != StatusIsProcessed {
		t.Errorf("Status = %q, want is_processed", res.Status)
	}
	// Next night's change must wait for processing, and gives up with an error when it
	// still is not processed.
	_, err = f.d.Sync(context.Background(), diffReq(res.RemoteID, members(200, 201), nil))
	if err == nil || !strings.Contains(err.Error(), "still processing") || !strings.Contains(err.Error(), "poll_timeout") {
		t.Errorf("err = %v", err)
	}
	// The poll budget is 30s/10s = 3 sleeps after the first look, per wait: 3 at the end of
	// the creation and 3 before the refused change.
	n := 0
	for _, w := range f.clk.waits() {
		if w == 10*time.Second {
			n++
		}
	}
	if n != 6 {
		t.Errorf("%d poll sleeps in %v, want 6", n, f.clk.waits())
	}
}

func TestRawValueNeverUploaded(t *testing.T) {
	f := setup(t, nil, Target{})
	bad := audience.Member{Key: "k1", Email: "someone@example.com"}
	_, err := f.d.Sync(context.Background(), createReq(append(members(0, 100), bad)))
	if err == nil || strings.Contains(err.Error(), "someone@example.com") || !strings.Contains(err.Error(), "member k1") {
		t.Fatalf("err = %v", err)
	}
	if len(f.srv.WriteCalls()) != 0 {
		t.Error("something was uploaded")
	}
}

func TestFakeEnforcesContract(t *testing.T) {
	f := setup(t, nil, Target{})
	c, err := f.d.acct.api()
	if err != nil {
		t.Fatal(err)
	}
	// Values that are not SHA-256 hex.
	_, err = c.UploadCSVFile(context.Background(), []byte("email\nd41d8cd98f00b204e9800998ecf8427e\n"))
	if err == nil || !strings.Contains(err.Error(), "not a SHA-256") {
		t.Errorf("md5 value accepted: %v", err)
	}
	// A file without a header row.
	_, err = c.UploadCSVFile(context.Background(), []byte(member(1).Email+"\n"+member(2).Email+"\n"))
	if err == nil || !strings.Contains(err.Error(), "first row must name the columns") {
		t.Errorf("headerless file accepted: %v", err)
	}
	// The file under another multipart field name.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("data", "a.csv")
	fw.Write([]byte("email\n" + member(1).Email + "\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", f.srv.BaseURL()+"segments/upload_csv_file", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "OAuth "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `multipart field \"file\" is required`) {
		t.Errorf("field \"data\" accepted: %d %s", resp.StatusCode, body)
	}
	// Confirm without hashed:true.
	csv, _, _ := BuildCSV(members(0, 3))
	up, err := c.UploadCSVFile(context.Background(), csv)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Confirm(context.Background(), ConfirmSegment{ID: up.ID, Name: "x", ContentType: "crm"})
	if err == nil || !strings.Contains(err.Error(), "hashed must be true") {
		t.Errorf("unhashed confirm accepted: %v", err)
	}
}

func TestWritePayloads(t *testing.T) {
	f := setup(t, nil, Target{Name: "as mattress"})
	dir := t.TempDir()
	a := audience.Member{Key: "a", Email: h("a@example.com"), Phone: h("79995551111")}
	b := audience.Member{Key: "b", Email: h("b@example.com")}
	res, err := f.d.WritePayloads(createReq([]audience.Member{a, b}), dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 2 {
		t.Errorf("Sent = %d", res.Sent)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "segments_upload_csv_file.csv"))
	want := "email,phone\n" + a.Email + "," + a.Phone + "\n" + b.Email + ",\n"
	if string(got) != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	got, _ = os.ReadFile(filepath.Join(dir, "segment_confirm.json"))
	wantJSON := `{
  "segment": {
    "id": 0,
    "name": "as mattress",
    "hashed": true,
    "hashing_alg": "SHA256",
    "content_type": "crm"
  }
}
`
	if string(got) != wantJSON {
		t.Errorf("confirm JSON:\n%s\nwant:\n%s", got, wantJSON)
	}

	dir2 := t.TempDir()
	if _, err := f.d.WritePayloads(diffReq("77", []audience.Member{b}, []audience.Member{a}), dir2); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(dir2, "segment_modify_data_subtraction.csv"))
	if want := "email,phone\n" + a.Email + "," + a.Phone + "\n"; string(got) != want {
		t.Errorf("subtraction CSV:\n%s", got)
	}
	got, _ = os.ReadFile(filepath.Join(dir2, "segment_modify_data_addition.csv"))
	if want := "email\n" + b.Email + "\n"; string(got) != want {
		t.Errorf("addition CSV:\n%s", got)
	}
	if len(f.srv.Calls()) != 0 {
		t.Errorf("a dry run sent %d requests", len(f.srv.Calls()))
	}
}

func TestConfigValidate(t *testing.T) {
	t.Setenv("TEST_YANDEX_TOKEN", testToken)
	ok := Config{Token: secret.Ref{Env: "TEST_YANDEX_TOKEN"}}
	if err := ok.Validate("sinks.yandex"); err != nil {
		t.Errorf("valid config: %v", err)
	}
	cases := map[string]Config{
		"sinks.yandex.token: no token source":            {},
		"sinks.yandex.base_url: \"ftp://x\" is not":      {BaseURL: "ftp://x", Token: ok.Token},
		"sinks.yandex.writes_per_minute: must not be":    {Token: ok.Token, WritesPerMinute: -1},
		"sinks.yandex.http.max_attempts: must be":        {Token: ok.Token, HTTP: httpx.Config{MaxAttempts: 99}},
		"sinks.yandex.token: environment variable NOPE_": {Token: secret.Ref{Env: "NOPE_NOT_SET_X"}},
	}
	for want, c := range cases {
		if err := c.Validate("sinks.yandex"); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Validate = %v, want prefix %q", err, want)
		}
	}
	if err := (Target{ID: -1}).Validate("audiences[2].destinations.yandex"); err == nil || !strings.HasPrefix(err.Error(), "audiences[2].destinations.yandex.id:") {
		t.Errorf("Target.Validate = %v", err)
	}
}

func TestAccountSharesWriteQuota(t *testing.T) {
	f := setup(t, nil, Target{})
	f.srv.SetPollsUntilProcessed(0) // no poll sleeps, so only the buckets wait
	d2, err := f.d.acct.Destination(Target{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Destination{f.d, d2} {
		if _, err := d.Sync(context.Background(), createReq(members(0, 100))); err != nil {
			t.Fatal(err)
		}
	}
	// Worked out by hand (s): 1st audience GET 0, upload 0→0.2 (shared 5/s bucket), confirm
	// →6 (write bucket), poll GET →6.2; 2nd audience GET →6.4, upload →12 (write bucket, shared
	// with the 1st audience), confirm →18, poll GET →18.2. With a write bucket per audience the
	// 2nd upload would go at 6.6 and everything end near 12.8s.
	var total time.Duration
	for _, w := range f.clk.waits() {
		total += w
	}
	if total != 18200*time.Millisecond {
		t.Errorf("waits %v sum to %s, want 18.2s", f.clk.waits(), total)
	}
}
