package httpxtest

import (
	"encoding/hex"
	"sort"
)

// Hashes is a fake platform's set of identifier hashes (SHA-256), kept as bytes.
type Hashes map[[32]byte]struct{}

// Sorted returns the hashes as sorted lowercase hex (nil when there is none).
func (h Hashes) Sorted() []string {
	var out []string
	for k := range h {
		out = append(out, hex.EncodeToString(k[:]))
	}
	sort.Strings(out)
	return out
}
