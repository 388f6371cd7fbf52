package yandex

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
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
)

// Segment statuses as Yandex reports them.
const (
	StatusUploaded         = "uploaded"
	StatusIsProcessed      = "is_processed"
	StatusProcessed        = "processed"
	StatusProcessingFailed = "processing_failed"
	StatusIsUpdated        = "is_updated"
	StatusFewData          = "few_data"
)

// Modification types for ModifyData.
const (
	ModAddition    = "addition"
	ModSubtraction = "subtraction"
	ModReplace     = "replace"
)

// MinSegmentRows is the size below which Yandex marks a segment few_data (unusable for ads).
const MinSegmentRows = 100

// Segment is a segment as the API describes it.
type Segment struct {
	ID          int64  `json:"id"`
	Name        string `json:"name,omitempty"`
	Type        string `json:"type,omitempty"`
	Status      string `json:"status,omitempty"`
	Hashed      bool   `json:"hashed,omitempty"`
	HashingAlg  string `json:"hashing_alg,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	CreateTime  string `json:"create_time,omitempty"`
	// Lookalike segments (Type "lookalike"): the source segment and the similarity.
	LookalikeLink  int64 `json:"lookalike_link,omitempty"`
	LookalikeValue int   `json:"lookalike_value,omitempty"`
}

// TypeLookalike is the type of a lookalike segment.
const TypeLookalike = "lookalike"

// LookalikeSegment is the body of segments/create_lookalike, inside {"segment": …}.
type LookalikeSegment struct {
	Name                       string `json:"name"`
	LookalikeLink              int64  `json:"lookalike_link"`  // the source segment
	LookalikeValue             int    `json:"lookalike_value"` // 1 (most similar) .. 5
	MaintainDeviceDistribution bool   `json:"maintain_device_distribution"`
	MaintainGeoDistribution    bool   `json:"maintain_geo_distribution"`
}

type lookalikeEnvelope struct {
	Segment LookalikeSegment `json:"segment"`
}

// ConfirmSegment is the body of segment/{id}/confirm, inside {"segment": …}.
type ConfirmSegment struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Hashed      bool   `json:"hashed"`
	HashingAlg  string `json:"hashing_alg"`
	ContentType string `json:"content_type"`
}

type segmentEnvelope struct {
	Segment Segment `json:"segment"`
}

type confirmEnvelope struct {
	Segment ConfirmSegment `json:"segment"`
}

type segmentsEnvelope struct {
	Segments []Segment `json:"segments"`
}

// APIError is an error answer of the API:
// {"errors":[{"error_type":"…","message":"…"}],"code":N,"message":"…"}. It wraps the
// *httpx.StatusError, so errors.As works for both.
type APIError struct {
	Op         string // e.g. "modify_data"
	StatusCode int
	Code       int
	Message    string
	Errors     []ErrorItem
	err        *httpx.StatusError
}

// ErrorItem is one entry of APIError.Errors.
type ErrorItem struct {
	ErrorType string `json:"error_type"`
	Message   string `json:"message"`
}

func (e *APIError) Error() string {
	var types []string
	for _, it := range e.Errors {
		types = append(types, it.ErrorType+": "+it.Message)
	}
	detail := e.Message
	if len(types) > 0 {
		detail = strings.Join(types, "; ")
	}
	hint := ""
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		hint = " (check sinks.yandex.token: an OAuth token of the account that owns the segments, with the audience scope)"
	case e.StatusCode == http.StatusNotFound:
		hint = " (the segment is gone on Yandex: delete the audience's yandex state file to create it again)"
	case e.err != nil && e.err.Retryable:
		hint = " (Yandex kept failing or throttling: the next run sends it again)"
	}
	return fmt.Sprintf("yandex: %s: HTTP %d: %s%s", e.Op, e.StatusCode, detail, hint)
}

func (e *APIError) Unwrap() error { return e.err }

// HasType reports whether the answer lists an error of this error_type.
func (e *APIError) HasType(t string) bool {
	for _, it := range e.Errors {
		if it.ErrorType == t {
			return true
		}
	}
	return false
}

// AlreadyConfirmed reports Yandex's answer to a confirm of a segment that is confirmed
// already (a retried confirm whose first answer was lost).
func (e *APIError) AlreadyConfirmed() bool {
	if e.StatusCode != http.StatusBadRequest {
		return false
	}
	if strings.Contains(strings.ToLower(e.Message), "already confirmed") {
		return true
	}
	for _, it := range e.Errors {
		if strings.Contains(strings.ToLower(it.Message), "already confirmed") {
			return true
		}
	}
	return false
}

// Client is the Yandex Audiences management API, one method per call.
type Client struct {
	base  *url.URL
	token string
	read  *httpx.Client // GET calls
	write *httpx.Client // upload, confirm, modify: Yandex's ~10 a minute quota
}

// NewClient builds a client for the API at baseURL (ending in "/") with an OAuth token.
// opts go to both HTTP clients (tests pass a transport and a clock).
func NewClient(baseURL, token string, hcfg httpx.Config, writesPerMinute float64, opts ...httpx.Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("yandex: base URL %q: %v", baseURL, err)
	}
	c := &Client{base: u, token: token}
	// Reads and writes share the account's request bucket (http.rate_per_sec); writes also
	// wait on the create/modify quota bucket.
	common := append([]httpx.Option{
		httpx.WithClassifier(classify),
		httpx.WithAuthHeader(c.authorize),
		httpx.WithSecrets(func() []string { return []string{c.token} }),
		httpx.WithShared(httpx.NewShared(hcfg.RatePerSec, hcfg.Burst)),
	}, opts...)
	rcfg := hcfg
	rcfg.RatePerSec, rcfg.Burst = 0, 0
	c.read = httpx.New("yandex", rcfg, common...)
	wcfg := hcfg
	wcfg.RatePerSec = writesPerMinute / 60
	wcfg.Burst = 1
	c.write = httpx.New("yandex", wcfg, common...)
	return c, nil
}

func (c *Client) authorize(r *http.Request) error {
	if c.token == "" {
		return errors.New("no Yandex OAuth token: set sinks.yandex.token")
	}
	r.Header.Set("Authorization", "OAuth "+c.token)
	return nil
}

// classify retries what httpx retries by default, plus answers whose error_type says
// "backend_error" or a quota, whatever their status code.
func classify(resp *http.Response, body []byte, err error) (bool, time.Duration) {
	retry, wait := httpx.DefaultClassifier(resp, body, err)
	if retry || resp == nil || resp.StatusCode < 400 {
		return retry, wait
	}
	var e struct {
		Errors []ErrorItem `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil {
		for _, it := range e.Errors {
			if it.ErrorType == "backend_error" || strings.HasPrefix(it.ErrorType, "quota") {
				return true, httpx.WaitFromHeaders(resp.Header, time.Now())
			}
		}
	}
	return false, 0
}

// Requests returns the number of HTTP attempts sent so far.
func (c *Client) Requests() int64 { return c.read.Stats().Requests + c.write.Stats().Requests }

// ListSegments is GET segments: every segment of the account.
func (c *Client) ListSegments(ctx context.Context) ([]Segment, error) {
	var out segmentsEnvelope
	if err := c.call(ctx, c.read, "segments", http.MethodGet, "segments", nil, "", &out); err != nil {
		return nil, err
	}
	return out.Segments, nil
}

// UploadCSVFile is POST segments/upload_csv_file: a new segment from a CSV file whose first
// row names the columns. The answer has status "uploaded"; Confirm it next.
func (c *Client) UploadCSVFile(ctx context.Context, csv []byte) (Segment, error) {
	body, ctype, err := multipartFile(csv)
	if err != nil {
		return Segment{}, err
	}
	var out segmentEnvelope
	err = c.call(ctx, c.write, "upload_csv_file", http.MethodPost, "segments/upload_csv_file", body, ctype, &out)
	return out.Segment, err
}

// Confirm is POST segment/{id}/confirm: names the uploaded segment and declares its content.
func (c *Client) Confirm(ctx context.Context, s ConfirmSegment) (Segment, error) {
	return c.postSegment(ctx, "confirm", "segment/"+strconv.FormatInt(s.ID, 10)+"/confirm", confirmEnvelope{Segment: s})
}

// CreateLookalike is POST segments/create_lookalike: a segment of people like those of a
// processed source segment. Not idempotent: after a lost answer, list before calling again.
func (c *Client) CreateLookalike(ctx context.Context, l LookalikeSegment) (Segment, error) {
	return c.postSegment(ctx, "create_lookalike", "segments/create_lookalike", lookalikeEnvelope{Segment: l})
}

// postSegment POSTs the JSON of in to path as the write call op and returns the segment of
// the answer.
func (c *Client) postSegment(ctx context.Context, op, path string, in any) (Segment, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return Segment{}, err
	}
	var out segmentEnvelope
	err = c.call(ctx, c.write, op, http.MethodPost, path, body, "application/json", &out)
	return out.Segment, err
}

// DeleteSegment is DELETE segment/{id}: used only for uploads an interrupted run left
// unconfirmed.
func (c *Client) DeleteSegment(ctx context.Context, id int64) error {
	return c.call(ctx, c.write, "delete", http.MethodDelete, "segment/"+strconv.FormatInt(id, 10), nil, "", nil)
}

// ModifyData is POST segment/{id}/modify_data?modification_type=…: adds, subtracts or
// replaces the segment's rows with those of the CSV file.
func (c *Client) ModifyData(ctx context.Context, id int64, modificationType string, csv []byte) (Segment, error) {
	body, ctype, err := multipartFile(csv)
	if err != nil {
		return Segment{}, err
	}
	var out segmentEnvelope
	path := "segment/" + strconv.FormatInt(id, 10) + "/modify_data?modification_type=" + url.QueryEscape(modificationType)
	err = c.call(ctx, c.write, "modify_data "+modificationType, http.MethodPost, path, body, ctype, &out)
	return out.Segment, err
}

func (c *Client) call(ctx context.Context, hc *httpx.Client, op, method, rel string, body []byte, ctype string, out any) error {
	u, err := c.base.Parse(rel)
	if err != nil {
		return fmt.Errorf("yandex: %s: bad path %q: %v", op, rel, err)
	}
	var req *http.Request
	if body != nil {
		req, err = http.NewRequest(method, u.String(), bytes.NewReader(body))
	} else {
		req, err = http.NewRequest(method, u.String(), nil)
	}
	if err != nil {
		return fmt.Errorf("yandex: %s: %v", op, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	_, raw, err := hc.Do(ctx, req)
	if err != nil {
		var se *httpx.StatusError
		if errors.As(err, &se) {
			return decodeError(op, se, raw, c.token)
		}
		return fmt.Errorf("yandex: %s: %w", op, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("yandex: %s: unexpected answer (not the documented JSON): %v", op, err)
		}
	}
	return nil
}

func decodeError(op string, se *httpx.StatusError, raw []byte, token string) error {
	e := &APIError{Op: op, StatusCode: se.StatusCode, err: se}
	var body struct {
		Errors  []ErrorItem `json:"errors"`
		Code    int         `json:"code"`
		Message string      `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil {
		e.Code, e.Message, e.Errors = body.Code, httpx.Redact(body.Message, token), body.Errors
		for i := range e.Errors {
			e.Errors[i].Message = httpx.Redact(e.Errors[i].Message, token)
		}
	}
	if e.Message == "" && len(e.Errors) == 0 {
		e.Message = se.Body
	}
	return e
}

// multipartFile wraps csv as the form field "file", the only field these calls take.
func multipartFile(csv []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "audience.csv")
	if err != nil {
		return nil, "", err
	}
	if _, err := fw.Write(csv); err != nil {
		return nil, "", err
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}
