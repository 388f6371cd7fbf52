package googleadstest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

const good = `{"destinations":[{"operatingAccount":{"accountType":"GOOGLE_ADS","accountId":"111"},"productDestinationId":"42"}],
"audienceMembers":[{"userData":{"userIdentifiers":[{"emailAddress":"EMAIL"}]}}],
"consent":{"adUserData":"CONSENT_GRANTED","adPersonalization":"CONSENT_GRANTED"},"encoding":"HEX",
"termsOfService":{"customerMatchTermsOfServiceStatus":"ACCEPTED"}VALIDATE}`

func post(t *testing.T, s *Server, path, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestFakeRejectsContractViolations(t *testing.T) {
	s := New("tok")
	defer s.Close()
	s.AddUserList("111", "42")
	ok := strings.NewReplacer("EMAIL", hash("a@b.c"), "VALIDATE", "").Replace(good)
	many := `{"userData":{"userIdentifiers":[{"emailAddress":"` + hash("x") + `"}]}}`
	cases := []struct {
		name, path, token, body string
		status                  int
	}{
		{"no token", "/v1/audienceMembers:ingest", "", ok, 401},
		{"wrong token", "/v1/audienceMembers:ingest", "other", ok, 401},
		{"wrong path", "/v1/audienceMembers:add", "tok", ok, 404},
		{"account type", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"accountType":"GOOGLE_ADS"`, `"accountType":"DATA_PARTNER"`, 1), 400},
		{"dashes in id", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"accountId":"111"`, `"accountId":"1-11"`, 1), 400},
		{"other account's list", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"accountId":"111"`, `"accountId":"222"`, 1), 404},
		{"consent denied", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"adPersonalization":"CONSENT_GRANTED"`, `"adPersonalization":"CONSENT_DENIED"`, 1), 400},
		{"no consent", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"consent":{"adUserData":"CONSENT_GRANTED","adPersonalization":"CONSENT_GRANTED"},`, ``, 1), 400},
		{"base64", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"HEX"`, `"BASE64"`, 1), 400},
		{"terms", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"ACCEPTED"`, `"REJECTED"`, 1), 400},
		{"misspelt field", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"encoding"`, `"encodng"`, 1), 400},
		{"raw e-mail", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, hash("a@b.c"), "a@b.c", 1), 400},
		{"both identifiers in one", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `{"emailAddress":"`+hash("a@b.c")+`"}`, `{"emailAddress":"`+hash("a@b.c")+`","phoneNumber":"`+hash("1")+`"}`, 1), 400},
		{"10001 members", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"audienceMembers":[`, `"audienceMembers":[`+strings.Repeat(many+",", 10000), 1), 400},
		{"remove with consent", "/v1/audienceMembers:remove", "tok", ok, 400},
		{"login account not a manager", "/v1/audienceMembers:ingest", "tok", strings.Replace(ok, `"productDestinationId"`, `"loginAccount":{"accountType":"GOOGLE_ADS","accountId":"9"},"productDestinationId"`, 1), 403},
	}
	for _, tc := range cases {
		if got := post(t, s, tc.path, tc.token, tc.body); got != tc.status {
			t.Errorf("%s: HTTP %d, want %d (%s)", tc.name, got, tc.status, s.LastError())
		}
	}
	if e, p := s.Size("42"); e != 0 || p != 0 {
		t.Fatalf("rejected requests changed the list: %d %d", e, p)
	}
	// 10,000 members is fine; validateOnly changes nothing; a plain ingest does.
	full := strings.Replace(ok, `"audienceMembers":[`, `"audienceMembers":[`+strings.Repeat(many+",", 9999), 1)
	if got := post(t, s, "/v1/audienceMembers:ingest", "tok", strings.Replace(full, `"termsOfService"`, `"validateOnly":true,"termsOfService"`, 1)); got != 200 {
		t.Fatalf("validateOnly: %d %s", got, s.LastError())
	}
	if e, _ := s.Size("42"); e != 0 {
		t.Fatal("validateOnly changed the list")
	}
	if got := post(t, s, "/v1/audienceMembers:ingest", "tok", full); got != 200 {
		t.Fatalf("10,000 members: %d %s", got, s.LastError())
	}
	if e, _ := s.Size("42"); e != 2 {
		t.Fatalf("list holds %d e-mails, want 2", e)
	}
}
