package meta

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/secret"
)

// Defaults of Config. Meta's limits are per app and ad account and expressed in "points", so
// the rate below is a conservative default rather than a documented number.
const (
	DefaultBaseURL            = "https://graph.facebook.com"
	DefaultAPIVersion         = "v25.0"
	DefaultBatchSize          = 10000 // Meta's maximum rows per /users request
	MaxBatchSize              = 10000
	DefaultRatePerSec         = 5
	DefaultCustomerFileSource = "USER_PROVIDED_ONLY"
)

// customerFileSources are the values Meta accepts for customer_file_source.
var customerFileSources = []string{"USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"}

var (
	reVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
	reDigits  = regexp.MustCompile(`^[0-9]+$`)
)

// Config is the Meta Marketing API connection shared by every Meta audience (YAML key
// `sinks.meta`). Zero fields take the defaults listed on each field (see Defaults).
type Config struct {
	BaseURL    string `yaml:"base_url"`    // default https://graph.facebook.com (a fake in tests)
	APIVersion string `yaml:"api_version"` // default v25.0
	// AccessToken is a system-user access token with ads_management on the ad accounts.
	AccessToken secret.Ref `yaml:"access_token"`
	// AppSecret is the app's secret; every call carries appsecret_proof derived from it.
	AppSecret secret.Ref `yaml:"app_secret"`
	// CustomerFileSource is sent when an audience is created; default USER_PROVIDED_ONLY.
	CustomerFileSource string `yaml:"customer_file_source"`
	// BatchSize is the number of rows per request, at most 10,000 (the default).
	BatchSize int `yaml:"batch_size"`
	// HTTP is the timeout, retry and rate-limit policy; http.rate_per_sec defaults to 5.
	HTTP httpx.Config `yaml:"http"`
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	c.BaseURL = cmp.Or(c.BaseURL, DefaultBaseURL)
	c.APIVersion = cmp.Or(c.APIVersion, DefaultAPIVersion)
	c.CustomerFileSource = cmp.Or(c.CustomerFileSource, DefaultCustomerFileSource)
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.HTTP.RatePerSec = cmp.Or(c.HTTP.RatePerSec, DefaultRatePerSec)
	c.HTTP = c.HTTP.Defaults()
	return c
}

// Validate checks c (defaults applied or not); path is its config path, e.g. "sinks.meta".
// Secrets are resolved to prove they exist, never printed.
func (c Config) Validate(path string) error {
	if err := c.ValidateSettings(path); err != nil {
		return err
	}
	if err := c.AccessToken.Validate(path + ".access_token"); err != nil {
		return err
	}
	return c.AppSecret.Validate(path + ".app_secret")
}

// ValidateSettings checks everything but the secrets' presence (dry runs need no secrets).
func (c Config) ValidateSettings(path string) error {
	c = c.Defaults()
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s.base_url: %q is not an http(s) URL (default %s)", path, c.BaseURL, DefaultBaseURL)
	}
	if !reVersion.MatchString(c.APIVersion) {
		return fmt.Errorf("%s.api_version: %q is not a Graph API version like %s", path, c.APIVersion, DefaultAPIVersion)
	}
	if !contains(customerFileSources, c.CustomerFileSource) {
		return fmt.Errorf("%s.customer_file_source: unknown value %q (known: %s)", path, c.CustomerFileSource, strings.Join(customerFileSources, ", "))
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		return fmt.Errorf("%s.batch_size: %d is outside 1..%d (Meta takes at most %d rows per request)", path, c.BatchSize, MaxBatchSize, MaxBatchSize)
	}
	return c.HTTP.Validate(path + ".http")
}

// Target is one audience's custom audience on Meta (YAML key
// `audiences[i].destinations.meta`). The audience is found by ID, or by Name in the ad account
// and created there when absent.
type Target struct {
	// AdAccountID is the ad account, with or without the "act_" prefix.
	AdAccountID string `yaml:"ad_account_id"`
	// ID is an existing custom audience id. When empty the audience is looked up by Name.
	ID string `yaml:"id"`
	// Name of the custom audience; default: the audience's name in the config.
	Name string `yaml:"name"`
	// Description is set when the audience is created.
	Description string `yaml:"description"`
}

// Validate checks t; path is its config path, e.g. "audiences[2].destinations.meta".
func (t Target) Validate(path string) error {
	acct := strings.TrimPrefix(t.AdAccountID, "act_")
	switch {
	case acct == "":
		return fmt.Errorf("%s.ad_account_id: missing: set the ad account id (digits, with or without act_)", path)
	case !reDigits.MatchString(acct):
		return fmt.Errorf("%s.ad_account_id: %q is not an ad account id (digits, with or without act_)", path, t.AdAccountID)
	case t.ID != "" && !reDigits.MatchString(t.ID):
		return fmt.Errorf("%s.id: %q is not a custom audience id (digits)", path, t.ID)
	case len(t.Name) > 200:
		return fmt.Errorf("%s.name: longer than 200 characters", path)
	}
	return nil
}

// account returns the ad account id without the act_ prefix.
func (t Target) account() string { return strings.TrimPrefix(t.AdAccountID, "act_") }

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
