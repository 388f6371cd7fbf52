package meta

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/sinks/meta/metatest"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Value-based seeds and their lookalike, night by night, through audience.Sync and
// audience.SyncLookalike as the delivery runs them, against the strict fake.

const seedName = "vip"

var night1 = value.DayFromDate(2026, 11, 2)

// valuedMembers returns the identifiers of customers [from, to) with value v(i) on both the
// e-mail and the phone of customer i.
func valuedMembers(from, to int, v func(i int) float64) []audience.Identifier {
	var out []audience.Identifier
	for i := from; i < to; i++ {
		for _, x := range members(i, i+1) {
			x.Value = v(i)
			out = append(out, x)
		}
	}
	return audience.NormaliseIdentifiers(out)
}

// price is the hand-made value of customer i: 10.5 per index.
func price(i int) float64 { return 10.5 * float64(i) }

type lookalikeEnv struct {
	fake  *metatest.Server
	dest  *Destination
	store *audience.FileStore
	tgt   audience.Target
}

func newLookalikeEnv(t *testing.T, mod func(*Config), l Lookalike) *lookalikeEnv {
	t.Helper()
	fake := newFake(t)
	a, _, _ := newAccount(t, fake, mod)
	return &lookalikeEnv{fake: fake, dest: newDest(t, a, Target{AdAccountID: account, Lookalike: &l}), store: &audience.FileStore{Dir: t.TempDir()},
		tgt: audience.Target{Audience: seedName, Platform: Platform, Value: l.Value, Lookalike: true}}
}

// night syncs the seed with ids, then its lookalike.
func (e *lookalikeEnv) night(t *testing.T, day value.Day, ids []audience.Identifier, opts audience.Options) (seed, lal tables.SyncLog) {
	t.Helper()
	seed, err := audience.Sync(context.Background(), e.dest, e.store, audience.Job{Target: e.tgt, RunDate: day, Identifiers: ids}, opts)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	lal, err = audience.SyncLookalike(context.Background(), e.dest, e.store, e.tgt, day, opts)
	if err != nil {
		t.Fatalf("lookalike: %v", err)
	}
	return seed, lal
}

func (e *lookalikeEnv) lookalikes() []metatest.Audience {
	var out []metatest.Audience
	for _, a := range e.fake.Audiences(account) {
		if a.Subtype == "LOOKALIKE" {
			out = append(out, a)
		}
	}
	return out
}

var vip2RU = Lookalike{Ratio: 0.02, Country: "RU", Value: "pred_clv"}

// Night 1 creates the value-based seed (every upload with LOOKALIKE_VALUE) and one
// lookalike of it; night 2, the same data, sends nothing and creates nothing: the lookalike is
// found again by name and its size reported.
func TestLookalikeCreatedOnceAndKept(t *testing.T) {
	e := newLookalikeEnv(t, nil, vip2RU)
	ids := valuedMembers(0, 60, price) // 120 identifiers
	seed, lal := e.night(t, night1, ids, audience.Options{})
	if seed.Status != "ok" || lal.Status != "ok" || lal.Kind != "lookalike" {
		t.Fatalf("night 1: seed %s, lookalike %s (%s)", seed.Status, lal.Status, lal.Error)
	}
	auds := e.fake.Audiences(account)
	if len(auds) != 2 || !auds[0].ValueBased || auds[0].Name != seedName {
		t.Fatalf("audiences %+v: want the value-based seed and its lookalike", auds)
	}
	l := auds[1]
	if l.Subtype != "LOOKALIKE" || l.OriginID != auds[0].ID || l.Name != "vip lookalike 2% RU" ||
		l.Spec != (metatest.LookalikeSpec{Type: "custom_ratio", Ratio: 0.02, Country: "RU"}) {
		t.Errorf("lookalike %+v", l)
	}
	if lal.RemoteID != l.ID || lal.SourceID != auds[0].ID {
		t.Errorf("sync_log row: remote %q source %q, want %s from %s", lal.RemoteID, lal.SourceID, l.ID, auds[0].ID)
	}
	// Customer 7's e-mail and phone both carry 73.5 (7 × 10.5); customer 0 carries 0.
	vals := e.fake.Values(auds[0].ID)
	if len(vals) != 120 || vals[h("user7@example.com")] != 73.5 || vals[h("15550000007")] != 73.5 || vals[h("user0@example.com")] != 0 {
		t.Errorf("values on Meta: %d, user7 %v, phone7 %v", len(vals), vals[h("user7@example.com")], vals[h("15550000007")])
	}

	seed, lal = e.night(t, night1+1, ids, audience.Options{})
	if seed.Status != "unchanged" || lal.Status != "unchanged" || lal.RemoteID != l.ID {
		t.Errorf("night 2: seed %s, lookalike %s %s", seed.Status, lal.Status, lal.RemoteID)
	}
	// 0.02 of the fake's 100,000,000-people country.
	if lal.PlatformSize == nil || *lal.PlatformSize != 2_000_000 {
		t.Errorf("size %v, want 2000000", lal.PlatformSize)
	}
	if n := len(e.lookalikes()); n != 1 || e.fake.Requests()["POST customaudiences"] != 2 {
		t.Errorf("%d lookalikes after %d creations: want 1 after 2 (seed, lookalike)", n, e.fake.Requests()["POST customaudiences"])
	}
}

// A changed value is a change: the identifiers whose value moved are sent again, in a new
// session, and Meta holds the new value; nothing else is sent and the lookalike stays.
func TestLookalikeValueChange(t *testing.T) {
	e := newLookalikeEnv(t, nil, vip2RU)
	e.night(t, night1, valuedMembers(0, 60, price), audience.Options{})
	sessions := len(e.fake.Sessions())
	moved := func(i int) float64 {
		if i == 3 {
			return 999.99
		}
		return price(i)
	}
	seed, lal := e.night(t, night1+1, valuedMembers(0, 60, moved), audience.Options{})
	if seed.Status != "ok" || seed.Added != 2 || seed.Removed != 0 || lal.Status != "unchanged" {
		t.Errorf("night 2: seed %s +%d -%d, lookalike %s", seed.Status, seed.Added, seed.Removed, lal.Status)
	}
	got := e.fake.Sessions()[sessions:]
	if len(got) != 1 || got[0].Op != "add" || got[0].Estimated != 2 {
		t.Errorf("sessions of night 2: %+v, want one addition of 2 rows", got)
	}
	vals := e.fake.Values(e.fake.Audiences(account)[0].ID)
	if vals[h("user3@example.com")] != 999.99 || vals[h("15550000003")] != 999.99 || vals[h("user4@example.com")] != 42 {
		t.Errorf("values after the change: %v %v %v", vals[h("user3@example.com")], vals[h("15550000003")], vals[h("user4@example.com")])
	}
	if len(e.lookalikes()) != 1 {
		t.Error("a value change made a second lookalike")
	}
}

// A seed below 100 identifiers is not offered to Meta; one Meta finds too small (error
// 2654, "Source Audience is Too Small", e.g. while the seed is still being matched) is
// below_minimum too: neither fails the run, and a later night creates the lookalike.
func TestLookalikeSeedTooSmall(t *testing.T) {
	e := newLookalikeEnv(t, nil, vip2RU)
	_, lal := e.night(t, night1, valuedMembers(0, 40, price), audience.Options{}) // 80 identifiers
	if lal.Status != "below_minimum" || !strings.Contains(lal.Error, "holds 80 identifiers") || e.fake.Requests()["POST customaudiences"] != 1 {
		t.Fatalf("small seed: %s %q after %d creations", lal.Status, lal.Error, e.fake.Requests()["POST customaudiences"])
	}
	e.fake.MinSeed = 1000 // Meta matches fewer people than we sent
	_, lal = e.night(t, night1+1, valuedMembers(0, 60, price), audience.Options{})
	if lal.Status != "below_minimum" || !strings.Contains(lal.Error, "Source Audience is Too Small") || audience.Failed(lal.Status) {
		t.Fatalf("too small on Meta: %s %q", lal.Status, lal.Error)
	}
	e.fake.MinSeed = 100
	_, lal = e.night(t, night1+2, valuedMembers(0, 60, price), audience.Options{})
	if lal.Status != "ok" || len(e.lookalikes()) != 1 {
		t.Errorf("night 3: %s, %d lookalikes", lal.Status, len(e.lookalikes()))
	}
}

// The creation's answer is lost (the client gives up, Meta creates all the same): the sink
// lists before sending it again and finds it: one lookalike.
func TestLookalikeCreateTimeoutListsFirst(t *testing.T) {
	e := newLookalikeEnv(t, func(c *Config) { c.HTTP.Timeout = 200 * time.Millisecond }, vip2RU)
	ids := valuedMembers(0, 60, price)
	if _, err := audience.Sync(context.Background(), e.dest, e.store, audience.Job{Target: e.tgt, RunDate: night1, Identifiers: ids}, audience.Options{}); err != nil {
		t.Fatal(err)
	}
	e.fake.SetLatencyFor("POST customaudiences", 2*time.Second)
	lal, err := audience.SyncLookalike(context.Background(), e.dest, e.store, e.tgt, night1, audience.Options{})
	if err != nil || lal.Status != "ok" {
		t.Fatalf("%s %v", lal.Status, err)
	}
	if n := len(e.lookalikes()); n != 1 || lal.RemoteID != e.lookalikes()[0].ID || e.fake.Requests()["POST customaudiences"] != 2 {
		t.Errorf("%d lookalikes, %d creations", n, e.fake.Requests()["POST customaudiences"])
	}
}

// A lookalike of the same seed, country and ratio made by hand under another name: Meta
// refuses a duplicate (2654 "Can't Create a Duplicate Lookalike"); the sink keeps that one.
func TestLookalikeDuplicateIsAdopted(t *testing.T) {
	e := newLookalikeEnv(t, nil, vip2RU)
	ids := valuedMembers(0, 60, price)
	if _, err := audience.Sync(context.Background(), e.dest, e.store, audience.Job{Target: e.tgt, RunDate: night1, Identifiers: ids}, audience.Options{}); err != nil {
		t.Fatal(err)
	}
	seedID := e.fake.Audiences(account)[0].ID
	handMade := e.fake.AddLookalike(account, "made in Ads Manager", seedID, 0.02, "RU")
	lal, err := audience.SyncLookalike(context.Background(), e.dest, e.store, e.tgt, night1, audience.Options{})
	if err != nil || lal.Status != "unchanged" || lal.RemoteID != handMade || !strings.Contains(lal.Error, `named "made in Ads Manager"`) {
		t.Fatalf("%s %s %q %v", lal.Status, lal.RemoteID, lal.Error, err)
	}
	if n := len(e.lookalikes()); n != 1 {
		t.Errorf("%d lookalikes, want the hand-made one only", n)
	}
}

// A dry run writes the exact creation calls: the value-based seed (is_value_based=1), its
// upload with LOOKALIKE_VALUE, and the lookalike with its spec; nothing is sent.
func TestLookalikeDryRun(t *testing.T) {
	e := newLookalikeEnv(t, nil, vip2RU)
	out := t.TempDir()
	ids := valuedMembers(1, 2, price) // customer 1: 10.5
	opts := audience.Options{DryRun: true, OutDir: out}
	seed, lal := e.night(t, night1, ids, opts)
	if seed.Status != "dry_run" || lal.Status != "dry_run" || len(e.fake.Requests()) != 0 {
		t.Fatalf("seed %s, lookalike %s, requests %v", seed.Status, lal.Status, e.fake.Requests())
	}
	read := func(parts ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{out, "dry_run"}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if got, want := read("meta", seedName, "meta-0001-create.json"), `{"method":"POST","params":{"customer_file_source":"USER_PROVIDED_ONLY","is_value_based":"1","name":"vip","subtype":"CUSTOM"},"path":"/v25.0/act_1234567/customaudiences"}`; got != want {
		t.Errorf("seed creation:\n got %s\nwant %s", got, want)
	}
	upload := read("meta", seedName, "meta-0002-add.json")
	wantRows := `"payload":{"schema":["EMAIL","PHONE","LOOKALIKE_VALUE"],"data":[["` + h("user1@example.com") + `","",10.5],["","` + h("15550000001") + `",10.5]]}`
	if !strings.Contains(upload, wantRows) {
		t.Errorf("upload %s\nwant rows %s", upload, wantRows)
	}
	if got, want := read("lookalikes", "meta", seedName, "meta-lookalike.json"), `{"method":"POST","params":{"lookalike_spec":"{\"type\":\"custom_ratio\",\"ratio\":0.02,\"country\":\"RU\"}","name":"vip lookalike 2% RU","origin_audience_id":"{new_audience_id}","subtype":"LOOKALIKE"},"path":"/v25.0/act_1234567/customaudiences"}`; got != want {
		t.Errorf("lookalike creation:\n got %s\nwant %s", got, want)
	}
}

// An audience of the seed's name that is plain (made before the audience became value-based)
// cannot become value-based: the sync fails with what to do, nothing is uploaded.
func TestValueBasedSeedMeetsPlainAudience(t *testing.T) {
	e := newLookalikeEnv(t, nil, vip2RU)
	e.fake.AddAudience(account, seedName)
	_, err := audience.Sync(context.Background(), e.dest, e.store, audience.Job{Target: e.tgt, RunDate: night1, Identifiers: valuedMembers(0, 60, price)}, audience.Options{})
	if err == nil || !strings.Contains(err.Error(), "is a plain audience, but the audience is value-based now") || !strings.Contains(err.Error(), "set destinations.meta.name to a new name") {
		t.Fatalf("err = %v", err)
	}
	if n := e.fake.Requests()["POST users"] + e.fake.Requests()["POST usersreplace"]; n != 0 {
		t.Errorf("%d uploads", n)
	}
}
