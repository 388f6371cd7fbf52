package secret

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/api/option"
)

// A fake Secret Manager: the version's payload is base64 of " tok-123\n"; the client must
// call GET /v1/{name}:access and trim the value.
func TestSecretManagerRef(t *testing.T) {
	const name = "projects/p1/secrets/yandex-token/versions/latest"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/"+name+":access" {
			http.Error(w, `{"error":{"code":404,"message":"not found"}}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"name":"` + name + `/1","payload":{"data":"` + base64.StdEncoding.EncodeToString([]byte(" tok-123\n")) + `"}}`))
	}))
	defer srv.Close()
	smOptions = []option.ClientOption{option.WithEndpoint(srv.URL + "/"), option.WithoutAuthentication()}
	defer func() { smOptions = nil }()

	got, err := Ref{SecretManager: name}.Resolve()
	if err != nil || got != "tok-123" {
		t.Fatalf("Resolve = %q, %v; want tok-123", got, err)
	}
	_, err = Ref{SecretManager: "projects/p1/secrets/missing/versions/1"}.Resolve()
	if err == nil || !strings.Contains(err.Error(), "projects/p1/secrets/missing/versions/1") {
		t.Fatalf("missing version: err = %v, want one naming the resource", err)
	}
	if _, err := (Ref{SecretManager: "yandex-token"}).Resolve(); err == nil || !strings.Contains(err.Error(), "want projects/") {
		t.Fatalf("bad name: err = %v", err)
	}
	if err := (Ref{Env: "X", SecretManager: name}).Validate("sinks.vk.client_secret"); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Fatalf("two sources: err = %v", err)
	}
}
