package vkads

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/secret"
)

// DefaultBaseURL is the API host.
const DefaultBaseURL = "https://ads.vk.com"

// Hash algorithms of the identifiers in a list.
const (
	HashMD5    = "md5"
	HashSHA256 = "sha256"
)

// List types supported by the sink.
const (
	TypePhones = "phones"
	TypeEmails = "emails"
)

// Config is the platform-level block, `sinks.vk` in the config file:
//
//	sinks:
//	  vk:
//	    client_id: "abcdef123"                  # the API app's client id (not secret)
//	    client_secret: {env: VK_ADS_CLIENT_SECRET}
//	    agency_client_name: ""                  # agencies: the client account to act for
//	    token_cache: ""                         # default <state dir>/vk/token-<client_id>.json
//	    hash: md5                               # md5 (default) | sha256: must match contacts.vk_hash
//	    uploads_per_minute: 1                   # users_lists uploads (VK: about one a minute)
//	    http: {rate_per_sec: 2}                 # see httpx.Config
type Config struct {
	BaseURL          string       `yaml:"base_url"`
	ClientID         string       `yaml:"client_id"`
	ClientSecret     secret.Ref   `yaml:"client_secret"`
	AgencyClientName string       `yaml:"agency_client_name"`
	TokenCache       string       `yaml:"token_cache"`
	Hash             string       `yaml:"hash"`
	UploadsPerMinute float64      `yaml:"uploads_per_minute"`
	HTTP             httpx.Config `yaml:"http"`
}

// Defaults returns c with zero fields set to their defaults. TokenCache stays empty here; the
// sink derives it from the state dir (WithStateDir).
func (c Config) Defaults() Config {
	c.BaseURL = strings.TrimRight(cmp.Or(c.BaseURL, DefaultBaseURL), "/")
	c.Hash = cmp.Or(c.Hash, HashMD5)
	c.UploadsPerMinute = cmp.Or(c.UploadsPerMinute, 1)
	c.HTTP = c.HTTP.DefaultsAt(2)
	return c
}

// Validate checks c, including that the client secret resolves; path is e.g. "sinks.vk".
func (c Config) Validate(path string) error {
	if err := c.validateShape(path, true); err != nil {
		return err
	}
	return c.ClientSecret.Validate(path + ".client_secret")
}

// ValidateSettings is Validate without the credentials, for dry runs.
func (c Config) ValidateSettings(path string) error { return c.validateShape(path, false) }

// validateShape checks everything but the secret's value; withCreds requires the client id
// and a secret reference.
func (c Config) validateShape(path string, withCreds bool) error {
	if err := httpx.CheckURL(path+".base_url", c.BaseURL); err != nil {
		return err
	}
	if strings.TrimSpace(c.ClientID) == "" && withCreds {
		return fmt.Errorf("%s.client_id: required: the client id of the VK Ads API app (Settings → API access)", path)
	}
	if err := c.ClientSecret.CheckSource(path+".client_secret", withCreds, "secret", ""); err != nil {
		return err
	}
	switch c.Hash {
	case "", HashMD5, HashSHA256:
	case "none":
		return fmt.Errorf("%s.hash: \"none\" is not allowed: raw e-mails and phones must never leave the pipeline (use md5, VK's default, or sha256)", path)
	default:
		return fmt.Errorf("%s.hash: unknown algorithm %q (known: md5, sha256)", path, c.Hash)
	}
	return cmp.Or(httpx.NotNegative(path+".uploads_per_minute", c.UploadsPerMinute), c.HTTP.Validate(path+".http"))
}

// Target is one audience's list, `audiences[i].destinations.vk`:
//
//	destinations:
//	  vk:
//	    type: emails                  # phones | emails (required)
//	    name: "audiencesync mattress" # list name; default the audience name
//	    id: 0                         # an existing list's id; wins over name
//	    segment: {name: "…"}          # optional: also an audience segment over the list
type Target struct {
	Name    string         `yaml:"name"`
	ID      int64          `yaml:"id"`
	Type    string         `yaml:"type"`
	Segment *SegmentTarget `yaml:"segment"`
}

// SegmentTarget asks for a remarketing segment over the list, for use in campaigns.
type SegmentTarget struct {
	Name string `yaml:"name"` // default: the list's name
}

// IdentifierTypes is the one identifier type the list holds: a phones list gets the
// audience's phones only, an emails list its e-mails.
func (t Target) IdentifierTypes() []string {
	if t.Type == TypePhones {
		return []string{"phone"}
	}
	return []string{"email"}
}

// Validate checks t; path is e.g. "audiences[2].destinations.vk".
func (t Target) Validate(path string) error {
	switch t.Type {
	case TypePhones, TypeEmails:
	case "":
		return fmt.Errorf("%s.type: required (known: phones, emails)", path)
	default:
		return fmt.Errorf("%s.type: unknown type %q (known: phones, emails)", path, t.Type)
	}
	if t.ID < 0 {
		return fmt.Errorf("%s.id: must be a positive list id, got %d", path, t.ID)
	}
	if strings.TrimSpace(t.Name) != t.Name {
		return fmt.Errorf("%s.name: %q has surrounding spaces; remove them so lookups by name match", path, t.Name)
	}
	if len(t.Name) > 255 {
		return fmt.Errorf("%s.name: %d characters, at most 255", path, len(t.Name))
	}
	return nil
}
