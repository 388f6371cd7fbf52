package vkads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// API paths.
const (
	pathToken       = "/api/v2/oauth2/token.json"
	pathTokenDelete = "/api/v2/oauth2/token/delete.json"
	pathUsersLists  = "/api/v3/remarketing/users_lists.json"
	pathSegments    = "/api/v2/remarketing/segments.json"
)

// MinListRows is the fewest rows VK accepts for a new list (diffs may be smaller).
const MinListRows = 2000

// ErrTokenLimit is matched (errors.Is) by the answer VK gives when the account already holds
// its 5 live tokens.
var ErrTokenLimit = errors.New("vk: the account already has its 5 live API tokens")

// ErrTooSmall is matched (errors.Is) when a new list would have fewer than MinListRows rows.
// Nothing was sent; the next run tries again.
var ErrTooSmall = errors.New("vk: too few rows to create a users list")

// Token is the answer of the token endpoint.
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	TokensLeft   int    `json:"tokens_left"`
}

// UsersList is a remarketing users list.
type UsersList struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status,omitempty"`
}

// UploadRequest is one users_lists.json upload: a new list (Base 0) or a diff against list
// |Base|, adding (Base > 0) or removing (Base < 0) the lines of File.
type UploadRequest struct {
	Name string
	Type string
	Base int64
	File []byte // one identifier a line
}

// Segment is a remarketing (audience) segment.
type Segment struct {
	ID            int64      `json:"id,omitempty"`
	Name          string     `json:"name"`
	PassCondition int        `json:"pass_condition"`
	Relations     []Relation `json:"relations"`
}

// Relation points a segment at a source, e.g. a users list.
type Relation struct {
	ObjectType string         `json:"object_type"`
	Params     RelationParams `json:"params"`
}

// RelationParams says which object and whether its members are included or excluded.
type RelationParams struct {
	SourceID int64  `json:"source_id"`
	Type     string `json:"type"` // positive | negative
}

type page[T any] struct {
	Count  int `json:"count"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
	Items  []T `json:"items"`
}

// APIError is an error answer, either an OAuth one ({"error":"…","error_description":"…"})
// or an API one ({"error":{"code":"…","message":"…"}}). It wraps the *httpx.StatusError.
type APIError struct {
	Op         string
	StatusCode int
	Code       string
	Message    string
	err        *httpx.StatusError
}

func (e *APIError) Error() string {
	hint := ""
	switch {
	case e.Code == "token_limit_exceeded":
		hint = " (the account holds 5 live tokens: let the token cache file persist between runs, or delete the tokens with POST /api/v2/oauth2/token/delete.json — see sinks/vkads/README.md)"
	case e.Code == "invalid_client":
		hint = " (check sinks.vk.client_id and sinks.vk.client_secret)"
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		hint = " (the token was refused: check the app's access to the ad account)"
	case e.err != nil && e.err.Retryable:
		hint = " (VK kept failing or throttling: the next run sends it again)"
	}
	msg := e.Message
	if e.Code != "" {
		msg = e.Code + ": " + msg
	}
	return fmt.Sprintf("vk: %s: HTTP %d: %s%s", e.Op, e.StatusCode, msg, hint)
}

func (e *APIError) Unwrap() error { return e.err }

// Is makes errors.Is(err, ErrTokenLimit) work.
func (e *APIError) Is(target error) bool {
	return target == ErrTokenLimit && e.Code == "token_limit_exceeded"
}

// Client is the VK Ads API, one method per call. Build it with NewClient; API calls carry
// the token of its token source.
type Client struct {
	base             string
	clientID         string
	clientSecret     string
	agencyClientName string
	oauth            *httpx.Client // token endpoints: no bearer token
	api              *httpx.Client // reads and segments
	upload           *httpx.Client // users_lists uploads, rate-limited to about one a minute
	tokens           *tokenSource

	secretsMu sync.Mutex
	secrets   atomic.Pointer[[]string] // every secret seen, for redaction; never locked by readers
}

func (c *Client) addSecret(s string) {
	if s == "" {
		return
	}
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	var cur []string
	if p := c.secrets.Load(); p != nil {
		cur = *p
	}
	next := append(append([]string(nil), cur...), s)
	c.secrets.Store(&next)
}

func (c *Client) secretList() []string {
	if p := c.secrets.Load(); p != nil {
		return *p
	}
	return nil
}

// Requests returns the number of HTTP attempts sent so far (token calls included).
func (c *Client) Requests() int64 {
	return c.oauth.Stats().Requests + c.api.Stats().Requests + c.upload.Stats().Requests
}

// ClientCredentialsToken mints a token (grant_type=client_credentials, or
// agency_client_credentials when an agency client name is set). Each call uses one of the
// account's 5 token slots.
func (c *Client) ClientCredentialsToken(ctx context.Context) (Token, error) {
	form := url.Values{"client_id": {c.clientID}, "client_secret": {c.clientSecret}}
	if c.agencyClientName != "" {
		form.Set("grant_type", "agency_client_credentials")
		form.Set("agency_client_name", c.agencyClientName)
	} else {
		form.Set("grant_type", "client_credentials")
	}
	return c.token(ctx, "token (client credentials)", form)
}

// RefreshToken renews an access token without using a new slot.
func (c *Client) RefreshToken(ctx context.Context, refresh string) (Token, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
		"client_id": {c.clientID}, "client_secret": {c.clientSecret}}
	return c.token(ctx, "token (refresh)", form)
}

// DeleteTokens deletes every token of the client (for an agency, of its client account),
// freeing the 5 slots. Only for recovery; runs never call it.
func (c *Client) DeleteTokens(ctx context.Context) error {
	form := url.Values{"client_id": {c.clientID}, "client_secret": {c.clientSecret}}
	if c.agencyClientName != "" {
		form.Set("username", c.agencyClientName)
	}
	_, err := c.do(ctx, c.oauth, "token delete", http.MethodPost, pathTokenDelete,
		[]byte(form.Encode()), "application/x-www-form-urlencoded", nil)
	return err
}

func (c *Client) token(ctx context.Context, op string, form url.Values) (Token, error) {
	var t Token
	if _, err := c.do(ctx, c.oauth, op, http.MethodPost, pathToken, []byte(form.Encode()),
		"application/x-www-form-urlencoded", &t); err != nil {
		return Token{}, err
	}
	if t.AccessToken == "" {
		return Token{}, fmt.Errorf("vk: %s: the answer has no access_token", op)
	}
	c.addSecret(t.AccessToken)
	c.addSecret(t.RefreshToken)
	return t, nil
}

// ListUsersLists returns every users list of the account, page by page.
func (c *Client) ListUsersLists(ctx context.Context) ([]UsersList, error) {
	return listAll[UsersList](ctx, c, "users_lists list", pathUsersLists)
}

// ListSegments returns every remarketing segment of the account.
func (c *Client) ListSegments(ctx context.Context) ([]Segment, error) {
	return listAll[Segment](ctx, c, "segments list", pathSegments)
}

func listAll[T any](ctx context.Context, c *Client, op, path string) ([]T, error) {
	const limit = 50
	var out []T
	for offset := 0; ; offset += limit {
		var p page[T]
		q := "?limit=" + strconv.Itoa(limit) + "&offset=" + strconv.Itoa(offset)
		if _, err := c.authed(ctx, c.api, op, http.MethodGet, path+q, nil, "", &p); err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if len(p.Items) < limit || len(out) >= p.Count {
			return out, nil
		}
	}
}

// UploadUsersList is POST /api/v3/remarketing/users_lists.json (multipart: file, name, type,
// and base for a diff).
func (c *Client) UploadUsersList(ctx context.Context, r UploadRequest) (UsersList, error) {
	body, ctype, err := uploadBody(r)
	if err != nil {
		return UsersList{}, err
	}
	op := "users_lists upload"
	switch {
	case r.Base > 0:
		op = "users_lists add (base=" + strconv.FormatInt(r.Base, 10) + ")"
	case r.Base < 0:
		op = "users_lists remove (base=" + strconv.FormatInt(r.Base, 10) + ")"
	}
	var out UsersList
	_, err = c.authed(ctx, c.upload, op, http.MethodPost, pathUsersLists, body, ctype, &out)
	return out, err
}

func uploadBody(r UploadRequest) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := [][2]string{{"name", r.Name}, {"type", r.Type}}
	if r.Base != 0 {
		fields = append(fields, [2]string{"base", strconv.FormatInt(r.Base, 10)})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, "", err
		}
	}
	fw, err := mw.CreateFormFile("file", "list.txt")
	if err != nil {
		return nil, "", err
	}
	if _, err := fw.Write(r.File); err != nil {
		return nil, "", err
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// CreateSegment is POST /api/v2/remarketing/segments.json.
func (c *Client) CreateSegment(ctx context.Context, s Segment) (Segment, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return Segment{}, err
	}
	var out Segment
	_, err = c.authed(ctx, c.api, "segment create", http.MethodPost, pathSegments, body, "application/json", &out)
	return out, err
}

// authed runs an API call; when VK refuses the token (401) it drops the cached access token
// and tries once more, which refreshes or mints a new one.
func (c *Client) authed(ctx context.Context, hc *httpx.Client, op, method, path string, body []byte, ctype string, out any) (*http.Response, error) {
	resp, err := c.do(ctx, hc, op, method, path, body, ctype, out)
	var ae *APIError
	var te *tokenError
	if !errors.As(err, &te) && errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized && c.tokens != nil {
		c.tokens.invalidate()
		resp, err = c.do(ctx, hc, op, method, path, body, ctype, out)
	}
	return resp, err
}

// tokenError marks a failure of the token call made for an API call, so that a refused
// client secret is not retried as if the API had refused the token.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

func (c *Client) do(ctx context.Context, hc *httpx.Client, op, method, path string, body []byte, ctype string, out any) (*http.Response, error) {
	var (
		req *http.Request
		err error
	)
	if body != nil {
		req, err = http.NewRequest(method, c.base+path, bytes.NewReader(body))
	} else {
		req, err = http.NewRequest(method, c.base+path, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("vk: %s: %v", op, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, raw, err := hc.Do(ctx, req)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) { // the token source failed: report the token call's own error
			return resp, &tokenError{fmt.Errorf("vk: %s: getting an access token: %w", op, ae)}
		}
		var se *httpx.StatusError
		if errors.As(err, &se) {
			return resp, c.decodeError(op, se, raw)
		}
		return resp, fmt.Errorf("vk: %s: %w", op, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp, fmt.Errorf("vk: %s: unexpected answer (not the documented JSON): %v", op, err)
		}
	}
	return resp, nil
}

func (c *Client) decodeError(op string, se *httpx.StatusError, raw []byte) error {
	e := &APIError{Op: op, StatusCode: se.StatusCode, err: se}
	var body struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(raw, &body) == nil && len(body.Error) > 0 {
		var code string
		var obj struct {
			Code    any    `json:"code"`
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(body.Error, &code) == nil:
			e.Code, e.Message = code, body.Description
		case json.Unmarshal(body.Error, &obj) == nil:
			e.Code, e.Message = fmt.Sprint(obj.Code), obj.Message
		}
	}
	if e.Code == "" && e.Message == "" {
		e.Message = se.Body
	}
	secrets := append(c.secretList(), c.clientSecret)
	e.Message = httpx.Redact(e.Message, secrets...)
	e.Code = httpx.Redact(e.Code, secrets...)
	return e
}

// hexLen is the number of hex digits of the configured hash (SHA-256 or MD5).
func hexLen(alg string) int {
	if alg == HashSHA256 {
		return 64
	}
	return 32
}

func joinLines(ids []audience.Identifier) []byte {
	b := make([]byte, 0, len(ids)*65)
	for _, id := range ids {
		b = append(b, id.Hash...)
		b = append(b, '\n')
	}
	return b
}

func jsonIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
