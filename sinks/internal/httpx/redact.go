package httpx

import (
	"sort"
	"strings"
)

// Redacted replaces every secret in error text.
const Redacted = "[REDACTED]"

// minSecretLen keeps very short "secrets" (a test value like "x", an empty string) from
// shredding every message; real tokens are far longer.
const minSecretLen = 4

// Redact returns s with every occurrence of every secret replaced by [REDACTED]. Longer
// secrets are replaced first so that a secret containing another one is removed whole.
func Redact(s string, secrets ...string) string {
	if len(secrets) == 0 || s == "" {
		return s
	}
	ss := make([]string, 0, len(secrets))
	for _, x := range secrets {
		if len(x) >= minSecretLen {
			ss = append(ss, x)
		}
	}
	sort.Slice(ss, func(i, j int) bool { return len(ss[i]) > len(ss[j]) })
	for _, x := range ss {
		s = strings.ReplaceAll(s, x, Redacted)
	}
	return s
}
