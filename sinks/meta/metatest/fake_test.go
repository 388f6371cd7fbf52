package metatest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	tok    = "token-abcdef"
	secret = "secret-123456"
)

func proof(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// send posts form values (auth added unless the test sets them) and returns the Graph error
// code (0 on success) and the decoded answer.
func send(t *testing.T, s *Server, method, path string, v url.Values) (int, map[string]any) {
	t.Helper()
	if _, ok := v["access_token"]; !ok {
		v.Set("access_token", tok)
	}
	if _, ok := v["appsecret_proof"]; !ok {
		v.Set("appsecret_proof", proof(secret, tok))
	}
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	if e, ok := out["error"].(map[string]any); ok {
		return int(e["code"].(float64)), out
	}
	return 0, out
}

func rows(n, from int) string {
	var b strings.Builder
	b.WriteString(`{"schema":["EMAIL","PHONE"],"data":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `["%s",""]`, hash(fmt.Sprint(from+i)))
	}
	b.WriteString("]}")
	return b.String()
}

func sess(id int64, seq int, last bool, total int) string {
	return fmt.Sprintf(`{"session_id":%d,"batch_seq":%d,"last_batch_flag":%t,"estimated_num_total":%d}`, id, seq, last, total)
}

func TestFakeRejectsContractViolations(t *testing.T) {
	s := New(tok, secret)
	defer s.Close()
	id := s.AddAudience("1", "a")
	users := "/v25.0/" + id + "/users"
	cases := []struct {
		name   string
		method string
		path   string
		v      url.Values
		code   int
	}{
		{"no token", "POST", users, url.Values{"access_token": {""}, "payload": {rows(1, 0)}, "session": {sess(1, 1, true, 1)}}, 190},
		{"bad proof", "POST", users, url.Values{"appsecret_proof": {proof("wrong", tok)}, "payload": {rows(1, 0)}, "session": {sess(1, 1, true, 1)}}, 100},
		{"proof keyed with token", "POST", users, url.Values{"appsecret_proof": {proof(tok, secret)}, "payload": {rows(1, 0)}, "session": {sess(1, 1, true, 1)}}, 100},
		{"10001 rows", "POST", users, url.Values{"payload": {rows(10001, 0)}, "session": {sess(2, 1, true, 10001)}}, 100},
		{"raw e-mail", "POST", users, url.Values{"payload": {`{"schema":["EMAIL"],"data":[["a@b.c"]]}`}, "session": {sess(3, 1, true, 1)}}, 100},
		{"uppercase hash", "POST", users, url.Values{"payload": {`{"schema":["EMAIL"],"data":[["` + strings.ToUpper(hash("x")) + `"]]}`}, "session": {sess(3, 1, true, 1)}}, 100},
		{"unknown key", "POST", users, url.Values{"payload": {`{"schema":["MAIL"],"data":[["` + hash("x") + `"]]}`}, "session": {sess(3, 1, true, 1)}}, 100},
		{"short row", "POST", users, url.Values{"payload": {`{"schema":["EMAIL","PHONE"],"data":[["` + hash("x") + `"]]}`}, "session": {sess(3, 1, true, 1)}}, 100},
		{"no session", "POST", users, url.Values{"payload": {rows(1, 0)}}, 100},
		{"first seq 2", "POST", users, url.Values{"payload": {rows(1, 0)}, "session": {sess(4, 2, true, 1)}}, 100},
		{"last flag early", "POST", users, url.Values{"payload": {rows(1, 0)}, "session": {sess(5, 1, true, 2)}}, 100},
		{"no last flag at end", "POST", users, url.Values{"payload": {rows(2, 0)}, "session": {sess(6, 1, false, 2)}}, 100},
		{"wrong version", "POST", "/v19.0/" + id + "/users", url.Values{"payload": {rows(1, 0)}, "session": {sess(7, 1, true, 1)}}, 100},
		{"unknown audience", "POST", "/v25.0/999/users", url.Values{"payload": {rows(1, 0)}, "session": {sess(8, 1, true, 1)}}, 100},
		{"create without subtype", "POST", "/v25.0/act_1/customaudiences", url.Values{"name": {"x"}, "customer_file_source": {"USER_PROVIDED_ONLY"}}, 100},
		{"create without source", "POST", "/v25.0/act_1/customaudiences", url.Values{"name": {"x"}, "subtype": {"CUSTOM"}}, 100},
	}
	for _, tc := range cases {
		code, out := send(t, s, tc.method, tc.path, tc.v)
		if code != tc.code {
			t.Errorf("%s: code %d (%v), want %d", tc.name, code, out, tc.code)
		}
	}
	if e, p := s.Size(id); e != 0 || p != 0 {
		t.Fatalf("rejected requests changed the audience: %d %d", e, p)
	}
}

func TestFakeSessionAcrossBatches(t *testing.T) {
	s := New(tok, secret)
	defer s.Close()
	id := s.AddAudience("1", "a")
	s.Seed(id, []string{hash("old")}, nil)
	replace := "/v25.0/" + id + "/usersreplace"
	if code, out := send(t, s, "POST", replace, url.Values{"payload": {rows(2, 0)}, "session": {sess(9, 1, false, 5)}}); code != 0 {
		t.Fatal(out)
	}
	// Mid-session the old content is still there (no empty window).
	if e, _ := s.Size(id); e != 1 {
		t.Fatalf("replace applied before the last batch: %d e-mails", e)
	}
	for _, bad := range []string{sess(9, 3, false, 5), sess(9, 2, false, 6)} {
		if code, _ := send(t, s, "POST", replace, url.Values{"payload": {rows(2, 2)}, "session": {bad}}); code != 100 {
			t.Fatalf("%s accepted", bad)
		}
	}
	// The same session id on another endpoint is refused.
	if code, _ := send(t, s, "POST", "/v25.0/"+id+"/users", url.Values{"payload": {rows(2, 2)}, "session": {sess(9, 2, false, 5)}}); code != 100 {
		t.Fatal("session reused across operations")
	}
	if code, out := send(t, s, "POST", replace, url.Values{"payload": {rows(2, 2)}, "session": {sess(9, 2, false, 5)}}); code != 0 {
		t.Fatal(out)
	}
	// A retry of the batch just accepted (answer lost) is accepted without effect.
	if code, out := send(t, s, "POST", replace, url.Values{"payload": {rows(2, 2)}, "session": {sess(9, 2, false, 5)}}); code != 0 {
		t.Fatal(out)
	}
	if code, out := send(t, s, "POST", replace, url.Values{"payload": {rows(1, 4)}, "session": {sess(9, 3, true, 5)}}); code != 0 || out["num_received"].(float64) != 1 {
		t.Fatal(out)
	}
	if e, _ := s.Size(id); e != 5 {
		t.Fatalf("after replace: %d e-mails, want 5", e)
	}
	if code, _ := send(t, s, "POST", replace, url.Values{"payload": {rows(1, 9)}, "session": {sess(9, 4, true, 5)}}); code != 100 {
		t.Fatal("batch after the last accepted")
	}
	got := s.Sessions()
	if len(got) != 1 || fmt.Sprint(got[0].Batches) != "[2 2 1]" || !got[0].Closed || got[0].Estimated != 5 {
		t.Fatalf("sessions = %+v", got)
	}
}

func TestFakeParamsOutOfURLForPost(t *testing.T) {
	s := New(tok, secret)
	defer s.Close()
	q := url.Values{"access_token": {tok}, "appsecret_proof": {proof(secret, tok)}, "name": {"x"}, "subtype": {"CUSTOM"}, "customer_file_source": {"USER_PROVIDED_ONLY"}}
	resp, err := http.Post(s.URL+"/v25.0/act_1/customaudiences?"+q.Encode(), "application/x-www-form-urlencoded", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("token in URL accepted: %d", resp.StatusCode)
	}
}

// A session_id already used is a replay, whatever it carries: a rerun that sends other rows
// under an old session changes nothing (the bug a date-derived session id causes).
func TestFakeReplayAppliesNothing(t *testing.T) {
	s := New(tok, secret)
	defer s.Close()
	id := s.AddAudience("1", "a")
	users := "/v25.0/" + id + "/users"
	if code, out := send(t, s, "POST", users, url.Values{"payload": {rows(2, 0)}, "session": {sess(7, 1, true, 2)}}); code != 0 {
		t.Fatal(out)
	}
	if code, out := send(t, s, "POST", users, url.Values{"payload": {rows(3, 10)}, "session": {sess(7, 1, true, 3)}}); code != 0 {
		t.Fatalf("replay refused: %v", out)
	}
	if e, _ := s.Size(id); e != 2 {
		t.Fatalf("a replay changed the audience: %d e-mails, want 2", e)
	}
	if got := s.Sessions(); len(got) != 1 || got[0].Replayed != 1 {
		t.Fatalf("sessions = %+v", got)
	}
}
