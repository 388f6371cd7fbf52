package googleads

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

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/audiencesync/audiencesync/sinks/googleads/googleadstest"
	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinktest"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

const (
	testToken = "ya29.test-access-token-0123456789"
	opAcct    = "1234567890"
	listID    = "555000111"
)

func h(s string) string { return sinktest.SHA256(s) }

func email(s string) audience.Identifier {
	return audience.Identifier{Type: audience.TypeEmail, Hash: h(s)}
}
func phone(s string) audience.Identifier {
	return audience.Identifier{Type: audience.TypePhone, Hash: h(s)}
}

// members returns the identifiers of customers [from, to): e-mail and E.164 phone, hashed.
func members(from, to int) []audience.Identifier {
	var out []audience.Identifier
	for i := from; i < to; i++ {
		out = append(out, email(fmt.Sprintf("user%d@example.com", i)), phone(fmt.Sprintf("+1555000%04d", i)))
	}
	return audience.NormaliseIdentifiers(out)
}

func set(ids ...audience.Identifier) []audience.Identifier {
	return audience.NormaliseIdentifiers(append([]audience.Identifier(nil), ids...))
}

func hashes(ids []audience.Identifier, typ string) []string {
	var out []string
	for _, x := range ids {
		if x.Type == typ {
			out = append(out, x.Hash)
		}
	}
	sort.Strings(out)
	return out
}

type noSleep struct{ waits []time.Duration }

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.waits = append(n.waits, d)
	return ctx.Err()
}

func newFake(t testing.TB) *googleadstest.Server {
	fake := googleadstest.New(testToken)
	t.Cleanup(fake.Close)
	fake.AddUserList(opAcct, listID)
	return fake
}

func newDest(t testing.TB, fake *googleadstest.Server, tgt Target, mod func(*Config)) (*Destination, *Client, *noSleep) {
	t.Helper()
	cfg := Config{Endpoint: fake.URL + "/", HTTP: httpx.Config{RatePerSec: 1000, Burst: 10}}
	if mod != nil {
		mod(&cfg)
	}
	ns := &noSleep{}
	a, err := NewAccount(cfg, sinkutil.WithHTTPOptions(httpx.WithClock(time.Now, ns.sleep)))
	if err != nil {
		t.Fatal(err)
	}
	a.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testToken}))
	if tgt == (Target{}) {
		tgt = Target{OperatingAccountID: "123-456-7890", UserListID: listID}
	}
	d, err := a.Destination(tgt)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.api(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d, c, ns
}

func diffReq(add, remove, all []audience.Identifier) audience.Request {
	return audience.Request{Audience: "a", Platform: Platform, RemoteID: listID, Mode: audience.ModeIncremental, Add: add, Remove: remove, All: all}
}

func createReq(all []audience.Identifier) audience.Request {
	return audience.Request{Audience: "a", Platform: Platform, Create: true, Mode: audience.ModeIncremental, Add: all, All: all}
}

func outcomes(res audience.Result) []string { return sinktest.Outcomes(res) }

func TestDocVectorsRecognisedByFake(t *testing.T) {
	// Hashes from docs/ad-platforms.md, checked against the normalised strings first, so that
	// the identifiers below carry hashes Google would recognise.
	for norm, want := range map[string]string{
		"alexz@example.com": "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a",
		"+18005550100":      "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30",
	} {
		if got := h(norm); got != want {
			t.Fatalf("sha256(%q) = %s, want %s (doc vector)", norm, got, want)
		}
	}
	fake := newFake(t)
	// The fake's directory holds the normalised forms of the doc's inputs.
	fake.KnownIdentities("alexz@example.com", "cloudysanfrancisco@gmail.com", "jeffersonloveshiking@googlemail.com",
		"user.name+nyc@example.com", "+18005550100", "+441134960987")
	d, _, _ := newDest(t, fake, Target{}, nil)
	ids := set(
		audience.Identifier{Type: audience.TypeEmail, Hash: "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a"},
		audience.Identifier{Type: audience.TypePhone, Hash: "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30"},
		email("cloudysanfrancisco@gmail.com"), email("jeffersonloveshiking@googlemail.com"), phone("+441134960987"),
		email("user.name+nyc@example.com"),
		// Wrongly normalised: a gmail address with its dots, a phone without "+". Accepted
		// (a hash is a hash) but matches nobody.
		email("cloudy.sanfrancisco@gmail.com"), phone("18005550100"),
	)
	if _, err := d.Apply(context.Background(), createReq(ids)); err != nil {
		t.Fatal(err)
	}
	if e, p := fake.Size(listID); e != 5 || p != 3 {
		t.Fatalf("list holds %d e-mails, %d phones; want 5 and 3", e, p)
	}
	if got := fake.Matched(listID); got != 6 {
		t.Fatalf("matched %d identifiers, want the 6 correctly normalised ones", got)
	}
}

func TestRequestFieldsChecked(t *testing.T) {
	fake := newFake(t)
	fake.RequireLoginAccount(opAcct, "9998887777")
	fake.RecordBodies()
	d, _, _ := newDest(t, fake, Target{OperatingAccountID: opAcct, UserListID: listID, LoginAccountID: "999-888-7777"}, nil)
	add, rm := email("a@example.com"), phone("+15550009999")
	if _, err := d.Apply(context.Background(), diffReq(set(add), set(rm), set(add))); err != nil {
		t.Fatalf("%v (fake: %s)", err, fake.LastError())
	}
	bodies := fake.Bodies()
	if len(bodies) != 2 || bodies[0].Method != "ingest" || bodies[1].Method != "remove" {
		t.Fatalf("bodies = %+v", bodies)
	}
	var ingest, remove map[string]any
	json.Unmarshal(bodies[0].Body, &ingest)
	json.Unmarshal(bodies[1].Body, &remove)
	dest := []any{map[string]any{
		"operatingAccount":     map[string]any{"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
		"loginAccount":         map[string]any{"accountType": "GOOGLE_ADS", "accountId": "9998887777"},
		"productDestinationId": "555000111",
	}}
	wantIngest := map[string]any{
		"destinations": dest,
		"audienceMembers": []any{map[string]any{"userData": map[string]any{"userIdentifiers": []any{
			map[string]any{"emailAddress": add.Hash}}}}},
		"consent":        map[string]any{"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_GRANTED"},
		"encoding":       "HEX",
		"termsOfService": map[string]any{"customerMatchTermsOfServiceStatus": "ACCEPTED"},
	}
	if diff := cmp.Diff(wantIngest, ingest); diff != "" {
		t.Fatalf("ingest body (-want +got):\n%s", diff)
	}
	wantRemove := map[string]any{
		"destinations": dest,
		"audienceMembers": []any{map[string]any{"userData": map[string]any{"userIdentifiers": []any{
			map[string]any{"phoneNumber": rm.Hash}}}}},
		"encoding": "HEX",
	}
	if diff := cmp.Diff(wantRemove, remove); diff != "" {
		t.Fatalf("remove body (-want +got):\n%s", diff)
	}
	// Without the manager account the fake refuses, as Google does.
	d2, _, _ := newDest(t, fake, Target{OperatingAccountID: opAcct, UserListID: listID}, nil)
	res, err := d2.Apply(context.Background(), diffReq(set(add), nil, set(add)))
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 403 || ae.Status != "PERMISSION_DENIED" || ae.Retryable() {
		t.Fatalf("err = %v", err)
	}
	if diff := cmp.Diff([]string{"add 1 not_sent"}, outcomes(res)); diff != "" {
		t.Errorf("a refused request applied nothing (-want +got):\n%s", diff)
	}
}

func TestOnlyDiffsOnSecondRun(t *testing.T) {
	fake := newFake(t)
	d, _, _ := newDest(t, fake, Target{}, nil)
	ctx := context.Background()
	first := members(0, 5)
	res, err := d.Apply(ctx, createReq(first))
	if err != nil || res.RemoteID != listID || res.Sent != 10 || res.Requests != 1 {
		t.Fatalf("first: id %q sent %d requests %d, %v", res.RemoteID, res.Sent, res.Requests, err)
	}
	if diff := cmp.Diff([]string{"replace 10 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	today := set(append(members(0, 1), members(2, 6)...)...)
	res, err = d.Apply(ctx, diffReq(members(5, 6), members(1, 2), today))
	if err != nil || res.Sent != 4 || res.Requests != 2 {
		t.Fatalf("second: sent %d requests %d, %v", res.Sent, res.Requests, err)
	}
	if diff := cmp.Diff(map[string]int{"ingest": 2, "remove": 1}, fake.Requests()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	emails, phones := fake.Members(listID)
	if diff := cmp.Diff(hashes(today, audience.TypeEmail), emails); diff != "" {
		t.Fatalf("e-mails (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hashes(today, audience.TypePhone), phones); diff != "" {
		t.Fatalf("phones (-want +got):\n%s", diff)
	}
}

func TestBatchesNeverExceedLimit(t *testing.T) {
	fake := newFake(t)
	d, _, _ := newDest(t, fake, Target{}, nil)
	add := members(0, 10001) // 20,002 identifiers
	res, err := d.Apply(context.Background(), diffReq(add, members(30000, 30001), add))
	if err != nil {
		t.Fatal(err)
	}
	// ⌈20002/10000⌉ = 3 ingests, 1 remove.
	if diff := cmp.Diff(map[string]int{"ingest": 3, "remove": 1}, fake.Requests()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	if fake.MaxMembersSeen() != 10000 || res.Sent != 20004 {
		t.Fatalf("max members %d, sent %d", fake.MaxMembersSeen(), res.Sent)
	}
	if diff := cmp.Diff([]string{"add 10000 confirmed", "add 10000 confirmed", "add 2 confirmed", "remove 2 confirmed"}, outcomes(res)); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
}

func TestValidateOnlyChangesNothing(t *testing.T) {
	fake := newFake(t)
	kept := email("user1@example.com")
	fake.Seed(listID, []string{kept.Hash}, nil)
	d, _, _ := newDest(t, fake, Target{}, func(c *Config) { c.ValidateOnly = true })
	res, err := d.Apply(context.Background(), diffReq(members(2, 4), set(kept), members(2, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"add 4 validated", "remove 1 validated"}, outcomes(res)); diff != "" || res.Accepted != 0 {
		t.Fatalf("accepted %d; applied (-want +got):\n%s", res.Accepted, diff)
	}
	if diff := cmp.Diff(map[string]int{"ingest validateOnly": 1, "remove validateOnly": 1}, fake.Requests()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	emails, phones := fake.Members(listID)
	if diff := cmp.Diff([]string{kept.Hash}, emails); diff != "" || len(phones) != 0 {
		t.Fatalf("list changed by validateOnly: %v %v", emails, phones)
	}
	// A validateOnly request is still checked: a bad list id is refused.
	d2, _, _ := newDest(t, fake, Target{OperatingAccountID: opAcct, UserListID: "42"}, func(c *Config) { c.ValidateOnly = true })
	if _, err := d2.Apply(context.Background(), createReq(members(0, 1))); err == nil {
		t.Fatal("validateOnly to an unknown list succeeded")
	}
}

func TestRetries(t *testing.T) {
	fake := newFake(t)
	d, c, ns := newDest(t, fake, Target{}, nil)
	fake.Fail(googleadstest.TooManyRequests(), googleadstest.Unavailable(), googleadstest.Fault{HTTPStatus: 500, Status: "INTERNAL", Message: "x"})
	res, err := d.Apply(context.Background(), diffReq(members(0, 1), nil, members(0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Retries != 3 || len(ns.waits) != 3 || res.Accepted != 2 {
		t.Fatalf("stats %+v waits %v accepted %d", st, ns.waits, res.Accepted)
	}
	if diff := cmp.Diff(map[string]int{"rejected": 3, "ingest": 1}, fake.Requests()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	// 400 is not retried.
	fake.Fail(googleadstest.InvalidArgument("bad"))
	_, err = d.Apply(context.Background(), diffReq(members(0, 1), nil, members(0, 1)))
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 400 || ae.Status != "INVALID_ARGUMENT" {
		t.Fatalf("err = %v", err)
	}
	if got := fake.Requests()["rejected"]; got != 4 {
		t.Fatalf("rejected = %d, want 4 (the 400 sent once)", got)
	}
}

func TestBearerTokenRequiredAndNeverInErrors(t *testing.T) {
	fake := googleadstest.New("another-token-value")
	defer fake.Close()
	fake.AddUserList(opAcct, listID)
	d, _, _ := newDest(t, fake, Target{}, nil)
	_, err := d.Apply(context.Background(), diffReq(members(0, 1), nil, members(0, 1)))
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 401 {
		t.Fatalf("err = %v", err)
	}
	fake2 := newFake(t)
	fake2.Fail(googleadstest.InvalidArgument("token " + testToken + " is odd"))
	d2, _, _ := newDest(t, fake2, Target{}, nil)
	_, err = d2.Apply(context.Background(), diffReq(members(0, 1), nil, members(0, 1)))
	if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), httpx.Redacted) {
		t.Fatalf("err = %v, want the echoed token redacted", err)
	}
}

func TestMalformedHashSendsNothing(t *testing.T) {
	fake := newFake(t)
	d, _, _ := newDest(t, fake, Target{}, nil)
	bad := append(members(0, 1), audience.Identifier{Type: audience.TypePhone, Hash: "+18005550100"})
	_, err := d.Apply(context.Background(), createReq(bad))
	if err == nil || !strings.Contains(err.Error(), "1 identifier(s)") || strings.Contains(err.Error(), "8005550100") {
		t.Fatalf("err = %v", err)
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("sent: %v", fake.Requests())
	}
}

func TestWritePayloadsEqualsWhatApplySends(t *testing.T) {
	fake := newFake(t)
	fake.RecordBodies()
	d, _, _ := newDest(t, fake, Target{}, func(c *Config) { c.BatchSize = 3 })
	req := diffReq(members(0, 4), members(10, 11), members(0, 4)) // 8 additions, 2 removals
	dir := t.TempDir()
	dres, err := d.WritePayloads(context.Background(), req, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.Requests()) != 0 {
		t.Fatalf("dry run sent %v", fake.Requests())
	}
	if _, err := d.Apply(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "google-*.json"))
	sort.Strings(files)
	sent := fake.Bodies()
	// 8 additions at 3 a request + 2 removals: 4 requests.
	if len(files) != 4 || len(sent) != 4 || dres.Requests != 4 || dres.Sent != 10 {
		t.Fatalf("%d files, %d sent, dry run %d requests %d rows", len(files), len(sent), dres.Requests, dres.Sent)
	}
	// Requests of one step may run in parallel, so compare as sets; ingests come before
	// removals in both.
	var wrote, got []string
	for i, f := range files {
		b, _ := os.ReadFile(f)
		wrote = append(wrote, f[strings.LastIndex(f, "-")+1:]+" "+strings.TrimSpace(string(b)))
		got = append(got, sent[i].Method+".json "+strings.TrimSpace(string(sent[i].Body)))
	}
	if got[3][:11] != "remove.json" {
		t.Fatalf("last request is %.20s, want the removal", got[3])
	}
	sort.Strings(wrote)
	sort.Strings(got)
	if diff := cmp.Diff(wrote, got); diff != "" {
		t.Fatalf("dry-run files differ from the requests (-files +sent):\n%s", diff)
	}
}

func TestParallelStopsOnFirstError(t *testing.T) {
	fake := newFake(t)
	d, _, _ := newDest(t, fake, Target{}, func(c *Config) { c.BatchSize = 2; c.ParallelRequests = 4 })
	// A network-like latency: without it the in-process fake answers the other workers'
	// requests faster than the 400 travels back, and all 20 may finish.
	fake.SetLatency(20 * time.Millisecond)
	fake.Fail(googleadstest.InvalidArgument("bad batch"))
	res, err := d.Apply(context.Background(), diffReq(members(0, 20), members(50, 51), members(0, 20)))
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 400 {
		t.Fatalf("err = %v, want the 400 (not a cancellation)", err)
	}
	if n := fake.Requests()["remove"]; n != 0 {
		t.Fatalf("removal ran after a failed ingest (%d requests)", n)
	}
	// 20 batches, 4 workers, 20 ms each: the failing request and the 3 in flight finish;
	// a worker whose answer arrived together with the 400 may have started one more.
	if n := fake.Requests()["ingest"]; n > 8 {
		t.Fatalf("%d of 20 ingests ran; after a failure only the in-flight ones (and at most one more per worker) may", n)
	}
	// Every batch has an outcome; one the fake served is never "not sent" (a request cancelled
	// in flight may have been served: it is unconfirmed).
	sentOrUnknown := 0
	for _, a := range res.Applied {
		if a.Outcome != audience.NotSent {
			sentOrUnknown++
		}
	}
	if sentOrUnknown < fake.Requests()["ingest"] || len(res.Applied) != 20 {
		t.Errorf("%d batches confirmed or unconfirmed, %d ingests served, %d outcomes; want an outcome per batch, none served marked not sent", sentOrUnknown, fake.Requests()["ingest"], len(res.Applied))
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	sa := filepath.Join(dir, "sa.json")
	os.WriteFile(sa, []byte(`{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n","client_email":"x@y.iam.gserviceaccount.com"}`), 0o600)
	ok := Config{Credentials: secret.Ref{File: sa}}
	if err := ok.Validate("sinks.google"); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(*Config)) Config { return sinktest.Mod(ok, f) }
	errs := sinktest.RefusedAll(t, "sinks.google", map[string]Config{
		`sinks.google.credentials: file ` + sa + ` holds credentials of type "service_account", but credentials_type is "authorized_user"`: mod(func(c *Config) { c.CredentialsType = "authorized_user" }),
		`sinks.google.credentials_type: unknown type "jwt" (known: service_account, authorized_user, application_default)`:                 mod(func(c *Config) { c.CredentialsType = "jwt" }),
		"sinks.google.batch_size: 20000 is outside 1..10000":                                                                               mod(func(c *Config) { c.BatchSize = 20000 }),
		`sinks.google.login_account_id: "12a" is not`:                                                                                      mod(func(c *Config) { c.LoginAccountID = "12a" }),
		"sinks.google.credentials: cannot read file":                                                                                       mod(func(c *Config) { c.Credentials = secret.Ref{File: filepath.Join(dir, "missing.json")} }),
	})
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), "MIIsecret") {
			t.Errorf("error leaks the key: %v", err)
		}
	}
	sinktest.RefusedAll(t, "audiences[0].destinations.google", map[string]Target{
		"audiences[0].destinations.google.operating_account_id: missing": Target{UserListID: "1"},
		"audiences[0].destinations.google.user_list_id: missing":         Target{OperatingAccountID: "123-456-7890"},
		`audiences[0].destinations.google.user_list_id: "x1" is not`:     Target{OperatingAccountID: "1", UserListID: "x1"},
	})
}

func TestServiceAccountCredentialsLoad(t *testing.T) {
	// A syntactically valid key file with a throwaway key: NewClient must parse it (no
	// network until the first call).
	dir := t.TempDir()
	key := filepath.Join(dir, "sa.json")
	os.WriteFile(key, []byte(`{"type":"service_account","project_id":"p","private_key_id":"1","private_key":"not a pem","client_email":"x@p.iam.gserviceaccount.com","client_id":"1","token_uri":"https://oauth2.googleapis.com/token"}`), 0o600)
	_, err := NewClient(context.Background(), Config{Credentials: secret.Ref{File: key}})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
}

func TestYAMLKeys(t *testing.T) {
	sinktest.YAMLKeys(t, `
config:
  endpoint: https://dm.example/
  credentials_type: authorized_user
  credentials: {file: /run/secrets/user.json}
  login_account_id: "111-222-3333"
  validate_only: true
  batch_size: 500
  parallel_requests: 4
  http: {rate_per_sec: 1, burst: 2}
target:
  operating_account_id: "123-456-7890"
  user_list_id: "77"
  login_account_id: "999"
`, Config{Endpoint: "https://dm.example/", CredentialsType: "authorized_user", Credentials: secret.Ref{File: "/run/secrets/user.json"},
		LoginAccountID: "111-222-3333", ValidateOnly: true, BatchSize: 500, ParallelRequests: 4, HTTP: httpx.Config{RatePerSec: 1, Burst: 2}},
		Target{OperatingAccountID: "123-456-7890", UserListID: "77", LoginAccountID: "999"})
}
