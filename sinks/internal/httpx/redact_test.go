package httpx

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// echo answers every request with a status and the whole request as JSON, the way some
// platforms quote a rejected request back: method, URL (query still encoded), headers and
// body. It is the worst case for redaction, since each part arrives in another encoding.
func echo(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{
			"error":   map[string]any{"code": status, "message": "rejected request " + r.Method + " " + r.URL.String()},
			"path":    r.URL.EscapedPath(),
			"query":   r.URL.RawQuery,
			"form":    r.URL.Query(),
			"headers": r.Header,
			"body":    string(body),
		})
	}
}

// leaks returns the encoded forms of s found in text.
func leaks(text, s string) []string {
	forms := map[string]string{
		"raw":         s,
		"query":       url.QueryEscape(s),
		"path":        url.PathEscape(s),
		"base64":      base64.StdEncoding.EncodeToString([]byte(s)),
		"base64url":   base64.RawURLEncoding.EncodeToString([]byte(s)),
		"json":        strings.Trim(strconv.Quote(s), `"`),
		"json(query)": strings.Trim(strconv.Quote(url.QueryEscape(s)), `"`),
	}
	b, _ := json.Marshal(s)
	forms["json (Go)"] = string(b[1 : len(b)-1])
	var out []string
	for name, f := range forms {
		if strings.Contains(text, f) {
			out = append(out, name)
		}
	}
	return out
}

// End to end through the HTTP layer: a secret sent in the auth header, the query, the path
// and a form body, answered by a server that echoes all of it (JSON-escaped, URL-encoded),
// never appears in any form in the error, the StatusError body, or the client's log.
func TestSecretsInEchoedRequestsAreRedacted(t *testing.T) {
	secrets := []string{`tok"en\with\\quotes-123`, `Xk9+/=&Yz-vk-secret`, `a b%20c+d/e?f#g`, `pässwörd-€-𝄞`}
	for _, s := range secrets {
		for _, status := range []int{http.StatusUnauthorized, http.StatusBadRequest, http.StatusServiceUnavailable} {
			srv := httptest.NewServer(echo(status))
			var logs bytes.Buffer
			clk := newFakeClock()
			c := newTestClient(clk, Config{MaxAttempts: 2}, 0,
				WithAuthHeader(func(r *http.Request) error { r.Header.Set("Authorization", "OAuth "+s); return nil }),
				WithSecrets(func() []string { return []string{s} }),
				WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			form := url.Values{"client_id": {"app"}, "client_secret": {s}}.Encode()
			u := srv.URL + "/lists/" + url.PathEscape(s) + "?access_token=" + url.QueryEscape(s)
			req, err := http.NewRequest("POST", u, strings.NewReader(form))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			_, body, err := c.Do(t.Context(), req)
			srv.Close()
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("%q, %d: want a StatusError, got %v", s, status, err)
			}
			if !strings.Contains(string(body), "client_secret") {
				t.Fatalf("the echo did not come back: %s", body)
			}
			for where, text := range map[string]string{"error": err.Error(), "StatusError.Body": se.Body, "log": logs.String()} {
				if l := leaks(text, s); len(l) > 0 {
					t.Errorf("%q, HTTP %d: %s leaks the secret (%v):\n%s", s, status, where, l, text)
				}
			}
			if !strings.Contains(se.Body, Redacted) {
				t.Errorf("%q, HTTP %d: nothing redacted in %s", s, status, se.Body)
			}
		}
	}
}

// A call that gets no answer: the transport error names the URL, whose path holds the secret.
func TestSecretsInTransportErrorsAreRedacted(t *testing.T) {
	const s = `Xk9+/=&Yz-vk-secret`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close() // no answer at all
		}
	}()
	defer ln.Close()
	var logs bytes.Buffer
	c := newTestClient(newFakeClock(), Config{MaxAttempts: 2}, 0, WithSecrets(func() []string { return []string{s} }),
		WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	_, _, err = get(t, c, "http://"+ln.Addr().String()+"/lists/"+url.PathEscape(s)+"?secret="+url.QueryEscape(s))
	var re *RequestError
	if !errors.As(err, &re) {
		t.Fatalf("want a RequestError, got %v", err)
	}
	for where, text := range map[string]string{"error": err.Error(), "log": logs.String()} {
		if l := leaks(text, s); len(l) > 0 {
			t.Errorf("%s leaks the secret (%v): %s", where, l, text)
		}
	}
}
