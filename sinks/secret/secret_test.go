package secret

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/sinks/secret/redact"
)

const value = "s3cr3t-t0ken-value"

func TestResolveEnv(t *testing.T) {
	t.Setenv("AS_TEST_TOKEN", "  "+value+"\n")
	got, err := Ref{Env: "AS_TEST_TOKEN"}.Resolve()
	if err != nil || got != value {
		t.Fatalf("Resolve = %q, %v; want %q", got, err, value)
	}
}

func TestResolveFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Ref{File: p}.Resolve()
	if err != nil || got != value {
		t.Fatalf("Resolve = %q, %v; want %q", got, err, value)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	t.Setenv("AS_TEST_EMPTY", "")
	t.Setenv("AS_TEST_SET", value)
	cases := []struct {
		ref  Ref
		want string // substring of the error, "" for no error
	}{
		{Ref{Env: "AS_TEST_SET"}, ""},
		{Ref{}, "sinks.x.token: no secret source"},
		{Ref{Env: "AS_TEST_SET", File: empty}, "sinks.x.token: more than one of env, file and secretmanager"},
		{Ref{Env: "AS_TEST_MISSING_VAR"}, "sinks.x.token: environment variable AS_TEST_MISSING_VAR is not set"},
		{Ref{Env: "AS_TEST_EMPTY"}, "environment variable AS_TEST_EMPTY is empty"},
		{Ref{File: empty}, "file " + empty + " is empty"},
		{Ref{File: filepath.Join(dir, "nope")}, "cannot read file " + filepath.Join(dir, "nope")},
	}
	for _, c := range cases {
		err := c.ref.Validate("sinks.x.token")
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: unexpected error %v", c.ref, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to contain %q", c.ref, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), value) {
			t.Errorf("%v: error leaks the secret: %v", c.ref, err)
		}
	}
}

func TestStringNeverHoldsValue(t *testing.T) {
	t.Setenv("AS_TEST_SET", value)
	r := Ref{Env: "AS_TEST_SET"}
	if s := r.String(); strings.Contains(s, value) || s != "env AS_TEST_SET" {
		t.Fatalf("String() = %q", s)
	}
	if !(Ref{}).IsZero() || r.IsZero() {
		t.Fatal("IsZero wrong")
	}
}

// Resolve registers the value with the process's redactor: any later text is cleaned of it,
// in any encoding, without the caller passing the secret along.
func TestResolveRegistersForRedaction(t *testing.T) {
	const v = `res+olved/"vk"=&secret`
	t.Setenv("AS_TEST_RESOLVED", v)
	if _, err := (Ref{Env: "AS_TEST_RESOLVED"}).Resolve(); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{v, url.QueryEscape(v), url.PathEscape(v), base64.StdEncoding.EncodeToString([]byte(v))} {
		if got := redact.String("vk: said " + leak); strings.Contains(got, leak) || !strings.Contains(got, redact.Redacted) {
			t.Errorf("%q not redacted: %s", leak, got)
		}
	}
}
