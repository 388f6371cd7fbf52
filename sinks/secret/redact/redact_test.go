package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// Secrets chosen to break naive redaction: characters that JSON, URL, HTML and Go quoting
// escape, non-ASCII (also outside the BMP), a base64-looking value, control characters.
var trickySecrets = []string{
	`tok"en\with\\quotes-123`,
	`a+b/c=d&e?f#g%h 20;x`,
	`Xk9+/=&Yz-vk-secret`,
	`pässwörd-ünï-€-𝄞-code`,
	`<script>&'"</script>`,
	"line1\nline2\tend\r\x01",
	`ab+/ab+/ab==`,
	`AQVN1bB7ZcqU3P-long.token_with~all-unreserved.chars-0123456789`,
}

// The encodings a message may carry a secret in, each written independently of the code
// under test (standard library, or by hand where no library writes that form).
var encodings = []struct {
	name string
	enc  func(string) string
}{
	{"raw", func(s string) string { return s }},
	{"json (Go, HTML-escaped)", func(s string) string { b, _ := json.Marshal(s); return unquote(b) }},
	{"json (Go, no HTML escaping)", func(s string) string {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		e.Encode(s)
		return unquote(bytes.TrimSpace(buf.Bytes()))
	}},
	{"json (PHP: \\/ and \\u for non-ASCII, lower-case hex)", func(s string) string { return jsonASCII(s, true, "%04x") }},
	{"json (Python ensure_ascii, upper-case hex)", func(s string) string { return jsonASCII(s, false, "%04X") }},
	{"Go %q", func(s string) string { return unquote([]byte(strconv.Quote(s))) }},
	{"Go %+q (ASCII)", func(s string) string { return unquote([]byte(strconv.QuoteToASCII(s))) }},
	{"url.QueryEscape", url.QueryEscape},
	{"url.PathEscape", url.PathEscape},
	{"form body", func(s string) string {
		return url.Values{"client_secret": {s}, "grant_type": {"client_credentials"}}.Encode()
	}},
	{"percent-encoding, lower-case hex", func(s string) string {
		return regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(s), strings.ToLower)
	}},
	{"percent-encoding of every byte", func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			fmt.Fprintf(&b, "%%%02X", c)
		}
		return b.String()
	}},
	{"html.EscapeString", html.EscapeString},
	{"HTML numeric references", func(s string) string {
		var b strings.Builder
		for _, r := range s {
			fmt.Fprintf(&b, "&#%d;", r)
		}
		return b.String()
	}},
	{"base64 std", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
	{"base64 std raw", func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }},
	{"base64 url", func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }},
	{"base64 url raw", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }},
	{"base64 in a URL query", func(s string) string { return url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(s))) }},
	{"base64 in PHP JSON", func(s string) string { return jsonASCII(base64.StdEncoding.EncodeToString([]byte(s)), true, "%04x") }},
	{"json inside json", func(s string) string {
		b, _ := json.Marshal(map[string]string{"message": "bad token " + s})
		b2, _ := json.Marshal(string(b))
		return unquote(b2)
	}},
	{"QueryEscape inside json", func(s string) string { b, _ := json.Marshal("url: /x?token=" + url.QueryEscape(s)); return unquote(b) }},
	{"PathEscape inside json", func(s string) string { b, _ := json.Marshal("/lists/" + url.PathEscape(s)); return unquote(b) }},
	{"json inside a query", func(s string) string { b, _ := json.Marshal(s); return url.QueryEscape(string(b)) }},
	{"json inside HTML", func(s string) string { b, _ := json.Marshal(s); return html.EscapeString(string(b)) }},
	{"Go %q of a %q", func(s string) string { return strconv.Quote(strconv.Quote(s)) }},
}

func unquote(b []byte) string { return string(b[1 : len(b)-1]) }

// jsonASCII escapes like PHP's json_encode (slash true) or Python's json.dumps with
// ensure_ascii: every non-ASCII rune as \uXXXX (surrogate pairs above the BMP).
func jsonASCII(s string, slash bool, hexFmt string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r >= 0x7f:
			if r > 0xFFFF {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u`+hexFmt+`\u`+hexFmt, hi, lo)
			} else {
				fmt.Fprintf(&b, `\u`+hexFmt, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every tricky secret in every encoding vanishes from the text around it, and the text
// around it stays.
func TestRedactEveryEncoding(t *testing.T) {
	const before, after = "error: platform said [", "] (HTTP 401)"
	for _, s := range trickySecrets {
		for _, e := range encodings {
			enc := e.enc(s)
			got := String(before+enc+after, s)
			if strings.Contains(got, enc) || strings.Contains(got, s) || !strings.Contains(got, Redacted) {
				t.Errorf("%s of %q: Redact left it:\n  in:  %s\n  out: %s", e.name, s, before+enc+after, got)
				continue
			}
			if !strings.HasPrefix(got, "error: platform said ") || !strings.HasSuffix(got, "(HTTP 401)") {
				t.Errorf("%s of %q: the text around the secret was damaged: %s", e.name, s, got)
			}
		}
	}
}

// A secret inside a longer base64 string (a Basic auth header "client:secret", at each of
// the three byte alignments): the characters that carry only the secret's bits vanish; at
// most the few characters that mix it with its neighbours remain.
func TestRedactBase64Embedded(t *testing.T) {
	for _, s := range trickySecrets {
		for _, prefix := range []string{"id:", "id1:", "id12:"} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				full := enc.EncodeToString([]byte(prefix + s + ":tail"))
				got := String("Authorization: Basic "+full+" sent", s)
				i := strings.Index(got, Redacted)
				if i < 0 || strings.Contains(got, full) {
					t.Errorf("%q in %q: %s", s, prefix, got)
					continue
				}
				left := strings.TrimPrefix(got[:i], "Authorization: Basic ")
				right := strings.TrimSuffix(got[i+len(Redacted):], " sent")
				// The prefix's bytes take ceil(8·len/6) characters; one more may mix bits.
				// The 5-byte tail ":tail" takes at most 8 characters with padding.
				if len(left) > (8*len(prefix)+5)/6+1 || len(right) > 10 {
					t.Errorf("%q in %q: %d characters left before, %d after: %s", s, prefix, len(left), len(right), got)
				}
			}
		}
	}
}

func TestRedactLeavesOtherText(t *testing.T) {
	text := `POST /v1/token: {"error":"invalid_client","error_description":"client_secret is wrong"} a+b%20c &amp; \"q\"`
	if got := String(text, "s3cr3t-value-not-here"); got != text {
		t.Errorf("nothing to redact, but got %s", got)
	}
	if got := String("the token abc is short", "abc"); got != "the token abc is short" {
		t.Errorf("a secret shorter than MinLen shredded the text: %s", got)
	}
	// Longer secrets first: a secret containing another is removed whole.
	if got := String("x=long-secret-value-1 y", "secret-value", "long-secret-value-1"); got != "x="+Redacted+" y" {
		t.Errorf("nested secrets: %s", got)
	}
}

// A registered value: String without arguments and a log handler remove it.
func TestRegisteredSecretsAreRedactedEverywhere(t *testing.T) {
	const v = `reg+ist/ered="secret"&value`
	Register(v)
	q := url.QueryEscape(v)
	if got := String("GET /x?secret=" + q); strings.Contains(got, q) || !strings.Contains(got, Redacted) {
		t.Errorf("registered secret not redacted: %s", got)
	}
	for _, newHandler := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(NewHandler(newHandler(&buf))).With("client", "c "+v)
		log.Error("token "+v+" refused", "err", fmt.Errorf("POST /token: body client_secret=%s", q),
			"body", `{"secret":"`+strings.ReplaceAll(v, `"`, `\"`)+`"}`, slog.Group("g", "k", []byte(v)), "url", &url.URL{Path: "/x", RawQuery: "s=" + q})
		out := buf.String()
		for _, leak := range []string{v, q, url.PathEscape(v), `reg+ist\/ered`, `ered=\"secret`, `ered=\\\"secret`} {
			if strings.Contains(out, leak) {
				t.Errorf("log output leaks %q:\n%s", leak, out)
			}
		}
		if strings.Count(out, Redacted) < 5 {
			t.Errorf("expected every attribute redacted:\n%s", out)
		}
	}
}

// A JSON credential registers its secret fields, which errors may quote on their own.
func TestRegisterJSONCredential(t *testing.T) {
	key := "-----BEGIN PRIVATE KEY-----\nMIIEv-fake-key-material\n-----END PRIVATE KEY-----\n"
	js, _ := json.Marshal(map[string]string{"type": "service_account", "private_key": key, "client_email": "sa@p.iam.gserviceaccount.com", "private_key_id": "0123456789abcdef"})
	Register(string(js))
	if got := String("bad key id 0123456789abcdef"); got != "bad key id "+Redacted {
		t.Errorf("private_key_id not registered: %s", got)
	}
	if got := String(`{"private_key":` + strconv.Quote(key) + `}`); strings.Contains(got, "MIIEv") {
		t.Errorf("private_key not redacted: %s", got)
	}
}

// JSON touches strings only: a digits-only secret equal to a number stays a number, and
// the document stays valid JSON.
func TestJSON(t *testing.T) {
	const s = `js"on+/=&sec\ret`
	Register(s, "12345678")
	doc, _ := json.MarshalIndent(map[string]any{
		"errors": []string{"vk: POST /token: " + `{"error_description":"bad client_secret=` + url.QueryEscape(s) + `"}`, "raw " + s},
		"count":  12345678,
		"ok":     false,
	}, "", "  ")
	got := JSON(doc)
	if !json.Valid(got) {
		t.Fatalf("not valid JSON any more:\n%s", got)
	}
	var back struct {
		Errors []string
		Count  int64
	}
	json.Unmarshal(got, &back)
	if back.Count != 12345678 || len(back.Errors) != 2 || strings.Count(string(got), Redacted) != 2 {
		t.Errorf("got %s", got)
	}
	for _, e := range back.Errors {
		if strings.Contains(e, `js"on`) || strings.Contains(e, url.QueryEscape(s)) {
			t.Errorf("leak: %s", e)
		}
	}
}
