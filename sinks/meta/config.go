package meta

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
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
	c.HTTP = c.HTTP.DefaultsAt(DefaultRatePerSec)
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
	if !httpx.IsHTTPURL(c.BaseURL) {
		return fmt.Errorf("%s.base_url: %q is not an http(s) URL (default %s)", path, c.BaseURL, DefaultBaseURL)
	}
	if !reVersion.MatchString(c.APIVersion) {
		return fmt.Errorf("%s.api_version: %q is not a Graph API version like %s", path, c.APIVersion, DefaultAPIVersion)
	}
	if !slices.Contains(customerFileSources, c.CustomerFileSource) {
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
	// Lookalike is the audience's lookalikes.meta block (nil: none), set by sinks/delivery.
	Lookalike *Lookalike `yaml:"-"`
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

// Lookalike is the lookalike audience Meta builds from one audience (YAML key
// `audiences[i].lookalikes.meta`):
//
//	lookalikes:
//	  meta: {ratio: 0.02, country: RU, value: pred_clv}
//
// With Value set the audience itself (the seed) is a value-based custom audience: every
// upload carries each identifier's value (LOOKALIKE_VALUE), so that Meta looks for people
// like the most valuable customers.
type Lookalike struct {
	// Name of the lookalike audience; default "<seed name> lookalike <ratio %> <country>".
	Name string `yaml:"name"`
	// Ratio is the share of the country's population the lookalike covers: 0.01 (the most
	// similar 1%) to 0.20, in steps of 0.01.
	Ratio float64 `yaml:"ratio"`
	// Country is where the lookalike's people live (ISO 3166-1 alpha-2, e.g. RU).
	Country string `yaml:"country"`
	// Value makes the seed value-based: pred_clv, revenue or clv_simple (customer_metrics
	// columns); "" for a plain seed.
	Value string `yaml:"value"`
	// ValueCurrency takes the values of customer_metrics rows of this currency only (ISO
	// 4217); needed when the shop sells in several currencies.
	ValueCurrency string `yaml:"value_currency"`
}

// Lookalike ratio range (Meta: 0.01 to 0.20, in steps of 0.01).
const (
	MinLookalikeRatio = 0.01
	MaxLookalikeRatio = 0.20
)

var (
	reCountry  = regexp.MustCompile(`^[A-Z]{2}$`)
	reCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Validate checks l; path is its config path, e.g. "audiences[2].lookalikes.meta".
func (l Lookalike) Validate(path string) error {
	pct := l.Ratio * 100
	switch {
	case l.Ratio < MinLookalikeRatio || l.Ratio > MaxLookalikeRatio || math.IsNaN(l.Ratio):
		return fmt.Errorf("%s.ratio: %v is outside %v..%v (Meta's range; 0.01 = the most similar 1%% of the country)", path, l.Ratio, MinLookalikeRatio, MaxLookalikeRatio)
	case math.Abs(pct-math.Round(pct)) > 1e-9:
		return fmt.Errorf("%s.ratio: %v is not a whole percent (Meta takes steps of 0.01)", path, l.Ratio)
	case !reCountry.MatchString(l.Country):
		return fmt.Errorf("%s.country: %q is not an ISO 3166-1 alpha-2 country code in capitals, e.g. RU", path, l.Country)
	case l.Value != "" && !slices.Contains(audience.ValueColumns, l.Value):
		return fmt.Errorf("%s.value: unknown value %q (known: %s, or none for a plain seed)", path, l.Value, strings.Join(audience.ValueColumns, ", "))
	case l.ValueCurrency != "" && l.Value == "":
		return fmt.Errorf("%s.value_currency: set without value: it only says which currency a value-based seed's values come in", path)
	case l.ValueCurrency != "" && !reCurrency.MatchString(l.ValueCurrency):
		return fmt.Errorf("%s.value_currency: %q is not an ISO 4217 currency code in capitals, e.g. RUB", path, l.ValueCurrency)
	case len(l.Name) > 200:
		return fmt.Errorf("%s.name: longer than 200 characters", path)
	case strings.TrimSpace(l.Name) != l.Name:
		return fmt.Errorf("%s.name: %q has surrounding spaces; remove them so lookups by name match", path, l.Name)
	}
	return nil
}

// ValueColumn returns the seed's value column and currency ("" for a plain seed).
func (l Lookalike) ValueColumn() (column, currency string) { return l.Value, l.ValueCurrency }
