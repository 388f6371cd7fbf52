package googleads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	datamanager "google.golang.org/api/datamanager/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/secret"
)

// Platform is the name of this sink in configs, logs and the sync_log table.
const Platform = "google"

// Client is the Data Manager API for one set of credentials: one method per API call, built on
// the official google.golang.org/api/datamanager/v1 client whose HTTP traffic goes through
// httpx (rate limit, retries, auth, redaction). Safe for concurrent use; every Destination
// built from it shares its rate limit.
type Client struct {
	cfg  Config
	svc  *datamanager.Service
	http *httpx.Client
	ts   *recordingTokenSource
}

// Option changes how NewClient builds a Client.
type Option func(*options)

type options struct {
	ts   oauth2.TokenSource
	http []httpx.Option
}

// WithTokenSource replaces the configured credentials (tests, or a caller with its own auth).
func WithTokenSource(ts oauth2.TokenSource) Option { return func(o *options) { o.ts = ts } }

// WithHTTPOptions passes options to the underlying httpx client (a transport or clock in tests).
func WithHTTPOptions(o ...httpx.Option) Option {
	return func(x *options) { x.http = append(x.http, o...) }
}

// NewClient validates cfg, loads the credentials (scope datamanager) and returns a client.
// The pipeline builds one per run and binds it to each Google audience with NewDestination.
func NewClient(ctx context.Context, cfg Config, opts ...Option) (*Client, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	cfg = cfg.Defaults()
	check := cfg
	if o.ts != nil {
		// Credentials come from the option: validate everything else.
		check.CredentialsType, check.Credentials = CredentialsApplicationDefault, secret.Ref{}
	}
	if err := check.Validate("sinks.google"); err != nil {
		return nil, err
	}
	ts := o.ts
	if ts == nil {
		var err error
		if ts, err = tokenSource(ctx, cfg); err != nil {
			return nil, err
		}
	}
	rts := &recordingTokenSource{src: oauth2.ReuseTokenSource(nil, ts)}
	hc := httpx.New(Platform, cfg.HTTP, append([]httpx.Option{
		httpx.WithTokenSource(rts),
		httpx.WithSecrets(rts.secrets),
	}, o.http...)...)
	svc, err := datamanager.NewService(ctx, option.WithHTTPClient(hc.HTTPClient()), option.WithEndpoint(cfg.Endpoint))
	if err != nil {
		return nil, fmt.Errorf("google: building the Data Manager client: %w", err)
	}
	return &Client{cfg: cfg, svc: svc, http: hc, ts: rts}, nil
}

func tokenSource(ctx context.Context, cfg Config) (oauth2.TokenSource, error) {
	if cfg.CredentialsType == CredentialsApplicationDefault {
		creds, err := google.FindDefaultCredentials(ctx, Scope)
		if err != nil {
			return nil, fmt.Errorf("google: no application default credentials (%v): set sinks.google.credentials to a service account key, or run `gcloud auth application-default login --scopes=%s,https://www.googleapis.com/auth/cloud-platform`", err, Scope)
		}
		return creds.TokenSource, nil
	}
	js, err := cfg.Credentials.Resolve()
	if err != nil {
		return nil, fmt.Errorf("google: credentials: %w", err)
	}
	creds, err := google.CredentialsFromJSONWithType(ctx, []byte(js), google.CredentialsType(cfg.CredentialsType), Scope)
	if err != nil {
		// The parser's message never quotes the key, but keep only its gist.
		return nil, fmt.Errorf("google: credentials in %s are not valid %s JSON: %s", cfg.Credentials, cfg.CredentialsType, httpx.Redact(err.Error(), js))
	}
	return creds.TokenSource, nil
}

// recordingTokenSource remembers the access tokens it handed out so that they can be
// redacted from every error text.
type recordingTokenSource struct {
	src  oauth2.TokenSource
	mu   sync.Mutex
	seen []string
}

func (r *recordingTokenSource) Token() (*oauth2.Token, error) {
	t, err := r.src.Token()
	if err == nil {
		r.mu.Lock()
		if len(r.seen) == 0 || r.seen[len(r.seen)-1] != t.AccessToken {
			r.seen = append(r.seen, t.AccessToken)
			if len(r.seen) > 8 {
				r.seen = r.seen[1:]
			}
		}
		r.mu.Unlock()
	}
	return t, err
}

func (r *recordingTokenSource) secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// Stats reports the underlying HTTP layer's counters (attempts, retries, waits).
func (c *Client) Stats() httpx.Stats { return c.http.Stats() }

// Ingest sends one audienceMembers:ingest request.
func (c *Client) Ingest(ctx context.Context, req *datamanager.IngestAudienceMembersRequest) (*datamanager.IngestAudienceMembersResponse, error) {
	resp, err := c.svc.AudienceMembers.Ingest(req).Context(ctx).Do()
	if err != nil {
		return nil, c.wrap("audienceMembers:ingest", err)
	}
	return resp, nil
}

// Remove sends one audienceMembers:remove request.
func (c *Client) Remove(ctx context.Context, req *datamanager.RemoveAudienceMembersRequest) (*datamanager.RemoveAudienceMembersResponse, error) {
	resp, err := c.svc.AudienceMembers.Remove(req).Context(ctx).Do()
	if err != nil {
		return nil, c.wrap("audienceMembers:remove", err)
	}
	return resp, nil
}

// APIError is an error answer of the Data Manager API.
type APIError struct {
	Method     string // e.g. audienceMembers:ingest
	HTTPStatus int
	Status     string // google.rpc status, e.g. INVALID_ARGUMENT, PERMISSION_DENIED
	Message    string // redacted
}

func (e *APIError) Error() string {
	return fmt.Sprintf("google: %s: HTTP %d %s: %s: %s", e.Method, e.HTTPStatus, e.Status, e.Message, e.hint())
}

// Refused reports an answer that refused the request outright (4xx other than 429): nothing
// was applied.
func (e *APIError) Refused() bool {
	return e.HTTPStatus >= 400 && e.HTTPStatus < 500 && e.HTTPStatus != http.StatusTooManyRequests
}

// Retryable reports whether Google throttled or failed on its side (retries ran out): a later
// run may succeed with the same request.
func (e *APIError) Retryable() bool {
	return e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus >= 500
}

func (e *APIError) hint() string {
	switch {
	case e.Retryable():
		return "Google throttled or failed: lower sinks.google.http.rate_per_sec or run later"
	case e.HTTPStatus == http.StatusUnauthorized:
		return "the credentials were refused: check the key file and the datamanager scope"
	case e.HTTPStatus == http.StatusForbidden:
		return "permission denied: give the credentials' user access to the operating account (or set login_account_id to its manager account) and accept the Customer Match terms"
	case e.HTTPStatus == http.StatusNotFound:
		return "not found: check operating_account_id and user_list_id"
	}
	return "the request was rejected: check the user list id, consent and the identifiers' hashing"
}

func (c *Client) wrap(method string, err error) error {
	redact := func(s string) string { return httpx.Redact(s, c.ts.secrets()...) }
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		ae := &APIError{Method: method, HTTPStatus: ge.Code, Message: redact(ge.Message)}
		var env struct {
			Error struct {
				Status  string `json:"status"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(ge.Body), &env) == nil {
			ae.Status = env.Error.Status
			if ae.Message == "" {
				ae.Message = redact(env.Error.Message)
			}
		}
		return ae
	}
	// Transport errors come from httpx already redacted; redact again in case the generated
	// client added text of its own.
	return &redactedError{msg: fmt.Sprintf("google: %s: %s", method, redact(err.Error())), err: err}
}

// redactedError keeps the chain (errors.Is(err, context.Canceled) works) under a redacted text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
