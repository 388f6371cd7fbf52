package vkads

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// expiryMargin renews a token this long before VK says it expires, so that a request does not
// leave with a token that dies on the way.
const expiryMargin = 2 * time.Minute

// cachedToken is the token cache file's content (mode 0600). It holds secrets: keep the state
// dir private.
type cachedToken struct {
	ClientID     string    `json:"client_id"`
	Agency       string    `json:"agency_client_name,omitempty"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"`
}

// tokenSource is the oauth2.TokenSource of the API clients: memory first, then the cache
// file, then refresh, and only then a new token (one of the 5 slots).
type tokenSource struct {
	mu     sync.Mutex
	c      *Client
	path   string // "" = memory only
	now    func() time.Time
	log    *slog.Logger
	cur    cachedToken
	loaded bool
	minted int // tokens minted by this process, for tests and logs
}

var _ oauth2.TokenSource = (*tokenSource)(nil)

// Token returns a valid access token.
func (ts *tokenSource) Token() (*oauth2.Token, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ctx := context.Background() // the oauth2 interface has no context; httpx bounds each attempt
	if !ts.loaded {
		ts.loaded = true
		ts.load(ctx)
	}
	if ts.valid() {
		return ts.oauth2(), nil
	}
	if ts.cur.RefreshToken != "" {
		t, err := ts.c.RefreshToken(ctx, ts.cur.RefreshToken)
		var ae *APIError
		switch {
		case err == nil:
			ts.set(t)
			return ts.oauth2(), nil
		case errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500 && !ae.err.Retryable:
			// The refresh token is dead (revoked, deleted): fall through to a new token.
			ts.log.Warn("vk refresh token refused; requesting a new token", "code", ae.Code)
			ts.cur = cachedToken{}
		default:
			return nil, err
		}
	}
	t, err := ts.c.ClientCredentialsToken(ctx)
	if err != nil {
		return nil, err
	}
	ts.minted++
	ts.set(t)
	return ts.oauth2(), nil
}

// invalidate drops the access token (VK refused it) but keeps the refresh token.
func (ts *tokenSource) invalidate() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.cur.AccessToken = ""
	ts.cur.Expiry = time.Time{}
}

func (ts *tokenSource) valid() bool {
	return ts.cur.AccessToken != "" && ts.now().Add(expiryMargin).Before(ts.cur.Expiry)
}

func (ts *tokenSource) oauth2() *oauth2.Token {
	return &oauth2.Token{AccessToken: ts.cur.AccessToken, TokenType: "Bearer", Expiry: ts.cur.Expiry}
}

func (ts *tokenSource) set(t Token) {
	refresh := t.RefreshToken
	if refresh == "" {
		refresh = ts.cur.RefreshToken // a refresh answer may omit it: the old one stays valid
	}
	exp := time.Duration(t.ExpiresIn) * time.Second
	if exp <= 0 {
		exp = 24 * time.Hour
	}
	ts.cur = cachedToken{ClientID: ts.c.clientID, Agency: ts.c.agencyClientName,
		AccessToken: t.AccessToken, RefreshToken: refresh, Expiry: ts.now().Add(exp)}
	ts.save(context.Background())
}

// load reads the cache file. Anything unusable (missing, another client id, garbled) means
// no cache; it is overwritten on the next save.
func (ts *tokenSource) load(ctx context.Context) {
	if ts.path == "" {
		return
	}
	b, err := fileio.ReadFile(ctx, ts.path)
	if err != nil {
		return
	}
	var ct cachedToken
	if json.Unmarshal(b, &ct) != nil || ct.ClientID != ts.c.clientID || ct.Agency != ts.c.agencyClientName {
		ts.log.Warn("vk token cache file unusable; ignoring it", "path", ts.path)
		return
	}
	ts.c.addSecret(ct.AccessToken)
	ts.c.addSecret(ct.RefreshToken)
	ts.cur = ct
}

// save writes the cache atomically. A failure is logged, not fatal: the token works, but the
// next run will have to mint another one.
func (ts *tokenSource) save(ctx context.Context) {
	if ts.path == "" {
		return
	}
	b, err := json.MarshalIndent(ts.cur, "", "  ")
	if err == nil {
		err = fileio.WriteFilePrivate(ctx, ts.path, b)
	}
	if err != nil {
		ts.log.Warn("vk token cache not written; the next run will need a new token", "path", ts.path,
			"error", httpx.Redact(err.Error(), ts.c.secretList()...))
	}
}

// NewClient builds the API client: clientSecret is the resolved secret, cachePath the token
// cache file ("" keeps tokens in memory only), now the clock for token expiry (nil: wall
// clock), opts go to every HTTP client.
func NewClient(cfg Config, clientSecret, cachePath string, now func() time.Time, log *slog.Logger, opts ...httpx.Option) *Client {
	cfg = cfg.Defaults()
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{base: cfg.BaseURL, clientID: cfg.ClientID, clientSecret: clientSecret, agencyClientName: cfg.AgencyClientName}
	c.addSecret(clientSecret)
	c.tokens = &tokenSource{c: c, path: cachePath, now: now, log: log}
	// One account, one budget: every client waits on the shared bucket (http.rate_per_sec)
	// and on pauses requested by X-RateLimit-* answers; uploads also on their own bucket.
	shared := httpx.WithShared(httpx.NewShared(cfg.HTTP.RatePerSec, cfg.HTTP.Burst))
	secrets := httpx.WithSecrets(c.secretList)
	plain := cfg.HTTP
	plain.RatePerSec, plain.Burst = 0, 0
	c.oauth = httpx.New("vk", plain, append([]httpx.Option{secrets, shared}, opts...)...)
	authed := []httpx.Option{secrets, shared, httpx.WithTokenSource(c.tokens)}
	c.api = httpx.New("vk", plain, append(authed, opts...)...)
	up := cfg.HTTP
	up.RatePerSec, up.Burst = cfg.UploadsPerMinute/60, 1
	c.upload = httpx.New("vk", up, append(authed, opts...)...)
	return c
}

// TokensMinted returns how many new tokens this client asked VK for.
func (c *Client) TokensMinted() int {
	c.tokens.mu.Lock()
	defer c.tokens.mu.Unlock()
	return c.tokens.minted
}
