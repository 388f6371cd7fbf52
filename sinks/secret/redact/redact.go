package redact

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Redacted replaces every secret in error and log text.
const Redacted = "[REDACTED]"

// MinLen keeps very short "secrets" (a test value like "x", an empty string) from shredding
// every message; real tokens are far longer.
const MinLen = 4

// registry is the process-wide set of secret values: everything secret.Ref.Resolve returned
// and every token a sink registered. String removes all of them from any text, so a log line or a
// summary written far from the sink that knew the secret is covered too.
var registry struct {
	mu     sync.RWMutex
	values map[string]bool
	sorted []string // longest first
}

// Register adds values to the secrets String removes from every text, for the life of the
// process. secret.Ref.Resolve registers what it returns; sinks register the tokens they mint or receive
// (OAuth access and refresh tokens). A JSON credential also registers its secret fields
// (private_key, client_secret, refresh_token, …), which an error may quote on their own.
func Register(values ...string) {
	var add []string
	for _, v := range values {
		add = append(add, v)
		add = append(add, jsonSecretFields(v)...)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.values == nil {
		registry.values = map[string]bool{}
	}
	changed := false
	for _, v := range add {
		if len(v) >= MinLen && !registry.values[v] {
			registry.values[v] = true
			changed = true
		}
	}
	if changed {
		registry.sorted = registry.sorted[:0]
		for v := range registry.values {
			registry.sorted = append(registry.sorted, v)
		}
		sortLongestFirst(registry.sorted)
	}
}

// jsonSecretFields returns the values of the secret-bearing fields of a JSON credential
// (service account key, authorized user), nil for anything else.
func jsonSecretFields(v string) []string {
	if !strings.HasPrefix(strings.TrimSpace(v), "{") {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(v), &m) != nil {
		return nil
	}
	var out []string
	for _, k := range []string{"private_key", "private_key_id", "client_secret", "refresh_token", "access_token"} {
		if s, ok := m[k].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortLongestFirst(ss []string) {
	sort.Slice(ss, func(i, j int) bool {
		if len(ss[i]) != len(ss[j]) {
			return len(ss[i]) > len(ss[j])
		}
		return ss[i] < ss[j]
	})
}

// String returns s with every registered secret, and every one of extra, replaced by
// [REDACTED] in each form it may take in a message: raw; JSON- or Go-escaped (\" \\ \/
// \uXXXX, as Go, PHP or Python write it); URL-encoded (query and form encoding with + for a
// space, and path encoding; either hex case); HTML-escaped; the same forms nested once
// (JSON inside JSON, URL-encoded inside JSON, …); and base64 (standard and URL alphabets,
// padded or not, also at any offset inside a longer encoded string such as a Basic auth
// header). Secrets shorter than MinLen are ignored.
func String(s string, extra ...string) string {
	if s == "" {
		return s
	}
	registry.mu.RLock()
	secrets := registry.sorted
	registry.mu.RUnlock()
	if len(extra) > 0 {
		secrets = slices.Clone(secrets)
		for _, x := range extra {
			if len(x) >= MinLen && !slices.Contains(secrets, x) {
				secrets = append(secrets, x)
			}
		}
		sortLongestFirst(secrets)
	}
	if len(secrets) == 0 {
		return s
	}
	var needles []string
	for _, x := range secrets {
		needles = append(needles, forms(x)...)
	}
	spans := find(s, needles)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString(Redacted)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// formsCache memoises forms: the same few secrets are redacted again and again.
var formsCache sync.Map // string -> []string

// forms returns the strings to look for in the decoded views of a text: the secret itself
// and its base64 encodings. The escaped and URL-encoded forms need no entry: find decodes
// the text instead.
func forms(secret string) []string {
	if f, ok := formsCache.Load(secret); ok {
		return f.([]string)
	}
	out := []string{secret}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(secret)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(secret)))
		// Inside a longer encoded string the secret starts 0, 1 or 2 bytes into a 3-byte
		// group; keep the characters that depend on the secret's bytes alone.
		for k := 0; k < 3; k++ {
			e := enc.WithPadding(base64.NoPadding).EncodeToString(append(make([]byte, k), secret...))
			from := (8*k + 5) / 6             // first character without prefix bits
			to := (8 * (k + len(secret))) / 6 // characters wholly inside the secret's bits
			if to-from >= 2*MinLen {
				out = append(out, e[from:to])
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	out = slices.Compact(out)
	formsCache.Store(secret, out)
	return out
}

// view is a decoded reading of a text: for each byte of text, the span [start, end) of the
// original text it was decoded from.
type view struct {
	text       string
	start, end []int
}

// decoders undo one layer of escaping or encoding; trigger is the byte without which the
// layer cannot be present (the view is then skipped).
var decoders = []struct {
	trigger string
	decode  func(string, func(unit int, b []byte))
}{
	{`\`, unescapeJSON},
	{"%+", func(s string, emit func(int, []byte)) { unescapeURL(s, true, emit) }},
	{"%", func(s string, emit func(int, []byte)) { unescapeURL(s, false, emit) }},
	{"&", unescapeHTML},
}

// find returns the sorted, merged spans of s where a needle occurs in s itself or in one of
// its decoded views (one or two layers deep).
func find(s string, needles []string) [][2]int {
	id := view{text: s, start: make([]int, len(s)), end: make([]int, len(s))}
	for i := 0; i < len(s); i++ { // every byte: a rune's inner bytes are matched too
		id.start[i], id.end[i] = i, i+1
	}
	views := []view{id}
	for _, d1 := range decoders {
		if !strings.ContainsAny(s, d1.trigger) {
			continue
		}
		v1 := decodeView(id, d1.decode)
		views = append(views, v1)
		for _, d2 := range decoders {
			if strings.ContainsAny(v1.text, d2.trigger) {
				views = append(views, decodeView(v1, d2.decode))
			}
		}
	}
	var spans [][2]int
	for _, v := range views {
		for _, n := range needles {
			for from := 0; ; {
				i := strings.Index(v.text[from:], n)
				if i < 0 {
					break
				}
				a, b := from+i, from+i+len(n)
				spans = append(spans, [2]int{v.start[a], v.end[b-1]})
				from = b
			}
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	merged := spans[:0]
	for _, sp := range spans {
		if n := len(merged); n > 0 && sp[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], sp[1])
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// decodeView decodes v.text; every output byte of a unit (an escape sequence or one plain
// byte) maps to the original span of that unit.
func decodeView(v view, decode func(string, func(int, []byte))) view {
	var w view
	var b strings.Builder
	pos := 0
	decode(v.text, func(n int, out []byte) {
		for range out {
			w.start = append(w.start, v.start[pos])
			w.end = append(w.end, v.end[pos+n-1])
		}
		b.Write(out)
		pos += n
	})
	w.text = b.String()
	return w
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hexN parses n hex digits at s[i:], -1 if there are not n.
func hexN(s string, i, n int) int {
	if i+n > len(s) {
		return -1
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		h, ok := hexVal(c)
		if !ok {
			return -1
		}
		v = v<<4 | int(h)
	}
	return v
}

var shortEscapes = map[byte]byte{'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'a': '\a', 'v': '\v'}

// unescapeJSON undoes JSON and Go string escapes: \" \\ \/ \' \b \f \n \r \t \a \v \xHH
// \uXXXX (with surrogate pairs) \UXXXXXXXX. Anything else passes through.
func unescapeJSON(s string, emit func(int, []byte)) {
	for i := 0; i < len(s); {
		if s[i] != '\\' || i+1 >= len(s) {
			emit(1, []byte{s[i]})
			i++
			continue
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/', '\'':
			emit(2, []byte{c})
			i += 2
		case 'b', 'f', 'n', 'r', 't', 'a', 'v':
			emit(2, []byte{shortEscapes[c]})
			i += 2
		case 'x':
			if h := hexN(s, i+2, 2); h >= 0 {
				emit(4, []byte{byte(h)})
				i += 4
				continue
			}
			emit(1, []byte{'\\'})
			i++
		case 'u', 'U':
			n := 4
			if c == 'U' {
				n = 8
			}
			r := hexN(s, i+2, n)
			if r < 0 {
				emit(1, []byte{'\\'})
				i++
				continue
			}
			size := 2 + n
			if c == 'u' && 0xD800 <= r && r < 0xDC00 && i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
				if lo := hexN(s, i+8, 4); 0xDC00 <= lo && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					size = 12
				}
			}
			emit(size, []byte(string(rune(r))))
			i += size
		default:
			emit(1, []byte{'\\'})
			i++
		}
	}
}

// unescapeURL undoes percent-encoding (either hex case); plus also turns + into a space
// (query and form encoding).
func unescapeURL(s string, plus bool, emit func(int, []byte)) {
	for i := 0; i < len(s); {
		switch {
		case s[i] == '%' && hexN(s, i+1, 2) >= 0:
			emit(3, []byte{byte(hexN(s, i+1, 2))})
			i += 3
		case s[i] == '+' && plus:
			emit(1, []byte{' '})
			i++
		default:
			emit(1, []byte{s[i]})
			i++
		}
	}
}

var htmlNamed = map[string]string{"amp": "&", "lt": "<", "gt": ">", "quot": `"`, "apos": "'"}

// unescapeHTML undoes the character references html/template and html.EscapeString write:
// &amp; &lt; &gt; &quot; &apos; &#NN; &#xHH;.
func unescapeHTML(s string, emit func(int, []byte)) {
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if j := strings.IndexByte(s[i:min(len(s), i+12)], ';'); j > 1 {
				ref := s[i+1 : i+j]
				if r, ok := htmlNamed[ref]; ok {
					emit(j+1, []byte(r))
					i += j + 1
					continue
				}
				if ref[0] == '#' && len(ref) > 1 {
					v := -1
					if (ref[1] == 'x' || ref[1] == 'X') && len(ref) > 2 {
						v = hexN(ref, 2, len(ref)-2)
					} else if n, err := strconv.Atoi(ref[1:]); err == nil {
						v = n
					}
					if v >= 0 && v <= 0x10FFFF {
						emit(j+1, []byte(string(rune(v))))
						i += j + 1
						continue
					}
				}
			}
		}
		emit(1, []byte{s[i]})
		i++
	}
}

// JSON redacts inside every string of a JSON document (keys and values), leaving
// numbers and structure alone, so the result stays valid JSON: for files such as
// run_summary.json that carry error texts.
func JSON(b []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(b) {
			break
		}
		if r := String(string(b[i+1 : j])); r != string(b[i+1:j]) {
			out = append(append(append(out, b[last:i+1]...), r...), '"')
			last = j + 1
		}
		i = j
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
