package googleads

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/secret"
)

// Defaults of Config.
const (
	DefaultEndpoint   = "https://datamanager.googleapis.com/"
	Scope             = "https://www.googleapis.com/auth/datamanager"
	DefaultBatchSize  = 10000 // the Data Manager API's maximum audience members per request
	MaxBatchSize      = 10000
	DefaultRatePerSec = 5
	// DefaultParallelRequests keeps a second request in flight while one is encoded or
	// answered, so that a large upload runs at the rate limit.
	DefaultParallelRequests = 2
	MaxParallelRequests     = 16
)

// Credential types (Config.CredentialsType).
const (
	CredentialsServiceAccount     = "service_account"     // a service account key JSON
	CredentialsAuthorizedUser     = "authorized_user"     // a user's OAuth refresh token JSON (gcloud auth application-default login)
	CredentialsApplicationDefault = "application_default" // ADC: GOOGLE_APPLICATION_CREDENTIALS, gcloud, or the metadata server
)

var credentialTypes = []string{CredentialsServiceAccount, CredentialsAuthorizedUser, CredentialsApplicationDefault}

var reDigits = regexp.MustCompile(`^[0-9]+$`)

// Config is the Data Manager API connection shared by every Google audience (YAML key
// `sinks.google`). Zero fields take the defaults listed on each field.
type Config struct {
	// Endpoint is the API root; default https://datamanager.googleapis.com/ (a fake in tests).
	Endpoint string `yaml:"endpoint"`
	// CredentialsType is service_account, authorized_user or application_default; default
	// service_account when Credentials is set, application_default otherwise.
	CredentialsType string `yaml:"credentials_type"`
	// Credentials holds the JSON of a service account key or of an authorized user.
	Credentials secret.Ref `yaml:"credentials"`
	// LoginAccountID is the Google Ads manager account through which the operating accounts
	// are reached, digits (dashes allowed); a Target may override it. Empty: direct access.
	LoginAccountID string `yaml:"login_account_id"`
	// ValidateOnly sends every request with validateOnly: Google checks it and changes nothing
	// (a remote dry run).
	ValidateOnly bool `yaml:"validate_only"`
	// BatchSize is the number of audience members per request, at most 10,000 (the default).
	BatchSize int `yaml:"batch_size"`
	// ParallelRequests is how many requests of one upload may be in flight at once, 1..16,
	// default 2. The rate limit (http.rate_per_sec) still applies to all of them together.
	ParallelRequests int `yaml:"parallel_requests"`
	// HTTP is the timeout, retry and rate-limit policy; http.rate_per_sec defaults to 5.
	HTTP httpx.Config `yaml:"http"`
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	c.Endpoint = cmp.Or(c.Endpoint, DefaultEndpoint)
	if c.CredentialsType == "" {
		c.CredentialsType = CredentialsApplicationDefault
		if !c.Credentials.IsZero() {
			c.CredentialsType = CredentialsServiceAccount
		}
	}
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.ParallelRequests = cmp.Or(c.ParallelRequests, DefaultParallelRequests)
	c.HTTP = c.HTTP.DefaultsAt(DefaultRatePerSec)
	return c
}

// ValidateSettings checks everything but the credentials (dry runs need none).
func (c Config) ValidateSettings(path string) error {
	c = c.Defaults()
	if !httpx.IsHTTPURL(c.Endpoint) {
		return fmt.Errorf("%s.endpoint: %q is not an http(s) URL (default %s)", path, c.Endpoint, DefaultEndpoint)
	}
	if !slices.Contains(credentialTypes, c.CredentialsType) {
		return fmt.Errorf("%s.credentials_type: unknown type %q (known: %s)", path, c.CredentialsType, strings.Join(credentialTypes, ", "))
	}
	if c.LoginAccountID != "" && !reDigits.MatchString(customerID(c.LoginAccountID)) {
		return fmt.Errorf("%s.login_account_id: %q is not a Google Ads customer id (digits, dashes allowed)", path, c.LoginAccountID)
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		return fmt.Errorf("%s.batch_size: %d is outside 1..%d (the Data Manager API takes at most %d members per request)", path, c.BatchSize, MaxBatchSize, MaxBatchSize)
	}
	if c.ParallelRequests < 1 || c.ParallelRequests > MaxParallelRequests {
		return fmt.Errorf("%s.parallel_requests: %d is outside 1..%d", path, c.ParallelRequests, MaxParallelRequests)
	}
	return c.HTTP.Validate(path + ".http")
}

// Validate checks c; path is its config path, e.g. "sinks.google". The credentials JSON is
// read and its "type" checked, never printed.
func (c Config) Validate(path string) error {
	if err := c.ValidateSettings(path); err != nil {
		return err
	}
	c = c.Defaults()
	switch c.CredentialsType {
	case CredentialsServiceAccount, CredentialsAuthorizedUser:
		if err := c.Credentials.Validate(path + ".credentials"); err != nil {
			return err
		}
		js, _ := c.Credentials.Resolve()
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(js), &head); err != nil {
			return fmt.Errorf("%s.credentials: %s does not hold JSON: download the key file again", path, c.Credentials)
		}
		if head.Type != c.CredentialsType {
			return fmt.Errorf("%s.credentials: %s holds credentials of type %q, but credentials_type is %q", path, c.Credentials, head.Type, c.CredentialsType)
		}
	case CredentialsApplicationDefault:
		if !c.Credentials.IsZero() {
			return fmt.Errorf("%s.credentials: set together with credentials_type application_default: remove one", path)
		}
	default:
		return fmt.Errorf("%s.credentials_type: unknown type %q (known: %s)", path, c.CredentialsType, strings.Join(credentialTypes, ", "))
	}
	return nil
}

// Target is one audience's Customer Match user list (YAML key
// `audiences[i].destinations.google`). The list must exist: create it in Google Ads (or via
// the Data Manager userLists API) and put its id here.
type Target struct {
	// OperatingAccountID is the Google Ads customer that owns the user list (digits, dashes allowed).
	OperatingAccountID string `yaml:"operating_account_id"`
	// UserListID is the Customer Match user list id (the request's productDestinationId).
	UserListID string `yaml:"user_list_id"`
	// LoginAccountID overrides the config's manager account for this audience.
	LoginAccountID string `yaml:"login_account_id"`
}

// Validate checks t; path is its config path, e.g. "audiences[2].destinations.google".
func (t Target) Validate(path string) error {
	switch {
	case t.OperatingAccountID == "":
		return fmt.Errorf("%s.operating_account_id: missing: set the Google Ads customer id that owns the user list", path)
	case !reDigits.MatchString(customerID(t.OperatingAccountID)):
		return fmt.Errorf("%s.operating_account_id: %q is not a Google Ads customer id (digits, dashes allowed)", path, t.OperatingAccountID)
	case t.UserListID == "":
		return fmt.Errorf("%s.user_list_id: missing: create the Customer Match list in Google Ads and set its id", path)
	case !reDigits.MatchString(t.UserListID):
		return fmt.Errorf("%s.user_list_id: %q is not a user list id (digits)", path, t.UserListID)
	case t.LoginAccountID != "" && !reDigits.MatchString(customerID(t.LoginAccountID)):
		return fmt.Errorf("%s.login_account_id: %q is not a Google Ads customer id (digits, dashes allowed)", path, t.LoginAccountID)
	}
	return nil
}

// customerID drops the dashes of the 123-456-7890 form shown in the Google Ads UI.
func customerID(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "-", "") }
