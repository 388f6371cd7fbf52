package yandex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
	"github.com/audiencesync/audiencesync/sinks/internal/sinktest"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/sinks/yandex/yandextest"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

const testToken = "y0_AgAAAAB-test-oauth-token-0123456789"

func h(s string) string { return sinktest.SHA256(s) }

// ids returns the identifiers of customers [from, to): an e-mail each, a phone every third.
func ids(from, to int) []audience.Identifier {
	var out []audience.Identifier
	for i := from; i < to; i++ {
		out = append(out, audience.Identifier{Type: audience.TypeEmail, Hash: h(fmt.Sprintf("user%d@example.com", i))})
		if i%3 == 0 {
			out = append(out, audience.Identifier{Type: audience.TypePhone, Hash: h(fmt.Sprintf("7999%07d", i))})
		}
	}
	return audience.NormaliseIdentifiers(out)
}

func remote(l []audience.Identifier) []yandextest.ID {
	out := make([]yandextest.ID, len(l))
	for i, x := range l {
		out[i] = yandextest.ID{Type: x.Type, Hash: x.Hash}
	}
	return out
}

type fixture struct {
	srv     *yandextest.Server
	clk     *httpxtest.Clock
	d       *Destination
	journal *sinktest.Journal
}

func setup(t *testing.T, cfgEdit func(*Config), target Target) *fixture {
	t.Helper()
	srv := yandextest.NewServer(testToken)
	t.Cleanup(srv.Close)
	t.Setenv("TEST_YANDEX_TOKEN", testToken)
	clk := httpxtest.NewClock()
	cfg := Config{BaseURL: srv.BaseURL(), Token: secret.Ref{Env: "TEST_YANDEX_TOKEN"}}
	if cfgEdit != nil {
		cfgEdit(&cfg)
	}
	a, err := NewAccount(cfg, sinkutil.WithClock(clk.Now, clk.Sleep), sinkutil.WithHTTPOptions(httpx.WithRand(func() float64 { return 0 })))
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.Destination(target)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, clk: clk, d: d, journal: &sinktest.Journal{}}
}

// client is the destination's API client.
func (f *fixture) client(t *testing.T) *Client {
	t.Helper()
	c, err := f.d.acct.api()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) createReq(all []audience.Identifier) audience.Request {
	return audience.Request{Audience: "mattress_no_cover", Platform: Platform, Create: true, Mode: audience.ModeIncremental, Add: all, All: all, Journal: f.journal}
}

func (f *fixture) diffReq(id string, all, add, remove []audience.Identifier) audience.Request {
	return audience.Request{Audience: "mattress_no_cover", Platform: Platform, RemoteID: id, Mode: audience.ModeIncremental, Add: add, Remove: remove, All: all, Journal: f.journal}
}

func outcomes(res audience.Result) []string { return sinktest.Outcomes(res) }

func TestCreateThenDiff(t *testing.T) {
	f := setup(t, nil, Target{Name: "as mattress"})
	ctx := context.Background()
	all := ids(0, 150) // 150 e-mails + 50 phones

	res, err := f.d.Apply(ctx, f.createReq(all))
	if err != nil {
		t.Fatal(err)
	}
	segs := f.srv.Segments()
	if len(segs) != 1 {
		t.Fatalf("%d segments on the fake, want 1", len(segs))
	}
	seg := segs[0]
	if !res.Created || res.RemoteID != fmt.Sprint(seg.ID) || res.Sent != 200 || res.Status != StatusProcessed {
		t.Errorf("create Result = %+v", res)
	}
	if diff := cmp.Diff([]string{"replace 200 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if seg.Name != "as mattress" || seg.Status != "processed" || !seg.Hashed || seg.HashingAlg != "SHA256" || seg.ContentType != "crm" {
		t.Errorf("segment = %+v", seg)
	}
	if diff := cmp.Diff(remote(all), f.srv.IDs(seg.ID)); diff != "" {
		t.Errorf("remote after create (-want +got):\n%s", diff)
	}
	wantCalls := []yandextest.Call{
		{Method: "POST", Path: "segments/upload_csv_file", Rows: 200},
		{Method: "POST", Path: fmt.Sprintf("segment/%d/confirm", seg.ID)},
	}
	if diff := cmp.Diff(wantCalls, f.srv.WriteCalls()); diff != "" {
		t.Errorf("write calls (-want +got):\n%s", diff)
	}
	// All calls share the 5/s bucket, writes also a 10-a-minute one: GET at 0; upload waits
	// 200ms for the shared bucket (t=0.2s); confirm waits for the write bucket until t=6s;
	// the poll GET waits 200ms behind confirm; one poll interval (15s) while is_processed.
	want := []time.Duration{200 * time.Millisecond, 5800 * time.Millisecond, 200 * time.Millisecond, 15 * time.Second}
	if diff := cmp.Diff(want, f.clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if f.journal.Bytes() != nil {
		t.Errorf("journal left after a completed creation: %s", f.journal.Bytes())
	}

	// Second night: customers 0-9 left, 150-154 joined: additions first, then removals.
	n0 := len(f.srv.WriteCalls())
	next := ids(10, 155)
	add, rm := ids(150, 155), ids(0, 10)
	res, err = f.d.Apply(ctx, f.diffReq(res.RemoteID, next, add, rm))
	if err != nil {
		t.Fatal(err)
	}
	wantCalls = []yandextest.Call{
		{Method: "POST", Path: fmt.Sprintf("segment/%d/modify_data", seg.ID), ModificationType: "addition", Rows: 7},
		{Method: "POST", Path: fmt.Sprintf("segment/%d/modify_data", seg.ID), ModificationType: "subtraction", Rows: 14},
	}
	if diff := cmp.Diff(wantCalls, f.srv.WriteCalls()[n0:]); diff != "" {
		t.Errorf("diff calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"add 7 confirmed", "remove 14 confirmed"}, outcomes(res)); diff != "" || res.Created || res.Sent != 21 {
		t.Errorf("diff Result %+v; applied (-want +got):\n%s", res, diff)
	}
	if diff := cmp.Diff(remote(next), f.srv.IDs(seg.ID)); diff != "" {
		t.Errorf("remote after diff (-want +got):\n%s", diff)
	}
}

func TestFoundByNameReplacedNotDuplicated(t *testing.T) {
	f := setup(t, nil, Target{Name: "as mattress"})
	id := f.srv.AddSegment("as mattress", remote(ids(500, 620))...)
	f.srv.AddSegment("someone else's")
	all := ids(0, 130)
	res, err := f.d.Apply(context.Background(), f.createReq(all))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.RemoteID != fmt.Sprint(id) || len(f.srv.Segments()) != 2 {
		t.Errorf("Result = %+v, %d segments; want the existing segment %d and no duplicate", res, len(f.srv.Segments()), id)
	}
	if diff := cmp.Diff(remote(all), f.srv.IDs(id)); diff != "" {
		t.Errorf("remote (-want +got):\n%s", diff)
	}
	if calls := f.srv.WriteCalls(); len(calls) != 1 || calls[0].ModificationType != "replace" {
		t.Errorf("write calls %+v, want one replace", calls)
	}
	if diff := cmp.Diff([]string{"replace 174 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
}

func TestDuplicateNamesRefused(t *testing.T) {
	f := setup(t, nil, Target{Name: "dup"})
	a, b := f.srv.AddSegment("dup"), f.srv.AddSegment("dup")
	_, err := f.d.Apply(context.Background(), f.createReq(ids(0, 120)))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("ids %d, %d", a, b)) || !strings.Contains(err.Error(), "destinations.yandex.id") {
		t.Fatalf("err = %v", err)
	}
	if len(f.srv.WriteCalls()) != 0 {
		t.Error("something was written")
	}
}

// A lost upload answer: the segment exists on Yandex, the client timed out. The sink lists
// before uploading again, finds the new unconfirmed upload and confirms it: one segment.
func TestUploadTimeoutListsFirst(t *testing.T) {
	f := setup(t, func(c *Config) { c.HTTP.Timeout = 100 * time.Millisecond }, Target{})
	f.srv.Faults.Push(httpxtest.Fault{}, httpxtest.Fault{Delay: 5 * time.Second}) // the GET, then the upload
	res, err := f.d.Apply(context.Background(), f.createReq(ids(0, 120)))
	if err != nil {
		t.Fatal(err)
	}
	segs := f.srv.Segments()
	if len(segs) != 1 || !res.Created || res.RemoteID != fmt.Sprint(segs[0].ID) || segs[0].Name != "mattress_no_cover" {
		t.Fatalf("created %v, %d segments: want exactly one, confirmed", res.Created, len(segs))
	}
	if n := len(f.srv.WriteCalls()); n != 2 {
		t.Errorf("%d write calls, want the upload and one confirm", n)
	}
}

// A confirm whose answer was lost is retried by the HTTP layer; Yandex answers the retry
// "already confirmed", which is success.
func TestConfirmRetriedAlreadyConfirmedIsSuccess(t *testing.T) {
	f := setup(t, func(c *Config) { c.HTTP.Timeout = 100 * time.Millisecond }, Target{})
	f.srv.Faults.Push(httpxtest.Fault{}, httpxtest.Fault{}, httpxtest.Fault{Delay: 5 * time.Second}) // GET, upload, confirm
	res, err := f.d.Apply(context.Background(), f.createReq(ids(0, 120)))
	if err != nil || !res.Created {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if n := len(f.srv.Segments()); n != 1 {
		t.Errorf("%d segments, want 1", n)
	}
}

// TestOrphansOfInterruptedUploads: a run killed between upload and confirm leaves a nameless
// "uploaded" segment and its journal note. The next run confirms it when it carries exactly
// today's plan, and deletes it otherwise (then uploads today's).
func TestOrphansOfInterruptedUploads(t *testing.T) {
	for _, same := range []bool{true, false} {
		t.Run(fmt.Sprintf("same plan %v", same), func(t *testing.T) {
			f := setup(t, nil, Target{})
			ctx := context.Background()
			first := ids(0, 120)
			killed, cancel := context.WithCancel(ctx)
			f.srv.OnUpload(cancel) // the run dies right after Yandex took the upload
			if _, err := f.d.Apply(killed, f.createReq(first)); err == nil {
				t.Fatal("the killed run reported success")
			}
			f.srv.OnUpload(nil)
			if segs := f.srv.Segments(); len(segs) != 1 || segs[0].Status != "uploaded" || f.journal.Bytes() == nil {
				t.Fatalf("after the kill: %d segments, journal %q", len(segs), f.journal.Bytes())
			}
			today := first
			if !same {
				today = ids(0, 130)
			}
			res, err := f.d.Apply(ctx, f.createReq(today))
			if err != nil {
				t.Fatal(err)
			}
			segs := f.srv.Segments()
			if len(segs) != 1 || segs[0].Status == "uploaded" || !res.Created {
				t.Fatalf("%d segments (first %q), created %v: want one confirmed segment", len(segs), segs[0].Status, res.Created)
			}
			if diff := cmp.Diff(remote(today), f.srv.IDs(segs[0].ID)); diff != "" {
				t.Errorf("remote (-want +got):\n%s", diff)
			}
			uploads, deletes := 0, 0
			for _, c := range f.srv.WriteCalls() {
				uploads += btoi(c.Path == "segments/upload_csv_file")
				deletes += btoi(c.Method == "DELETE")
			}
			if want := map[bool][2]int{true: {1, 0}, false: {2, 1}}[same]; [2]int{uploads, deletes} != want {
				t.Errorf("%d uploads, %d deletes; want %v", uploads, deletes, want)
			}
			if f.journal.Bytes() != nil {
				t.Errorf("journal not cleared: %s", f.journal.Bytes())
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestBelowMinimumNotCreated(t *testing.T) {
	f := setup(t, nil, Target{})
	res, err := f.d.Apply(context.Background(), f.createReq(ids(0, 60))) // 80 identifiers < 100
	if err != nil || !res.BelowMinimum || len(res.Applied) != 0 || len(f.srv.WriteCalls()) != 0 {
		t.Fatalf("Result %+v, %v, %d writes: want below the minimum, nothing sent", res, err, len(f.srv.WriteCalls()))
	}
}

// An existing segment that Yandex marks few_data after a change: the change is confirmed
// (few_data is a processed state) and the audience is reported below the minimum.
func TestFewDataAfterChange(t *testing.T) {
	f := setup(t, nil, Target{})
	id := f.srv.AddSegment("mattress_no_cover", remote(ids(0, 60))...) // 60 e-mails, 20 phones
	res, err := f.d.Apply(context.Background(), f.diffReq(fmt.Sprint(id), nil, ids(61, 62), nil))
	if err != nil || !res.BelowMinimum || res.Status != StatusFewData {
		t.Fatalf("Result %+v, %v", res, err)
	}
	if diff := cmp.Diff([]string{"add 1 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
}

func TestStillProcessingIsUnconfirmed(t *testing.T) {
	f := setup(t, func(c *Config) { c.PollInterval = 10 * time.Second; c.PollTimeout = 30 * time.Second }, Target{})
	id := f.srv.AddSegment("mattress_no_cover", remote(ids(0, 120))...)
	f.srv.SetPollsUntilProcessed(10) // longer than the 3-poll budget
	res, err := f.d.Apply(context.Background(), f.diffReq(fmt.Sprint(id), ids(10, 130), ids(120, 130), ids(0, 10)))
	if err != nil {
		t.Fatalf("an accepted but unprocessed change must not fail: %v", err)
	}
	// The addition is still processing: unconfirmed; the removal waits for the next run.
	if diff := cmp.Diff([]string{"add 14 unconfirmed"}, outcomes(res)); diff != "" || res.Status != StatusIsUpdated {
		t.Errorf("status %q, applied (-want +got):\n%s", res.Status, diff)
	}
	// The next night's change waits for processing and gives up with an error before sending.
	n := len(f.srv.WriteCalls())
	_, err = f.d.Apply(context.Background(), f.diffReq(fmt.Sprint(id), ids(10, 131), ids(120, 131), ids(0, 10)))
	if err == nil || !strings.Contains(err.Error(), "still processing") || !strings.Contains(err.Error(), "poll_timeout") || len(f.srv.WriteCalls()) != n {
		t.Errorf("err = %v, %d new writes", err, len(f.srv.WriteCalls())-n)
	}
	// The poll budget is 30s/10s = 3 sleeps after the first look, per wait.
	k := 0
	for _, w := range f.clk.Waits() {
		k += btoi(w == 10*time.Second)
	}
	if k != 6 {
		t.Errorf("%d poll sleeps in %v, want 6", k, f.clk.Waits())
	}
}

func TestThrottledWithRetryAfter(t *testing.T) {
	f := setup(t, nil, Target{})
	f.srv.Faults.Push(httpxtest.Fault{Status: 429, RetryAfter: "42"})
	if _, err := f.d.Apply(context.Background(), f.createReq(ids(0, 100))); err != nil {
		t.Fatal(err)
	}
	if w := f.clk.Waits(); len(w) == 0 || w[0] != 42*time.Second {
		t.Errorf("waits %v, want the first to be the 42s Retry-After", w)
	}
}

func TestServerErrorsRetried(t *testing.T) {
	f := setup(t, nil, Target{})
	// The GET, then the upload twice: a 5xx proves the upload was not served, so it is retried.
	f.srv.Faults.Push(httpxtest.Fault{Status: 503}, httpxtest.Fault{}, httpxtest.Fault{Status: 503}, httpxtest.Fault{Status: 500})
	if _, err := f.d.Apply(context.Background(), f.createReq(ids(0, 100))); err != nil {
		t.Fatal(err)
	}
	if len(f.srv.Segments()) != 1 {
		t.Errorf("%d segments", len(f.srv.Segments()))
	}
}

func TestInvalidParameterNotRetried(t *testing.T) {
	f := setup(t, nil, Target{})
	c := f.client(t)
	csv, _, _ := BuildCSV(ids(0, 1))
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
	_, err := f.d.Apply(context.Background(), f.createReq(ids(0, 100)))
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
	os.Unsetenv("TEST_YANDEX_TOKEN")
	a, _ := NewAccount(Config{BaseURL: f.srv.BaseURL(), Token: secret.Ref{Env: "TEST_YANDEX_TOKEN"}})
	d, _ := a.Destination(Target{})
	if _, err = d.Apply(context.Background(), f.createReq(ids(0, 100))); err == nil || !strings.Contains(err.Error(), "TEST_YANDEX_TOKEN is not set") {
		t.Errorf("err = %v", err)
	}
}

func TestRawValueNeverUploaded(t *testing.T) {
	f := setup(t, nil, Target{})
	bad := audience.Identifier{Type: audience.TypeEmail, Hash: "someone@example.com"}
	_, err := f.d.Apply(context.Background(), f.createReq(append(ids(0, 100), bad)))
	if err == nil || strings.Contains(err.Error(), "someone@example.com") || !strings.Contains(err.Error(), "1 identifier(s)") {
		t.Fatalf("err = %v", err)
	}
	if len(f.srv.Calls()) != 0 {
		t.Error("something was sent")
	}
}

func TestFakeEnforcesContract(t *testing.T) {
	f := setup(t, nil, Target{})
	c := f.client(t)
	ctx := context.Background()
	email := ids(1, 2)[0].Hash
	if _, err := c.UploadCSVFile(ctx, []byte("email\nd41d8cd98f00b204e9800998ecf8427e\n")); err == nil || !strings.Contains(err.Error(), "not a SHA-256") {
		t.Errorf("md5 value accepted: %v", err)
	}
	if _, err := c.UploadCSVFile(ctx, []byte(email+"\n"+email+"\n")); err == nil || !strings.Contains(err.Error(), "first row must name the columns") {
		t.Errorf("headerless file accepted: %v", err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("data", "a.csv")
	fw.Write([]byte("email\n" + email + "\n"))
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
	csv, _, _ := BuildCSV(ids(0, 3))
	up, err := c.UploadCSVFile(ctx, csv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = c.Confirm(ctx, ConfirmSegment{ID: up.ID, Name: "x", ContentType: "crm"}); err == nil || !strings.Contains(err.Error(), "hashed must be true") {
		t.Errorf("unhashed confirm accepted: %v", err)
	}
	if _, err = c.Confirm(ctx, confirmFor(up.ID, "x")); err != nil {
		t.Fatal(err)
	}
	// Confirm twice: 400 already confirmed.
	_, err = c.Confirm(ctx, confirmFor(up.ID, "x"))
	var ae *APIError
	if !errors.As(err, &ae) || !ae.AlreadyConfirmed() {
		t.Errorf("second confirm: %v", err)
	}
}

func TestWritePayloads(t *testing.T) {
	f := setup(t, nil, Target{Name: "as mattress"})
	ctx := context.Background()
	dir := t.TempDir()
	all := ids(0, 100) // 100 e-mails, 34 phones
	res, err := f.d.WritePayloads(ctx, f.createReq(all), dir)
	if err != nil || res.Sent != 134 {
		t.Fatalf("Result %+v, %v", res, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "1-segments_upload_csv_file.csv"))
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	// Header, then every identifier alone on its row: e-mails in the first column, phones in
	// the second (identifiers are sorted: e-mails first).
	if len(lines) != 135 || lines[0] != "email,phone" || lines[1] != all[0].Hash+"," || lines[134] != ","+all[133].Hash {
		t.Errorf("upload CSV: %d lines, head %q, tail %q", len(lines), lines[0:2], lines[len(lines)-1])
	}
	got, _ = os.ReadFile(filepath.Join(dir, "2-segment_confirm.json"))
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
	a := audience.Identifier{Type: audience.TypeEmail, Hash: h("a@example.com")}
	b := audience.Identifier{Type: audience.TypePhone, Hash: h("79995551111")}
	if _, err := f.d.WritePayloads(ctx, f.diffReq("77", nil, []audience.Identifier{b}, []audience.Identifier{a}), dir2); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(dir2, "1-segment_modify_data_addition.csv"))
	if want := "phone\n" + b.Hash + "\n"; string(got) != want {
		t.Errorf("addition CSV:\n%s", got)
	}
	got, _ = os.ReadFile(filepath.Join(dir2, "2-segment_modify_data_subtraction.csv"))
	if want := "email\n" + a.Hash + "\n"; string(got) != want {
		t.Errorf("subtraction CSV:\n%s", got)
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
	sinktest.RefusedAll(t, "sinks.yandex", map[string]Config{
		"sinks.yandex.token: no token source":            Config{},
		"sinks.yandex.base_url: \"ftp://x\" is not":      Config{BaseURL: "ftp://x", Token: ok.Token},
		"sinks.yandex.writes_per_minute: must not be":    Config{Token: ok.Token, WritesPerMinute: -1},
		"sinks.yandex.http.max_attempts: must be":        Config{Token: ok.Token, HTTP: httpx.Config{MaxAttempts: 99}},
		"sinks.yandex.token: environment variable NOPE_": Config{Token: secret.Ref{Env: "NOPE_NOT_SET_X"}},
	})
	if err := (Config{}).ValidateSettings("sinks.yandex"); err != nil {
		t.Errorf("settings of an empty block (dry run): %v", err)
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
		f.journal = &sinktest.Journal{}
		if _, err := d.Apply(context.Background(), f.createReq(ids(0, 100))); err != nil {
			t.Fatal(err)
		}
	}
	// Worked out by hand (s): 1st audience GET 0, upload 0→0.2 (shared 5/s bucket), confirm
	// →6 (write bucket), poll GET →6.2; 2nd audience GET →6.4, upload →12 (write bucket, shared
	// with the 1st audience), confirm →18, poll GET →18.2. With a write bucket per audience the
	// 2nd upload would go at 6.6 and everything end near 12.8s.
	var total time.Duration
	for _, w := range f.clk.Waits() {
		total += w
	}
	if total != 18200*time.Millisecond {
		t.Errorf("waits %v sum to %s, want 18.2s", f.clk.Waits(), total)
	}
}

func TestDryRunAccountSendsNothing(t *testing.T) {
	a, err := NewAccount(Config{}, sinkutil.WithoutCredentials())
	if err != nil {
		t.Fatal(err)
	}
	d, _ := a.Destination(Target{})
	if _, err := d.Apply(context.Background(), audience.Request{Audience: "x", Create: true, All: ids(0, 1), Journal: &sinktest.Journal{}}); !errors.Is(err, sinkutil.ErrDryRun) {
		t.Errorf("err = %v", err)
	}
}
