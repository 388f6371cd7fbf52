package vkads

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A client secret with +, /, = and & travels form-encoded; a token endpoint that quotes the
// rejected request back (URL-encoded in the description, form-decoded in a field) must not
// get it into the error or the log.
func TestClientSecretNeverLeaksEncoded(t *testing.T) {
	const secret = `Xk9+/=&Yz"vk\secret`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{
			"error":             "invalid_client",
			"error_description": "client authentication failed for " + string(body),
			"request":           form,
		})
	}))
	defer srv.Close()
	var logs bytes.Buffer
	c := NewClient(Config{BaseURL: srv.URL, ClientID: "app1"}.Defaults(), secret, "", nil,
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.ClientCredentialsToken(ctx)
	if err == nil {
		t.Fatal("want an error")
	}
	b, _ := json.Marshal(secret)
	for _, leak := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), string(b[1 : len(b)-1])} {
		for where, text := range map[string]string{"error": err.Error(), "log": logs.String()} {
			if strings.Contains(text, leak) {
				t.Errorf("%s leaks %q: %s", where, leak, text)
			}
		}
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("the echo was not in the error, the test proves nothing: %v", err)
	}
}
