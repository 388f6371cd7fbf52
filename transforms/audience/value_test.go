package audience_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// Value-based audiences (Meta's value-based lookalike seeds): identifiers carry values, a
// changed value is a change, and everything else (state, request ids, the batch coder, the
// audience_members table) keeps them.

// ev is e-mail i with value v.
func ev(i int, v float64) audience.Identifier { x := e(i); x.Value = v; return x }

func vjob(date string, ids ...audience.Identifier) audience.Job {
	j := job(date, ids)
	j.Platform, j.Value = "meta", "pred_clv"
	return j
}

// Customers sharing an identifier add up; the sum (rounded to cents) does not depend on the
// order the contributions come in: 0.1 + 0.2 + 0.3 is 0.6000000000000001 one way and 0.6
// the other in float64, 0.6 after rounding either way.
func TestMergeIdentifiers(t *testing.T) {
	want := []audience.Identifier{ev(1, 0.6), ev(2, 30.75), p(1)}
	orders := [][]audience.Identifier{
		{ev(1, 0.1), ev(1, 0.2), ev(1, 0.3), ev(2, 10.5), ev(2, 20.25), p(1)},
		{ev(2, 20.25), ev(1, 0.3), p(1), ev(1, 0.2), ev(2, 10.5), ev(1, 0.1)},
		{p(1), ev(1, 0.2), ev(1, 0.1), ev(2, 10.5), ev(1, 0.3), ev(2, 20.25)},
	}
	for i, in := range orders {
		if got := audience.MergeIdentifiers(slices.Clone(in)); !slices.Equal(got, want) {
			t.Errorf("order %d: %v, want %v", i, got, want)
		}
	}
	// A plain list (values 0) merges to the plain set.
	if got := audience.MergeIdentifiers([]audience.Identifier{e(2), e(1), e(2)}); !slices.Equal(got, []audience.Identifier{e(1), e(2)}) {
		t.Errorf("plain merge %v", got)
	}
	if i := audience.DuplicateKey(audience.NormaliseIdentifiers([]audience.Identifier{ev(1, 5), ev(1, 7), e(2)})); i != 1 {
		t.Errorf("DuplicateKey = %d, want 1 (e-mail 1 with two values)", i)
	}
}

// A changed value is sent again (an addition with the new value), never removed; the state
// records the confirmed value, and the next run with the same values sends nothing.
func TestValueChangeIsAChange(t *testing.T) {
	d, s := newFake("meta"), &audience.FileStore{Dir: t.TempDir()}
	if l := mustSync(t, d, s, vjob("2026-11-01", ev(1, 10), ev(2, 20), ev(3, 0)), audience.Options{}); l != (logRow{"ok", 3, 0, 3}) {
		t.Fatalf("first sync %+v", l)
	}
	// Night 2: e-mail 2's value moves to 25, e-mail 3 leaves, e-mail 4 comes with 7.5.
	l := mustSync(t, d, s, vjob("2026-11-02", ev(1, 10), ev(2, 25), ev(4, 7.5)), audience.Options{})
	if l != (logRow{"ok", 2, 1, 3}) {
		t.Errorf("second sync %+v, want 2 added (2 with its new value, 4), 1 removed (3)", l)
	}
	c := d.calls[len(d.calls)-1]
	if !slices.Equal(c.Add, []audience.Identifier{ev(2, 25), ev(4, 7.5)}) || !slices.Equal(c.Remove, []audience.Identifier{ev(3, 0)}) || c.Value != "pred_clv" {
		t.Errorf("request add %v remove %v value %q", c.Add, c.Remove, c.Value)
	}
	if got := d.remote(aud); !slices.Equal(got, []audience.Identifier{ev(1, 10), ev(2, 25), ev(4, 7.5)}) {
		t.Errorf("platform holds %v", got)
	}
	st, _ := loadState(t, s, "meta")
	if st.Value != "pred_clv" || !slices.Equal(st.Confirmed, []audience.Identifier{ev(1, 10), ev(2, 25), ev(4, 7.5)}) || len(st.Pending) != 0 {
		t.Errorf("state %+v", st)
	}
	if l := mustSync(t, d, s, vjob("2026-11-03", ev(4, 7.5), ev(2, 25), ev(1, 10)), audience.Options{}); l.Status != "unchanged" {
		t.Errorf("third sync %+v, want unchanged", l)
	}
	if len(d.bad) > 0 {
		t.Errorf("contract violations: %v", d.bad)
	}
}

// The request id covers the values: the same identifiers with another value are another
// upload (Meta would take a known session id for a replay and apply nothing).
func TestRequestIDCoversValues(t *testing.T) {
	r := audience.Request{Audience: aud, Platform: "meta", Value: "pred_clv"}
	a := r.RequestID(audience.OpAdd, []audience.Identifier{ev(1, 10)})
	if b := r.RequestID(audience.OpAdd, []audience.Identifier{ev(1, 10)}); a != b {
		t.Error("the same content gave two ids")
	}
	if b := r.RequestID(audience.OpAdd, []audience.Identifier{ev(1, 11)}); a == b {
		t.Error("another value gave the same id")
	}
	r.Value = "revenue"
	if b := r.RequestID(audience.OpAdd, []audience.Identifier{ev(1, 10)}); a == b {
		t.Error("another value column gave the same id")
	}
}

// A remote audience keeps its kind: a plain audience on record does not take value-based
// uploads; the target then asks for a creation (the sink finds by name, or creates).
func TestValueBasedIsAnotherAudience(t *testing.T) {
	d, s := newFake("meta"), &audience.FileStore{Dir: t.TempDir()}
	plain := job("2026-11-01", emails(0, 3))
	mustSync(t, d, s, plain, audience.Options{})
	d.byName = map[string]string{} // the value-based audience gets a name of its own
	l := mustSync(t, d, s, vjob("2026-11-02", ev(0, 1), ev(1, 2), ev(2, 3)), audience.Options{})
	c := d.calls[len(d.calls)-1]
	if !c.Create || c.RemoteID != "" || l.Status != "ok" {
		t.Errorf("request create=%v remote %q, log %+v: want a creation", c.Create, c.RemoteID, l)
	}
	if st, _ := loadState(t, s, "meta"); st.RemoteID != "seg-2" || st.Value != "pred_clv" {
		t.Errorf("state %+v", st)
	}
}

func TestCheckValues(t *testing.T) {
	for _, c := range []struct {
		column string
		ids    []audience.Identifier
		want   string // "" = accepted
	}{
		{"pred_clv", []audience.Identifier{ev(1, 0), ev(2, 1e9)}, ""},
		{"pred_clv", []audience.Identifier{ev(1, 3), ev(2, -0.01)}, "1 identifier(s) have a pred_clv value that is negative or not a number (first at position 1"},
		{"", []audience.Identifier{e(1), ev(2, 4)}, "carry a value (first at position 1) but the audience is not value-based"},
		{"", []audience.Identifier{e(1), e(2)}, ""},
	} {
		err := audience.CheckValues("meta", aud, c.column, c.ids)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q %v: %v, want %q", c.column, c.ids, err, c.want)
		}
	}
}

func TestStateKeepsValues(t *testing.T) {
	s := &audience.FileStore{Dir: t.TempDir()}
	want := audience.State{RemoteID: "42", RunDate: day("2026-11-02"), Generation: 3, Value: "revenue",
		Confirmed: []audience.Identifier{ev(1, 12.5), ev(2, 0)}, Pending: []audience.Identifier{ev(3, 99.99)}}
	if err := s.Save(context.Background(), aud, "meta", want); err != nil {
		t.Fatal(err)
	}
	got, _ := loadState(t, s, "meta")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
	plain := audience.State{RemoteID: "7", RunDate: day("2026-11-02"), Confirmed: []audience.Identifier{e(1)}, Pending: []audience.Identifier{}}
	if err := s.Save(context.Background(), aud, "yandex", plain); err != nil {
		t.Fatal(err)
	}
	if got, _ := loadState(t, s, "yandex"); !reflect.DeepEqual(got, plain) {
		t.Errorf("plain state loaded %+v", got)
	}
}

func TestBatchCoderValues(t *testing.T) {
	in := audience.Batch{IDs: []audience.Identifier{ev(1, 12.34), e(2), ev(3, 1e-7), p(4)}, Currencies: []string{"RUB"}, NoValue: 3}
	b, err := audience.EncodeBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := audience.DecodeBatch(b)
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Errorf("round trip %+v (%v), want %+v", out, err, in)
	}
	plain := audience.Batch{IDs: []audience.Identifier{e(1), p(2)}}
	pb, _ := audience.EncodeBatch(plain)
	if len(pb) != 1+2*(2+32) {
		t.Errorf("a plain batch takes %d bytes, want 69 (no value, no trailer)", len(pb))
	}
	if _, err := audience.DecodeBatch(b[:len(b)-1]); err == nil {
		t.Error("a truncated trailer decoded")
	}
}

// The compute side: a value-based target's identifiers take the customer's value in its
// column (pred_clv here; a customer without a prediction contributes 0 and is counted), the
// currency filter applies, and customers sharing an e-mail add up.
func TestEmitBatchesValues(t *testing.T) {
	h, err := contacts.NewHasher(contacts.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	src := audience.Source{Segments: []string{"rule:top"}}
	m, err := audience.NewMembers([]audience.Target{
		{Audience: "top", Platform: "meta", Identifiers: []string{audience.TypeEmail}, Source: src, Value: "pred_clv"},
		{Audience: "top", Platform: "yandex", Identifiers: []string{audience.TypeEmail}, Source: src},
		{Audience: "rub", Platform: "meta", Identifiers: []string{audience.TypeEmail}, Source: src, Value: "revenue", ValueCurrency: "RUB"},
	})
	if err != nil {
		t.Fatal(err)
	}
	hashed := map[string]*contacts.Hashed{}
	for id, mail := range map[string]string{"c1": "a@example.com", "c2": "A@example.com ", "c3": "b@example.com", "c4": "c@example.com"} {
		hc, _ := h.Hash(orders.Customer{CustomerID: id, Email: mail, MarketingConsent: true})
		hashed[id] = &hc
	}
	f := func(v float64) *float64 { return &v }
	metrics := []tables.CustomerMetrics{
		{CustomerID: "c1", Currency: "RUB", PredCLV: f(100.125), Revenue: 500},
		{CustomerID: "c2", Currency: "RUB", PredCLV: f(50), Revenue: 300},
		{CustomerID: "c3", Currency: "RUB", Revenue: 80}, // no CLV prediction
		{CustomerID: "c4", Currency: "USD", PredCLV: f(7), Revenue: 9},
	}
	segs := map[string][]string{"c1": {"rule:top"}, "c2": {"rule:top"}, "c3": {"rule:top"}, "c4": {"rule:top"}}
	got := map[string]audience.Batch{}
	m.EmitBatches(segs, func(id string) *contacts.Hashed { return hashed[id] }, metrics, func(k string, b audience.Batch) { got[k] = b })
	sha := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	a, b, c := sha("a@example.com"), sha("b@example.com"), sha("c@example.com")
	mail := func(h string, v float64) audience.Identifier {
		return audience.Identifier{Type: audience.TypeEmail, Hash: h, Value: v}
	}
	// a: c1 100.13 (rounded) + c2 50 = 150.13; b: no prediction, 0; c: 7 in USD.
	wantTop := audience.NormaliseIdentifiers([]audience.Identifier{mail(a, 150.13), mail(b, 0), mail(c, 7)})
	if g := got["top/meta"]; !slices.Equal(g.IDs, wantTop) || !slices.Equal(g.Currencies, []string{"RUB", "USD"}) || g.NoValue != 1 {
		t.Errorf("top/meta = %+v, want %v, currencies RUB USD, 1 without value", g, wantTop)
	}
	if g := got["top/yandex"]; g.NoValue != 0 || g.Currencies != nil || g.IDs[0].Value != 0 {
		t.Errorf("plain target %+v carries values", g)
	}
	// RUB revenue only: a 800, b 80, c (USD only) 0 and counted.
	wantRub := audience.NormaliseIdentifiers([]audience.Identifier{mail(a, 800), mail(b, 80), mail(c, 0)})
	if g := got["rub/meta"]; !slices.Equal(g.IDs, wantRub) || !slices.Equal(g.Currencies, []string{"RUB"}) || g.NoValue != 1 {
		t.Errorf("rub/meta = %+v, want %v", g, wantRub)
	}
}

// audience_members keeps the values of value-based targets (null elsewhere), summed over
// buckets; a value-based target whose values come in two currencies fails the write.
func TestWriteMembersValues(t *testing.T) {
	targets := []audience.Target{{Audience: "a", Platform: "meta", Value: "pred_clv"}, {Audience: "a", Platform: "yandex"}}
	out := t.TempDir()
	pipe, s := beam.NewPipelineWithRoot()
	in := beam.ParDo(s, splitValued, beam.CreateList(s, []valuedBatch{
		{"a/meta", []audience.Identifier{ev(1, 10), ev(2, 1.5)}, "RUB"},
		{"a/meta", []audience.Identifier{ev(1, 2.25)}, "RUB"},
		{"a/yandex", []audience.Identifier{e(1)}, ""},
	}))
	audience.WriteMembers(s, in, targets, out, day("2026-11-02"))
	if err := ptest.Run(pipe); err != nil {
		t.Fatal(err)
	}
	rows, err := parquetio.ReadFile[tables.AudienceMember](t.Context(), filepath.Join(out, "audience_members", parquetio.PartName(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Value == nil || *rows[0].Value != 12.25 || rows[1].Value == nil || *rows[1].Value != 1.5 {
		t.Errorf("meta rows %+v, want e-mail 1 at 12.25 and e-mail 2 at 1.5", rows)
	}
	plain, err := parquetio.ReadFile[tables.AudienceMember](t.Context(), filepath.Join(out, "audience_members", parquetio.PartName(1)))
	if err != nil || len(plain) != 1 || plain[0].Value != nil {
		t.Errorf("yandex rows %+v (%v), want one row without a value", plain, err)
	}

	pipe, s = beam.NewPipelineWithRoot()
	in = beam.ParDo(s, splitValued, beam.CreateList(s, []valuedBatch{
		{"a/meta", []audience.Identifier{ev(1, 10)}, "RUB"},
		{"a/meta", []audience.Identifier{ev(2, 3)}, "USD"},
	}))
	audience.WriteMembers(s, in, targets, t.TempDir(), day("2026-11-02"))
	if err := ptest.Run(pipe); err == nil || !strings.Contains(err.Error(), "pred_clv values come in 2 currencies (RUB, USD)") {
		t.Errorf("mixed currencies: %v", err)
	}
}

type valuedBatch struct {
	Key      string
	IDs      []audience.Identifier
	Currency string
}

func splitValued(k valuedBatch) (string, audience.Batch) {
	b := audience.Batch{IDs: k.IDs}
	if k.Currency != "" {
		b.Currencies = []string{k.Currency}
	}
	return k.Key, b
}

func init() {
	beam.RegisterType(reflect.TypeOf((*valuedBatch)(nil)).Elem())
	beam.RegisterFunction(splitValued)
}
