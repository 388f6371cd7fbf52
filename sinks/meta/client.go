package meta

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
)

// Platform is the name of this sink in configs, logs and the sync_log table.
const Platform = "meta"

// Client is the Meta Marketing API for one app and token: one method per API call. It is safe
// for concurrent use, and every Destination built from it shares its rate limit.
type Client struct {
	cfg   Config
	base  string // BaseURL + "/" + APIVersion, no trailing slash
	http  *httpx.Client
	token string
	proof string // appsecret_proof: hex HMAC-SHA256(key = app secret, message = token)
	// secrets are redacted from every error this client returns.
	secrets []string
}

// NewClient validates cfg, resolves its secrets and returns a client; opts go to the HTTP
// layer (tests pass a transport or a clock). Account builds one on first use.
func NewClient(cfg Config, opts ...httpx.Option) (*Client, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate("sinks.meta"); err != nil {
		return nil, err
	}
	token, err := cfg.AccessToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("meta: access_token: %w", err)
	}
	appSecret, err := cfg.AppSecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("meta: app_secret: %w", err)
	}
	proof := AppSecretProof(appSecret, token)
	secrets := []string{token, appSecret, proof, url.QueryEscape(token), url.QueryEscape(appSecret)}
	hopts := append([]httpx.Option{
		httpx.WithClassifier(Classify),
		httpx.WithSecrets(func() []string { return secrets }),
	}, opts...)
	return &Client{
		cfg:     cfg,
		base:    strings.TrimRight(cfg.BaseURL, "/") + "/" + cfg.APIVersion,
		http:    httpx.New(Platform, cfg.HTTP, hopts...),
		token:   token,
		proof:   proof,
		secrets: secrets,
	}, nil
}

// Stats reports the underlying HTTP layer's counters (attempts, retries, waits).
func (c *Client) Stats() httpx.Stats { return c.http.Stats() }

// Requests is the number of HTTP requests the client has sent.
func (c *Client) Requests() int64 { return c.http.Stats().Requests }

// AppSecretProof is the appsecret_proof Meta requires with every call made with a token:
// lowercase hex HMAC-SHA256 with the app secret as key and the access token as message.
func AppSecretProof(appSecret, token string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// CustomAudience is the part of a custom audience this sink reads.
type CustomAudience struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Subtype      string `json:"subtype"`        // CUSTOM, LOOKALIKE, …
	IsValueBased bool   `json:"is_value_based"` // created with is_value_based=1
	// LookalikeSpec is set for lookalikes: the spec and its origin audience(s).
	LookalikeSpec *struct {
		Type    string  `json:"type"`
		Ratio   float64 `json:"ratio"`
		Country string  `json:"country"`
		Origin  []struct {
			ID string `json:"id"`
		} `json:"origin"`
	} `json:"lookalike_spec"`
	// ApproximateCount is Meta's approximate_count_lower_bound (nil when not reported).
	ApproximateCount *int64 `json:"approximate_count_lower_bound"`
}

// listFields are the fields ListCustomAudiences asks for.
const listFields = "id,name,subtype,is_value_based,lookalike_spec,approximate_count_lower_bound"

type listResponse struct {
	Data   []CustomAudience `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

// ListCustomAudiences returns every custom audience of the ad account (GET
// /act_{id}/customaudiences?fields=id,name,subtype,…), following the paging cursors.
func (c *Client) ListCustomAudiences(ctx context.Context, adAccountID string) ([]CustomAudience, error) {
	adAccountID = strings.TrimPrefix(adAccountID, "act_")
	var all []CustomAudience
	after := ""
	for page := 0; ; page++ {
		if page > 1000 {
			return nil, fmt.Errorf("meta: listing custom audiences of act_%s: more than 1000 pages, giving up", adAccountID)
		}
		q := url.Values{"fields": {listFields}, "limit": {"500"}}
		if after != "" {
			q.Set("after", after)
		}
		var out listResponse
		if err := c.call(ctx, http.MethodGet, "/act_"+adAccountID+"/customaudiences", q, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Data...)
		if out.Paging.Next == "" || out.Paging.Cursors.After == "" || len(out.Data) == 0 {
			return all, nil
		}
		after = out.Paging.Cursors.After
	}
}

// CreateAudienceRequest is the body of POST /act_{id}/customaudiences.
type CreateAudienceRequest struct {
	Name               string `json:"name"`
	Subtype            string `json:"subtype"` // always CUSTOM here
	CustomerFileSource string `json:"customer_file_source"`
	Description        string `json:"description,omitempty"`
	// IsValueBased makes a value-based seed: every upload then carries LOOKALIKE_VALUE.
	IsValueBased bool `json:"is_value_based,omitempty"`
}

func (r CreateAudienceRequest) form() url.Values {
	v := url.Values{"name": {r.Name}, "subtype": {r.Subtype}, "customer_file_source": {r.CustomerFileSource}}
	if r.Description != "" {
		v.Set("description", r.Description)
	}
	if r.IsValueBased {
		v.Set("is_value_based", "1")
	}
	return v
}

// LookalikeSpec is the lookalike_spec of a lookalike creation.
type LookalikeSpec struct {
	Type    string  `json:"type"` // custom_ratio
	Ratio   float64 `json:"ratio"`
	Country string  `json:"country"`
}

// CreateLookalikeRequest is the body of POST /act_{id}/customaudiences for a lookalike.
type CreateLookalikeRequest struct {
	Name     string
	OriginID string // the source custom audience
	Spec     LookalikeSpec
}

func (r CreateLookalikeRequest) form() url.Values {
	spec, _ := json.Marshal(r.Spec) // plain fields: cannot fail
	return url.Values{"name": {r.Name}, "subtype": {"LOOKALIKE"}, "origin_audience_id": {r.OriginID}, "lookalike_spec": {string(spec)}}
}

// CreateLookalike creates a lookalike audience of the origin audience and returns its id.
func (c *Client) CreateLookalike(ctx context.Context, adAccountID string, req CreateLookalikeRequest) (string, error) {
	return c.createAudience(ctx, adAccountID, req.form(), "lookalike "+strconv.Quote(req.Name))
}

// CreateCustomAudience creates a customer-file custom audience and returns its id.
func (c *Client) CreateCustomAudience(ctx context.Context, adAccountID string, req CreateAudienceRequest) (string, error) {
	return c.createAudience(ctx, adAccountID, req.form(), "custom audience "+strconv.Quote(req.Name))
}

// createAudience POSTs form to the ad account's customaudiences and returns the new id; what
// names the audience in errors.
func (c *Client) createAudience(ctx context.Context, adAccountID string, form url.Values, what string) (string, error) {
	adAccountID = strings.TrimPrefix(adAccountID, "act_")
	var out struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, http.MethodPost, "/act_"+adAccountID+"/customaudiences", form, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("meta: creating %s in act_%s: the answer holds no id", what, adAccountID)
	}
	return out.ID, nil
}

// Session ties the batches of one logical upload together.
type Session struct {
	SessionID         int64 `json:"session_id"`
	BatchSeq          int   `json:"batch_seq"` // 1-based
	LastBatchFlag     bool  `json:"last_batch_flag"`
	EstimatedNumTotal int   `json:"estimated_num_total"`
}

// UsersRequest is the body of POST|DELETE /{audience_id}/users and POST
// /{audience_id}/usersreplace. Payload is the exact JSON of the payload parameter
// ({"schema":[…],"data":[[…],…]}), built by the sink without copying every row into a struct.
type UsersRequest struct {
	Payload json.RawMessage `json:"payload"`
	Session Session         `json:"session"`
}

// UsersResponse is Meta's answer to an upload batch.
type UsersResponse struct {
	AudienceID        string `json:"audience_id"`
	SessionID         string `json:"session_id"`
	NumReceived       int64  `json:"num_received"`
	NumInvalidEntries int64  `json:"num_invalid_entries"`
}

// Operation is one of the three member-changing calls.
type Operation string

const (
	OpAdd     Operation = "add"     // POST /{id}/users
	OpRemove  Operation = "remove"  // DELETE /{id}/users
	OpReplace Operation = "replace" // POST /{id}/usersreplace
)

func (op Operation) route(audienceID string) (method, path string) {
	switch op {
	case OpRemove:
		return http.MethodDelete, "/" + audienceID + "/users"
	case OpReplace:
		return http.MethodPost, "/" + audienceID + "/usersreplace"
	}
	return http.MethodPost, "/" + audienceID + "/users"
}

// AddUsers adds one batch of rows to the audience.
func (c *Client) AddUsers(ctx context.Context, audienceID string, req UsersRequest) (UsersResponse, error) {
	return c.users(ctx, OpAdd, audienceID, req)
}

// RemoveUsers removes one batch of rows from the audience.
func (c *Client) RemoveUsers(ctx context.Context, audienceID string, req UsersRequest) (UsersResponse, error) {
	return c.users(ctx, OpRemove, audienceID, req)
}

// ReplaceUsers sends one batch of a replace session: when the batch with LastBatchFlag is
// accepted, the audience holds exactly the rows of the session.
func (c *Client) ReplaceUsers(ctx context.Context, audienceID string, req UsersRequest) (UsersResponse, error) {
	return c.users(ctx, OpReplace, audienceID, req)
}

func (c *Client) users(ctx context.Context, op Operation, audienceID string, req UsersRequest) (UsersResponse, error) {
	session, err := json.Marshal(req.Session)
	if err != nil {
		return UsersResponse{}, err
	}
	method, path := op.route(audienceID)
	var out UsersResponse
	err = c.call(ctx, method, path, url.Values{"payload": {string(req.Payload)}, "session": {string(session)}}, &out)
	return out, err
}

// call sends one request. GET parameters go in the query; POST and DELETE parameters go in a
// form body so that the token stays out of URLs (and of the logs of every proxy on the way).
func (c *Client) call(ctx context.Context, method, path string, params url.Values, out any) error {
	if params == nil {
		params = url.Values{}
	}
	params.Set("access_token", c.token)
	params.Set("appsecret_proof", c.proof)
	u := c.base + path
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequestWithContext(ctx, method, u+"?"+params.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, strings.NewReader(params.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return fmt.Errorf("meta: building %s %s: %s", method, path, c.redact(err.Error()))
	}
	resp, body, err := c.http.Do(ctx, req)
	if err != nil {
		// Prefer Meta's own error (code, subcode, fbtrace_id) over the bare HTTP status.
		if resp != nil {
			if ae := parseAPIError(resp.StatusCode, body); ae != nil {
				ae.Method, ae.Path = method, path
				ae.Message = c.redact(ae.Message)
				return ae
			}
		}
		return err
	}
	if ae := parseAPIError(resp.StatusCode, body); ae != nil {
		ae.Method, ae.Path = method, path
		ae.Message = c.redact(ae.Message)
		return ae
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("meta: %s %s: cannot decode the answer (%v): is base_url pointing at the Graph API?", method, path, err)
	}
	return nil
}

func (c *Client) redact(s string) string {
	return httpx.Redact(s, c.secrets...)
}

// APIError is an error answer of the Graph API.
type APIError struct {
	Method     string
	Path       string // without query: never holds the token
	HTTPStatus int
	Code       int    // Graph error code, e.g. 100 (invalid parameter), 613 (rate limit)
	Subcode    int    // error_subcode
	Type       string // e.g. OAuthException
	Message    string // redacted
	FBTraceID  string // quote it when asking Meta support
}

func (e *APIError) Error() string {
	return fmt.Sprintf("meta: %s %s: HTTP %d, error code %d (subcode %d, %s): %s [fbtrace_id %s]: %s",
		e.Method, e.Path, e.HTTPStatus, e.Code, e.Subcode, e.Type, e.Message, e.FBTraceID, hint(e.Code))
}

// Refused reports an answer that refused the call outright (a client error that is not a
// throttle): nothing was applied.
func (e *APIError) Refused() bool {
	return e.HTTPStatus < 500 && e.HTTPStatus != 429 && !IsThrottleCode(e.Code)
}

// Retryable reports whether Meta asked us to slow down or failed on its side: a later run may
// succeed with the same request.
func (e *APIError) Retryable() bool { return IsThrottleCode(e.Code) || e.HTTPStatus >= 500 }

func hint(code int) string {
	switch {
	case IsThrottleCode(code):
		return "Meta throttled the calls: lower sinks.meta.http.rate_per_sec or run later"
	case code == 100:
		return "invalid parameter: check the ad account, audience id and the payload schema"
	case code == 1713230:
		return "the Custom Audience terms are not accepted for this ad account: accept them in Business Manager"
	case code == 190:
		return "the access token is invalid or expired: create a new system-user token"
	case code == 2654:
		return "Meta refused the lookalike: its source is too small in that country, or a lookalike of the same source, country and ratio exists"
	case code == 200 || code == 10 || code == 294:
		return "permission denied: the token needs ads_management on this ad account"
	}
	return "see the Graph API error reference"
}

// IsThrottleCode reports Meta's rate-limit error codes: 4, 17, 32, 613 and 80000–80014.
func IsThrottleCode(code int) bool {
	switch code {
	case 4, 17, 32, 613:
		return true
	}
	return code >= 80000 && code <= 80014
}

type errorEnvelope struct {
	Error *struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		Subcode   int    `json:"error_subcode"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

// parseAPIError returns the Graph error in body, or nil when there is none. Graph sometimes
// answers an error with HTTP 200, so the body decides, not the status.
func parseAPIError(status int, body []byte) *APIError {
	if !bytes.Contains(body, []byte(`"error"`)) {
		return nil
	}
	var env errorEnvelope
	if json.Unmarshal(body, &env) != nil || env.Error == nil {
		return nil
	}
	e := env.Error
	return &APIError{HTTPStatus: status, Code: e.Code, Subcode: e.Subcode, Type: e.Type, Message: e.Message, FBTraceID: e.FBTraceID}
}

// Classify is the httpx classifier for the Graph API: throttle codes and 5xx are retried with
// backoff (longer when Meta says how long to wait), codes 100 and 1713230 and every other
// client error fail at once.
func Classify(resp *http.Response, body []byte, err error) (bool, time.Duration) {
	if err != nil || resp == nil {
		return httpx.DefaultClassifier(resp, body, err)
	}
	if ae := parseAPIError(resp.StatusCode, body); ae != nil {
		switch {
		case IsThrottleCode(ae.Code):
			return true, max(throttleWait(resp.Header), httpx.WaitFromHeaders(resp.Header, time.Now()))
		case ae.Code == 100 || ae.Code == 1713230:
			return false, 0
		}
	}
	return httpx.DefaultClassifier(resp, body, nil)
}

// throttleWait reads estimated_time_to_regain_access (minutes) from Meta's usage headers.
func throttleWait(h http.Header) time.Duration {
	var wait time.Duration
	for _, name := range []string{"X-Business-Use-Case-Usage", "X-Ad-Account-Usage"} {
		v := h.Get(name)
		if v == "" {
			continue
		}
		var byAccount map[string][]struct {
			Minutes any `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &byAccount) == nil {
			for _, uses := range byAccount {
				for _, u := range uses {
					wait = max(wait, minutes(u.Minutes))
				}
			}
			continue
		}
		var single struct {
			Minutes any `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &single) == nil {
			wait = max(wait, minutes(single.Minutes))
		}
	}
	return wait
}

func minutes(v any) time.Duration {
	switch x := v.(type) {
	case float64:
		return time.Duration(x * float64(time.Minute))
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return time.Duration(f * float64(time.Minute))
		}
	}
	return 0
}

// IsNotRetryable reports whether err is a Graph error that a retry cannot fix.
func IsNotRetryable(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && !ae.Retryable()
}
