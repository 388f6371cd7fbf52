package contacts

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Hash algorithm names for Config.VKHash.
const (
	HashMD5    = "md5"
	HashSHA256 = "sha256"
)

// Config is the contacts section of the pipeline config.
//
// YAML:
//
//	contacts:
//	  default_region: RU   # ISO 3166 alpha-2 region for phones written without a country code
//	  vk_hash: md5         # md5 (default) | sha256
type Config struct {
	// DefaultRegion is used for a phone without "+" and country code when the customer's
	// country is empty or unknown. Empty means no default: such phones are rejected
	// (phone_unparseable). Defaults() sets RU.
	DefaultRegion string `yaml:"default_region"`
	// VKHash is the algorithm for VK identifiers: md5 (the zero value's meaning, and VK's
	// documented default) or sha256. "none" (plain values), which VK itself would accept,
	// is refused on purpose: raw e-mails and phones must never leave the pipeline, and a
	// plain-text upload would also put them into dry-run files and state.
	VKHash string `yaml:"vk_hash"`
}

// Defaults returns the configuration used when the config file says nothing.
func Defaults() Config { return Config{DefaultRegion: "RU", VKHash: HashMD5} }

func (c Config) withDefaults() Config {
	if c.VKHash == "" {
		c.VKHash = HashMD5
	}
	return c
}

// Validate checks the config; path is where it sits in the config file (e.g. "contacts").
func (c Config) Validate(path string) error {
	if c.DefaultRegion != "" {
		r := strings.ToUpper(c.DefaultRegion)
		if !phonenumbers.GetSupportedRegions()[r] {
			return fmt.Errorf("%s.default_region: unknown region %q (want an ISO 3166 alpha-2 code such as RU, US, DE)", path, c.DefaultRegion)
		}
	}
	switch strings.ToLower(c.VKHash) {
	case "", HashMD5, HashSHA256:
		if c.VKHash != strings.ToLower(c.VKHash) {
			return fmt.Errorf("%s.vk_hash: write %q in lower case (known: md5, sha256)", path, c.VKHash)
		}
	case "none":
		return fmt.Errorf("%s.vk_hash: \"none\" is not allowed: raw e-mails and phones must never leave the pipeline (use md5, VK's default, or sha256)", path)
	default:
		return fmt.Errorf("%s.vk_hash: unknown algorithm %q (known: md5, sha256)", path, c.VKHash)
	}
	return nil
}
