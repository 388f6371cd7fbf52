package metatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// valued renders n rows EMAIL, PHONE, LOOKALIKE_VALUE from e-mail number from, each with the
// value cell as written (a JSON number, or anything else to test refusals).
func valued(n, from int, value string) string {
	var b strings.Builder
	b.WriteString(`{"schema":["EMAIL","PHONE","LOOKALIKE_VALUE"],"data":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `["%s","",%s]`, hash(fmt.Sprint(from+i)), value)
	}
	b.WriteString("]}")
	return b.String()
}

func createVB(t *testing.T, s *Server, name string) string {
	t.Helper()
	code, out := send(t, s, "POST", "/v25.0/act_1/customaudiences", url.Values{"name": {name}, "subtype": {"CUSTOM"},
		"customer_file_source": {"USER_PROVIDED_ONLY"}, "is_value_based": {"1"}})
	if code != 0 {
		t.Fatal(out)
	}
	return out["id"].(string)
}

// The value column: a value-based audience takes only uploads with LOOKALIKE_VALUE, each a
// JSON number >= 0; a plain audience takes none.
func TestFakeValueColumn(t *testing.T) {
	s := New(tok, secret)
	defer s.Close()
	vb := createVB(t, s, "seed")
	plain := s.AddAudience("1", "plain")
	cases := []struct {
		name, id, payload string
		code              int
	}{
		{"no value column on a value-based audience", vb, rows(1, 0), 100},
		{"value as a string", vb, valued(1, 0, `"12.5"`), 100},
		{"negative value", vb, valued(1, 0, `-0.5`), 100},
		{"NaN", vb, valued(1, 0, `NaN`), 100},
		{"value column on a plain audience", plain, valued(1, 0, `3`), 100},
		{"good", vb, valued(2, 0, `44.5`), 0},
		{"zero", vb, valued(1, 5, `0`), 0},
	}
	for i, c := range cases {
		code, out := send(t, s, "POST", "/v25.0/"+c.id+"/users", url.Values{"payload": {c.payload}, "session": {sess(int64(100+i), 1, true, strings.Count(c.payload, "],[")+1)}})
		if code != c.code {
			t.Errorf("%s: code %d (%v), want %d", c.name, code, out, c.code)
		}
	}
	got := s.Values(vb)
	if len(got) != 3 || got[hash("0")] != 44.5 || got[hash("1")] != 44.5 || got[hash("5")] != 0 {
		t.Errorf("values %v", got)
	}
	// A new value for a known key replaces the old one.
	if code, out := send(t, s, "POST", "/v25.0/"+vb+"/users", url.Values{"payload": {valued(1, 0, `7`)}, "session": {sess(200, 1, true, 1)}}); code != 0 {
		t.Fatal(out)
	}
	if got := s.Values(vb)[hash("0")]; got != 7 {
		t.Errorf("value after an update %v, want 7", got)
	}
	if e, _ := s.Size(plain); e != 0 {
		t.Error("the plain audience took a value-based upload")
	}
}

// Lookalike creation: origin, spec (ratio range and grid, country), origin size and
// duplicates, with Meta's two 2654 messages.
func TestFakeLookalikeContract(t *testing.T) {
	s := New(tok, secret)
	defer s.Close()
	small := createVB(t, s, "small")
	seed := createVB(t, s, "seed")
	if code, out := send(t, s, "POST", "/v25.0/"+seed+"/users", url.Values{"payload": {valued(100, 0, `1`)}, "session": {sess(1, 1, true, 100)}}); code != 0 {
		t.Fatal(out)
	}
	if code, out := send(t, s, "POST", "/v25.0/"+small+"/users", url.Values{"payload": {valued(99, 0, `1`)}, "session": {sess(2, 1, true, 99)}}); code != 0 {
		t.Fatal(out)
	}
	create := func(origin, spec string) (int, map[string]any) {
		return send(t, s, "POST", "/v25.0/act_1/customaudiences", url.Values{"name": {"lal"}, "subtype": {"LOOKALIKE"},
			"origin_audience_id": {origin}, "lookalike_spec": {spec}})
	}
	for _, c := range []struct {
		name, origin, spec string
		code               int
		msg                string
	}{
		{"ratio below 0.01", seed, `{"type":"custom_ratio","ratio":0.005,"country":"RU"}`, 100, "between 0.01 and 0.20"},
		{"ratio above 0.20", seed, `{"type":"custom_ratio","ratio":0.21,"country":"RU"}`, 100, "between 0.01 and 0.20"},
		{"ratio off the grid", seed, `{"type":"custom_ratio","ratio":0.015,"country":"RU"}`, 100, "steps of 0.01"},
		{"no country", seed, `{"type":"custom_ratio","ratio":0.02}`, 100, "needs a country"},
		{"type and ratio", seed, `{"type":"similarity","ratio":0.02,"country":"RU"}`, 100, "either type or ratio"},
		{"unknown origin", "999", `{"type":"custom_ratio","ratio":0.02,"country":"RU"}`, 100, "not a custom audience"},
		{"unknown spec key", seed, `{"ratio":0.02,"country":"RU","size":3}`, 100, "not a valid JSON object"},
		{"origin of 99 people", small, `{"type":"custom_ratio","ratio":0.02,"country":"RU"}`, 2654, "Source Audience is Too Small"},
		{"ok", seed, `{"type":"custom_ratio","ratio":0.02,"country":"RU"}`, 0, ""},
		{"same origin, country and ratio", seed, `{"ratio":0.02,"country":"RU"}`, 2654, "Duplicate Lookalike"},
		{"another ratio", seed, `{"type":"custom_ratio","ratio":0.2,"country":"RU"}`, 0, ""},
	} {
		code, out := create(c.origin, c.spec)
		msg := fmt.Sprint(out)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: code %d %s, want %d %q", c.name, code, msg, c.code, c.msg)
		}
	}
	var lal string
	for _, a := range s.Audiences("1") {
		if a.Subtype == "LOOKALIKE" && a.Spec.Ratio == 0.02 {
			lal = a.ID
			if a.OriginID != seed || a.Spec.Country != "RU" || a.Spec.Type != "custom_ratio" {
				t.Errorf("lookalike %+v", a)
			}
		}
	}
	if code, _ := send(t, s, "POST", "/v25.0/"+lal+"/users", url.Values{"payload": {valued(1, 0, `1`)}, "session": {sess(3, 1, true, 1)}}); code != 100 {
		t.Error("a lookalike took an upload")
	}
	// Listed back with its origin and size.
	q := url.Values{"fields": {"id,name,subtype,lookalike_spec,approximate_count_lower_bound"}, "access_token": {tok}, "appsecret_proof": {proof(secret, tok)}}
	resp, err := http.Get(s.URL + "/v25.0/act_1/customaudiences?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	listed := fmt.Sprint(out["data"])
	if !strings.Contains(listed, "approximate_count_lower_bound:2e+06") || !strings.Contains(listed, "origin:[map[id:"+seed) {
		t.Errorf("list %s", listed)
	}
}
