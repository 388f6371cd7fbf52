package contacts

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/audiencesync/audiencesync/transforms/orders"
)

// Profile is one platform's normalisation and hashing rules. Its value indexes the fixed-size
// arrays in Hashed.
type Profile uint8

// The profiles, one per ad platform. NumProfiles is the size of the per-profile arrays.
const (
	Yandex Profile = iota
	VK
	Meta
	Google
	NumProfiles
)

var profileNames = [NumProfiles]string{"yandex", "vk", "meta", "google"}

// String returns the platform name (yandex, vk, meta, google).
func (p Profile) String() string {
	if p < NumProfiles {
		return profileNames[p]
	}
	return fmt.Sprintf("profile(%d)", p)
}

// ProfileOf maps a platform name (as used in audience destinations and Destination.Platform)
// to its profile.
func ProfileOf(platform string) (Profile, bool) {
	for i, n := range profileNames {
		if n == platform {
			return Profile(i), true
		}
	}
	return 0, false
}

// Identifier names as used in audience configs (`identifiers: [email, phone]`).
const (
	IDEmail = "email"
	IDPhone = "phone"
)

// Reject reason codes returned by Hash. They name what was wrong, never the value.
const (
	ReasonNoConsent        = "no_consent"        // marketing consent not given: nothing hashed
	ReasonNoContacts       = "no_contacts"       // neither e-mail nor phone present
	ReasonEmailInvalid     = "email_invalid"     // e-mail present but not a usable address
	ReasonPhoneUnparseable = "phone_unparseable" // phone present but not a phone number at all
	ReasonPhoneInvalid     = "phone_invalid"     // parsed, but not a valid number in its region
)

// reason is a bit set of reject reasons; Hash returns the precomputed []string for a set so
// that a reject costs no allocation.
type reason uint8

const (
	rNoConsent reason = 1 << iota
	rNoContacts
	rEmailInvalid
	rPhoneUnparseable
	rPhoneInvalid
	numReasonBits = iota
)

var reasonCodes = [numReasonBits]string{
	ReasonNoConsent, ReasonNoContacts, ReasonEmailInvalid, ReasonPhoneUnparseable, ReasonPhoneInvalid,
}

// Hashed is one customer's contacts after hashing: for each profile, the lowercase hex hash
// of the normalised e-mail and phone ("" when absent or rejected). Profiles that share a
// normalised value and an algorithm share the same string.
type Hashed struct {
	CustomerID string
	Consent    bool // the customer allows ad use; without it nothing is hashed
	Email      [NumProfiles]string
	Phone      [NumProfiles]string
}

// Hasher normalises and hashes customers' contacts for every profile. Build it once with
// NewHasher; it is immutable and safe for concurrent use.
type Hasher struct {
	defaultRegion string
	vkMD5         bool
	regions       map[string]bool // phonenumbers' own table, read-only
	reasons       [1 << numReasonBits][]string
}

// NewHasher checks cfg and prepares everything Hash needs.
func NewHasher(cfg Config) (*Hasher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate("contacts"); err != nil {
		return nil, err
	}
	h := &Hasher{
		defaultRegion: strings.ToUpper(cfg.DefaultRegion),
		vkMD5:         cfg.VKHash == HashMD5,
		regions:       phonenumbers.GetSupportedRegions(),
	}
	for set := 1; set < len(h.reasons); set++ {
		var codes []string
		for bit := 0; bit < numReasonBits; bit++ {
			if set&(1<<bit) != 0 {
				codes = append(codes, reasonCodes[bit])
			}
		}
		h.reasons[set] = codes
	}
	return h, nil
}

// Hash normalises and hashes c's e-mail and phone for every profile. rejects lists the
// reason codes for anything that could not be used (nil when all is well); the returned
// slice is shared and must not be modified. A customer without consent is not hashed.
func (h *Hasher) Hash(c orders.Customer) (out Hashed, rejects []string) {
	out.CustomerID = c.CustomerID
	out.Consent = c.MarketingConsent
	if !c.MarketingConsent {
		return out, h.reasons[rNoConsent]
	}
	var rej reason
	email := strings.TrimSpace(c.Email)
	phone := strings.TrimSpace(c.Phone)
	if email == "" && phone == "" {
		return out, h.reasons[rNoContacts]
	}
	if email != "" {
		if !h.hashEmail(email, &out) {
			rej |= rEmailInvalid
		}
	}
	if phone != "" {
		rej |= h.hashPhone(phone, c.Country, &out)
	}
	return out, h.reasons[rej]
}

func (h *Hasher) hashEmail(email string, out *Hashed) bool {
	norm := strings.ToLower(email)
	at, ok := validEmail(norm)
	if !ok {
		return false
	}
	s := sha256Hex(norm)
	out.Email[Yandex], out.Email[Meta], out.Email[VK], out.Email[Google] = s, s, s, s
	if h.vkMD5 {
		out.Email[VK] = md5Hex(norm)
	}
	if g, changed := googleEmail(norm, at); changed {
		if g == "" {
			// "+x@gmail.com": nothing left of the address for Google; the other
			// platforms may still match the literal address.
			out.Email[Google] = ""
		} else {
			out.Email[Google] = sha256Hex(g)
		}
	}
	return true
}

// hashPhone parses the phone in the customer's region and fills every profile's phone hash.
func (h *Hasher) hashPhone(phone, country string, out *Hashed) reason {
	region := h.defaultRegion
	if country != "" && h.regions[country] {
		region = country
	}
	var num phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(phone, region, &num); err != nil {
		return rPhoneUnparseable
	}
	if !phonenumbers.IsValidNumber(&num) {
		return rPhoneInvalid
	}
	// E.164 is "+" country code and national significant number: build it in a stack
	// buffer instead of going through Format.
	var buf [32]byte
	b := append(buf[:0], '+')
	b = appendUint(b, uint64(num.GetCountryCode()))
	b = appendNSN(b, &num)
	e164 := string(b)
	digits := e164[1:]
	s := sha256Hex(digits)
	out.Phone[Yandex], out.Phone[Meta], out.Phone[VK] = s, s, s
	if h.vkMD5 {
		out.Phone[VK] = md5Hex(digits)
	}
	out.Phone[Google] = sha256Hex(e164)
	return 0
}

// appendNSN appends the national significant number: Italian-style leading zeros (kept by
// libphonenumber in italian_leading_zero / number_of_leading_zeros) followed by the number.
func appendNSN(b []byte, num *phonenumbers.PhoneNumber) []byte {
	if num.GetItalianLeadingZero() {
		n := num.GetNumberOfLeadingZeros()
		if n < 1 {
			n = 1
		}
		for ; n > 0; n-- {
			b = append(b, '0')
		}
	}
	return appendUint(b, num.GetNationalNumber())
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// validEmail checks a lower-cased, trimmed address: one "@", a non-empty local part of at
// most 64 bytes, a dotted domain, no spaces, control characters or characters that only
// appear in quoted or display forms. It returns the index of the "@".
func validEmail(s string) (int, bool) {
	if len(s) > 254 {
		return 0, false
	}
	at := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '@':
			if at >= 0 {
				return 0, false
			}
			at = i
		case c <= ' ' || c == 0x7f:
			return 0, false
		case c == '"' || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' || c == '<' ||
			c == '>' || c == '[' || c == ']' || c == '\\':
			return 0, false
		}
	}
	if at < 1 || at > 64 || at == len(s)-1 {
		return 0, false
	}
	domain := s[at+1:]
	dot := strings.IndexByte(domain, '.')
	if dot <= 0 || domain[len(domain)-1] == '.' || strings.Contains(domain, "..") {
		return 0, false
	}
	return at, true
}

// googleEmail applies Google's extra rule for gmail.com and googlemail.com: dots and any
// "+suffix" in the local part do not change the mailbox, so they are removed.
func googleEmail(s string, at int) (string, bool) {
	domain := s[at+1:]
	if domain != "gmail.com" && domain != "googlemail.com" {
		return s, false
	}
	local := s[:at]
	if p := strings.IndexByte(local, '+'); p >= 0 {
		local = local[:p]
	}
	var buf [256]byte
	b := buf[:0]
	for i := 0; i < len(local); i++ {
		if local[i] != '.' {
			b = append(b, local[i])
		}
	}
	if len(b) == 0 {
		return "", true
	}
	b = append(b, s[at:]...)
	return string(b), true
}

// hashHex returns the lowercase hex digest of s with the named algorithm. Tests use it for
// the documented "normalised value → hash" vectors.
func hashHex(alg, s string) string {
	if alg == HashMD5 {
		return md5Hex(s)
	}
	return sha256Hex(s)
}

func sha256Hex(s string) string {
	var buf [128]byte
	sum := sha256.Sum256(bytesOf(&buf, s))
	return hexString(sum[:])
}

func md5Hex(s string) string {
	var buf [128]byte
	sum := md5.Sum(bytesOf(&buf, s))
	return hexString(sum[:])
}

// bytesOf is s as bytes: in buf (on the caller's stack, no allocation on the hot path) when
// it fits, else a copy.
func bytesOf(buf *[128]byte, s string) []byte {
	if len(s) <= len(buf) {
		return append(buf[:0], s...)
	}
	return []byte(s)
}

// hexString is the lowercase hex of a digest of at most 32 bytes.
func hexString(sum []byte) string {
	var out [64]byte
	n := hex.Encode(out[:], sum)
	return string(out[:n])
}
