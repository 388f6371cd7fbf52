package metatest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
)

// MaxRows is Meta's limit of rows per /users request.
const MaxRows = 10000

// Fault is an error answer to inject.
type Fault struct {
	HTTPStatus int    // e.g. 400, 500, 429
	Code       int    // Graph error code, 0 for a bare HTTP error without Graph JSON
	Message    string // default "injected fault"
	RetryAfter string // Retry-After header value, optional
}

// Throttle613 is Meta's "calls to this api have exceeded the rate limit".
func Throttle613() Fault {
	return Fault{HTTPStatus: 400, Code: 613, Message: "Calls to this api have exceeded the rate limit."}
}

// InvalidParam100 is Meta's "invalid parameter".
func InvalidParam100() Fault {
	return Fault{HTTPStatus: 400, Code: 100, Message: "(#100) Invalid parameter"}
}

// ServerError is a bare HTTP 5xx.
func ServerError(status int) Fault { return Fault{HTTPStatus: status} }

// TooManyRequests is a bare HTTP 429 with Retry-After 0.
func TooManyRequests() Fault { return Fault{HTTPStatus: 429, RetryAfter: "0"} }

// Audience is a custom audience as the fake holds it. Meta matches users on any key of a row,
// so the fake keeps the set of each key type: adding a row adds its keys, removing a row
// removes them.
type Audience struct {
	ID, AccountID, Name, Subtype, CustomerFileSource, Description string
	// ValueBased: created with is_value_based=1; every upload must carry LOOKALIKE_VALUE.
	ValueBased bool
	// Lookalikes (Subtype LOOKALIKE): the origin audience and the spec.
	OriginID string
	Spec     LookalikeSpec

	emails, phones httpxtest.Hashes
	externs        map[string]struct{}
	values         map[[32]byte]float64 // value-based: LOOKALIKE_VALUE of each hashed key
}

// SessionLog is what the fake saw of one upload session.
type SessionLog struct {
	AudienceID string
	Op         string // add, remove, replace
	SessionID  int64
	Batches    []int // rows per batch, in batch_seq order
	Estimated  int
	Closed     bool // last_batch_flag seen
	Replayed   int  // batches received again (lost answers, reruns of the same night)
}

type sessionKey struct {
	audience string
	id       int64
}

type session struct {
	log      *SessionLog
	received int
	lastRows int
	// staging holds a replace session's rows until its last batch.
	staging *Audience
}

// Server is an httptest server that behaves like the Graph API's custom audience endpoints and
// rejects every request that breaks the contract in docs/ad-platforms.md.
type Server struct {
	*httptest.Server

	Version   string // e.g. v25.0: requests to another version get 404
	token     string
	appSecret string

	mu        sync.Mutex
	latency   time.Duration
	latencyOf map[string]time.Duration // by route, e.g. "POST customaudiences"
	pageSize  int
	faults    []matchedFault
	audiences map[string]*Audience
	nextID    int64
	sessions  map[sessionKey]*session
	order     []*SessionLog
	invalid   map[[32]byte]bool
	requests  map[string]int // "METHOD /path-pattern" → count, rejected ones included
	maxRows   int
	bodies    []Request
	record    bool
	// AllowValueOnPlain lets a plain (not value-based) audience take uploads with
	// LOOKALIKE_VALUE (Meta's answer is not documented; refused by default).
	AllowValueOnPlain bool
	// MinSeed is how many people (e-mail and phone keys) a lookalike's origin needs
	// (default 100, Meta's minimum).
	MinSeed int
}

type matchedFault struct {
	match string
	skip  int // matching requests to let through first
	f     Fault
}

// Request is a recorded upload request (only with RecordBodies).
type Request struct {
	Method, Path     string
	Payload, Session string // exactly the form values
}

// New starts a fake for the given token and app secret. Close it when done.
func New(token, appSecret string) *Server {
	s := &Server{
		Version:   "v25.0",
		token:     token,
		appSecret: appSecret,
		pageSize:  25,
		audiences: map[string]*Audience{},
		nextID:    23850000000000000,
		sessions:  map[sessionKey]*session{},
		invalid:   map[[32]byte]bool{},
		requests:  map[string]int{},
		MinSeed:   100,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetLatency delays every answer by d.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// SetLatencyFor delays the answers of one route ("POST customaudiences", "POST users", …) by
// d; a client that gives up before still had its request served.
func (s *Server) SetLatencyFor(route string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latencyOf == nil {
		s.latencyOf = map[string]time.Duration{}
	}
	s.latencyOf[route] = d
}

// SetPageSize sets how many audiences one list page holds (default 25).
func (s *Server) SetPageSize(n int) { s.mu.Lock(); s.pageSize = n; s.mu.Unlock() }

// RecordBodies keeps the payload and session of every upload request (small tests only).
func (s *Server) RecordBodies() { s.mu.Lock(); s.record = true; s.mu.Unlock() }

// Fail answers the next len(faults) requests whose path contains match ("" = any) with the
// faults, in order, before normal service resumes.
func (s *Server) Fail(match string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range faults {
		s.faults = append(s.faults, matchedFault{match: match, f: f})
	}
}

// FailAt answers the nth request from now whose path contains match with f.
func (s *Server) FailAt(match string, nth int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, matchedFault{match: match, skip: nth - 1, f: f})
}

// MarkInvalid makes the fake count rows carrying this hash as invalid entries (as Meta does
// for hashes it cannot use) instead of adding them.
func (s *Server) MarkInvalid(hexHash string) {
	k, _ := key(hexHash)
	s.mu.Lock()
	s.invalid[k] = true
	s.mu.Unlock()
}

// AddAudience creates an audience directly (as if made in Ads Manager) and returns its id.
func (s *Server) AddAudience(accountID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(accountID, name, "CUSTOM", "USER_PROVIDED_ONLY", "").ID
}

// Seed puts member hashes into an audience directly.
func (s *Server) Seed(audienceID string, emails, phones []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.audiences[audienceID]
	for _, e := range emails {
		k, _ := key(e)
		a.emails[k] = struct{}{}
	}
	for _, p := range phones {
		k, _ := key(p)
		a.phones[k] = struct{}{}
	}
}

// Audiences returns the audiences of an ad account (without act_), sorted by id.
func (s *Server) Audiences(accountID string) []Audience {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Audience
	for _, a := range s.audiences {
		if a.AccountID == accountID {
			out = append(out, Audience{ID: a.ID, AccountID: a.AccountID, Name: a.Name, Subtype: a.Subtype, CustomerFileSource: a.CustomerFileSource,
				Description: a.Description, ValueBased: a.ValueBased, OriginID: a.OriginID, Spec: a.Spec})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Members returns the sorted e-mail hashes, phone hashes and extern ids of an audience.
func (s *Server) Members(audienceID string) (emails, phones, externs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.audiences[audienceID]
	if a == nil {
		return nil, nil, nil
	}
	for k := range a.externs {
		externs = append(externs, k)
	}
	sort.Strings(externs)
	return a.emails.Sorted(), a.phones.Sorted(), externs
}

// Size returns the number of e-mail and phone keys of an audience.
func (s *Server) Size(audienceID string) (emails, phones int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.audiences[audienceID]; a != nil {
		return len(a.emails), len(a.phones)
	}
	return 0, 0
}

// Sessions returns the upload sessions in the order they started.
func (s *Server) Sessions() []SessionLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SessionLog, len(s.order))
	for i, l := range s.order {
		out[i] = *l
		out[i].Batches = append([]int(nil), l.Batches...)
	}
	return out
}

// Requests returns how many requests reached each route ("POST users", "DELETE users",
// "POST usersreplace", "GET customaudiences", "POST customaudiences"), rejected ones included.
func (s *Server) Requests() map[string]int {
	return httpxtest.CopyMap(&s.mu, &s.requests)
}

// MaxRowsSeen is the largest number of rows in one upload request.
func (s *Server) MaxRowsSeen() int { s.mu.Lock(); defer s.mu.Unlock(); return s.maxRows }

// Bodies returns the recorded upload requests (see RecordBodies).
func (s *Server) Bodies() []Request {
	return httpxtest.Copy(&s.mu, &s.bodies)
}

var (
	reAccountPath = regexp.MustCompile(`^/act_([0-9]+)/customaudiences$`)
	reUsersPath   = regexp.MustCompile(`^/([0-9]+)/(users|usersreplace)$`)
)

type graphError struct {
	status int
	code   int
	msg    string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	lat := s.latency
	if d, ok := s.latencyOf[r.Method+" "+r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]; ok {
		lat = d
	}
	s.mu.Unlock()
	if httpxtest.AnswerLost(r, lat, func() { s.handle(r) }) {
		return
	}
	out, gerr, retryAfter := s.handle(r)
	w.Header().Set("Content-Type", "application/json")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	if gerr != nil {
		w.WriteHeader(gerr.status)
		if gerr.code == 0 {
			io.WriteString(w, `{"message":"server error"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": gerr.msg, "type": "OAuthException", "code": gerr.code, "fbtrace_id": "FAKEtrace",
		}})
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (s *Server) handle(r *http.Request) (any, *graphError, string) {
	prefix := "/" + s.Version
	if !strings.HasPrefix(r.URL.Path, prefix+"/") {
		return nil, &graphError{404, 100, fmt.Sprintf("unknown API version in %s (want %s)", r.URL.Path, s.Version)}, ""
	}
	path := strings.TrimPrefix(r.URL.Path, prefix)
	var params url.Values
	if r.Method == http.MethodGet {
		params = r.URL.Query()
	} else {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return nil, &graphError{400, 100, "body must be application/x-www-form-urlencoded, got " + ct}, ""
		}
		if r.URL.RawQuery != "" {
			return nil, &graphError{400, 100, "POST/DELETE parameters belong in the body, not the URL"}, ""
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, &graphError{400, 100, "cannot read body"}, ""
		}
		if params, err = url.ParseQuery(string(b)); err != nil {
			return nil, &graphError{400, 100, "body is not form-encoded"}, ""
		}
	}
	route := r.Method + " " + path[strings.LastIndex(path, "/")+1:]

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[route]++
	for i, f := range s.faults {
		if f.match == "" || strings.Contains(path, f.match) {
			if f.skip > 0 {
				s.faults[i].skip--
				break
			}
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			msg := f.f.Message
			if msg == "" {
				msg = "injected fault"
			}
			return nil, &graphError{f.f.HTTPStatus, f.f.Code, msg}, f.f.RetryAfter
		}
	}
	// Auth: the token, and appsecret_proof = hex HMAC-SHA256(key=app secret, msg=token).
	tok := params.Get("access_token")
	if tok == "" || tok != s.token {
		return nil, &graphError{400, 190, "Invalid OAuth access token."}, ""
	}
	m := hmac.New(sha256.New, []byte(s.appSecret))
	m.Write([]byte(tok))
	if want := hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(params.Get("appsecret_proof")), []byte(want)) {
		return nil, &graphError{400, 100, "Invalid appsecret_proof provided in the API argument"}, ""
	}

	if mm := reAccountPath.FindStringSubmatch(path); mm != nil {
		switch r.Method {
		case http.MethodGet:
			return s.list(mm[1], params)
		case http.MethodPost:
			return s.createFromForm(mm[1], params)
		}
	}
	if mm := reUsersPath.FindStringSubmatch(path); mm != nil {
		op := ""
		switch {
		case mm[2] == "users" && r.Method == http.MethodPost:
			op = "add"
		case mm[2] == "users" && r.Method == http.MethodDelete:
			op = "remove"
		case mm[2] == "usersreplace" && r.Method == http.MethodPost:
			op = "replace"
		}
		if op != "" {
			return s.users(mm[1], op, r.Method, path, params)
		}
	}
	return nil, &graphError{400, 100, fmt.Sprintf("Unsupported %s request to %s", r.Method, path)}, ""
}

func (s *Server) list(account string, q url.Values) (any, *graphError, string) {
	fields := strings.Split(q.Get("fields"), ",")
	if !has(fields, "id") || !has(fields, "name") {
		return nil, &graphError{400, 100, "fields must name id and name"}, ""
	}
	for _, f := range fields {
		if !listFields[f] {
			return nil, &graphError{400, 100, "(#100) Tried accessing nonexisting field (" + f + ") on node type (CustomAudience)"}, ""
		}
	}
	var all []*Audience
	for _, a := range s.audiences {
		if a.AccountID == account {
			all = append(all, a)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	start := 0
	if after := q.Get("after"); after != "" {
		n, err := strconv.Atoi(after)
		if err != nil {
			return nil, &graphError{400, 100, "bad after cursor"}, ""
		}
		start = n
	}
	end := min(start+s.pageSize, len(all))
	start = min(start, end)
	data := []map[string]any{}
	for _, a := range all[start:end] {
		data = append(data, s.fields(a, fields))
	}
	paging := map[string]any{"cursors": map[string]string{"before": strconv.Itoa(start), "after": strconv.Itoa(end)}}
	if end < len(all) {
		paging["next"] = "https://graph.facebook.com/next-page-url"
	}
	return map[string]any{"data": data, "paging": paging}, nil, ""
}

func (s *Server) createFromForm(account string, p url.Values) (any, *graphError, string) {
	name := strings.TrimSpace(p.Get("name"))
	if p.Get("subtype") == "LOOKALIKE" {
		return s.createLookalike(account, name, p)
	}
	valueBased, okVB := map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true}[p.Get("is_value_based")]
	switch {
	case name == "":
		return nil, &graphError{400, 100, "name is required"}, ""
	case p.Get("subtype") != "CUSTOM":
		return nil, &graphError{400, 100, "subtype must be CUSTOM for a customer file audience (or LOOKALIKE)"}, ""
	case !has([]string{"USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"}, p.Get("customer_file_source")):
		return nil, &graphError{400, 100, "customer_file_source is required for a customer file audience"}, ""
	case !okVB:
		return nil, &graphError{400, 100, "is_value_based must be 0 or 1"}, ""
	}
	a := s.create(account, name, "CUSTOM", p.Get("customer_file_source"), p.Get("description"))
	a.ValueBased = valueBased
	return map[string]string{"id": a.ID}, nil, ""
}

func (s *Server) create(account, name, subtype, source, desc string) *Audience {
	s.nextID++
	a := &Audience{ID: strconv.FormatInt(s.nextID, 10), AccountID: account, Name: name, Subtype: subtype,
		CustomerFileSource: source, Description: desc, emails: map[[32]byte]struct{}{}, phones: map[[32]byte]struct{}{}, externs: map[string]struct{}{},
		values: map[[32]byte]float64{}}
	s.audiences[a.ID] = a
	return a
}

type payload struct {
	Schema []string            `json:"schema"`
	Data   [][]json.RawMessage `json:"data"`
}

type sessionParam struct {
	SessionID         *int64 `json:"session_id"`
	BatchSeq          *int   `json:"batch_seq"`
	LastBatchFlag     *bool  `json:"last_batch_flag"`
	EstimatedNumTotal *int   `json:"estimated_num_total"`
}

var knownKeys = map[string]bool{"EMAIL": true, "PHONE": true, "EXTERN_ID": true, "MADID": true, "FN": true, "LN": true, "ZIP": true, "CT": true, "ST": true, "COUNTRY": true, "DOBY": true, "GEN": true, "LOOKALIKE_VALUE": true}

// unhashed keys are sent in clear by contract.
var unhashed = map[string]bool{"EXTERN_ID": true, "MADID": true}

func (s *Server) users(audienceID, op, method, path string, p url.Values) (any, *graphError, string) {
	a := s.audiences[audienceID]
	if a == nil {
		return nil, &graphError{400, 100, "Unsupported request: object " + audienceID + " does not exist"}, ""
	}
	if a.Subtype == "LOOKALIKE" {
		return nil, &graphError{400, 100, "(#100) A lookalike audience is built by Meta from its origin: it takes no users"}, ""
	}
	var pl payload
	dec := json.NewDecoder(strings.NewReader(p.Get("payload")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pl); err != nil {
		return nil, &graphError{400, 100, "payload is not valid JSON {schema, data}: " + err.Error()}, ""
	}
	if len(pl.Schema) == 0 {
		return nil, &graphError{400, 100, "payload.schema is empty"}, ""
	}
	seen := map[string]bool{}
	for _, k := range pl.Schema {
		if !knownKeys[k] || seen[k] {
			return nil, &graphError{400, 100, "payload.schema: unknown or repeated key " + k}, ""
		}
		seen[k] = true
	}
	switch {
	case a.ValueBased && !seen["LOOKALIKE_VALUE"]:
		return nil, &graphError{400, 100, "(#100) This is a value-based audience: every upload must carry LOOKALIKE_VALUE in its schema"}, ""
	case !a.ValueBased && seen["LOOKALIKE_VALUE"] && !s.AllowValueOnPlain:
		return nil, &graphError{400, 100, "(#100) LOOKALIKE_VALUE is only accepted by a value-based audience (is_value_based=1)"}, ""
	}
	if len(pl.Data) == 0 {
		return nil, &graphError{400, 100, "payload.data is empty"}, ""
	}
	if len(pl.Data) > MaxRows {
		return nil, &graphError{400, 100, fmt.Sprintf("payload.data has %d rows, more than %d", len(pl.Data), MaxRows)}, ""
	}
	cells, values, gerr := decodeRows(pl)
	if gerr != nil {
		return nil, gerr, ""
	}
	// Session.
	var sp sessionParam
	sdec := json.NewDecoder(strings.NewReader(p.Get("session")))
	sdec.DisallowUnknownFields()
	if err := sdec.Decode(&sp); err != nil || sp.SessionID == nil || sp.BatchSeq == nil || sp.LastBatchFlag == nil || sp.EstimatedNumTotal == nil {
		return nil, &graphError{400, 100, "session must be {session_id, batch_seq, last_batch_flag, estimated_num_total}"}, ""
	}
	if *sp.SessionID <= 0 || *sp.BatchSeq < 1 || *sp.EstimatedNumTotal < 1 {
		return nil, &graphError{400, 100, "session: session_id and estimated_num_total must be positive and batch_seq starts at 1"}, ""
	}
	k := sessionKey{audienceID, *sp.SessionID}
	ss := s.sessions[k]
	rows := len(pl.Data)
	// A batch_seq this session already took is a replay: Meta answers it and applies nothing,
	// whatever the rows say (a rerun under an old session id changes nothing).
	if ss != nil && ss.log.Op == op && *sp.BatchSeq <= len(ss.log.Batches) {
		ss.log.Replayed++
		return s.answer(audienceID, *sp.SessionID, rows, 0), nil, ""
	}
	switch {
	case ss == nil && *sp.BatchSeq != 1:
		return nil, &graphError{400, 100, fmt.Sprintf("session %d: first batch must have batch_seq 1, got %d", *sp.SessionID, *sp.BatchSeq)}, ""
	case ss == nil:
		ss = &session{log: &SessionLog{AudienceID: audienceID, Op: op, SessionID: *sp.SessionID, Estimated: *sp.EstimatedNumTotal}}
		if op == "replace" {
			ss.staging = &Audience{emails: map[[32]byte]struct{}{}, phones: map[[32]byte]struct{}{}, externs: map[string]struct{}{}, values: map[[32]byte]float64{}}
		}
		s.sessions[k] = ss
		s.order = append(s.order, ss.log)
	case ss.log.Closed:
		return nil, &graphError{400, 100, fmt.Sprintf("session %d is finished (last_batch_flag was sent)", *sp.SessionID)}, ""
	case ss.log.Op != op:
		return nil, &graphError{400, 100, fmt.Sprintf("session %d belongs to a %s upload, not %s", *sp.SessionID, ss.log.Op, op)}, ""
	case *sp.BatchSeq != len(ss.log.Batches)+1:
		return nil, &graphError{400, 100, fmt.Sprintf("session %d: batch_seq %d out of order (expected %d)", *sp.SessionID, *sp.BatchSeq, len(ss.log.Batches)+1)}, ""
	case *sp.EstimatedNumTotal != ss.log.Estimated:
		return nil, &graphError{400, 100, fmt.Sprintf("session %d: estimated_num_total changed from %d to %d", *sp.SessionID, ss.log.Estimated, *sp.EstimatedNumTotal)}, ""
	}
	if ss.received+rows > ss.log.Estimated {
		return nil, &graphError{400, 100, fmt.Sprintf("session %d: %d rows is more than estimated_num_total %d", *sp.SessionID, ss.received+rows, ss.log.Estimated)}, ""
	}
	if *sp.LastBatchFlag && ss.received+rows != ss.log.Estimated {
		return nil, &graphError{400, 100, fmt.Sprintf("session %d: last batch flagged after %d rows, estimated %d", *sp.SessionID, ss.received+rows, ss.log.Estimated)}, ""
	}
	if !*sp.LastBatchFlag && ss.received+rows == ss.log.Estimated {
		return nil, &graphError{400, 100, fmt.Sprintf("session %d: all %d estimated rows sent but last_batch_flag is false", *sp.SessionID, ss.log.Estimated)}, ""
	}
	ss.received += rows
	ss.lastRows = rows
	ss.log.Batches = append(ss.log.Batches, rows)
	s.maxRows = max(s.maxRows, rows)
	if s.record {
		s.bodies = append(s.bodies, Request{Method: method, Path: "/" + s.Version + path, Payload: p.Get("payload"), Session: p.Get("session")})
	}

	target := a
	if op == "replace" {
		target = ss.staging
	}
	invalid := 0
	for i, row := range cells {
		ok := false
		bad := false
		for j, v := range row {
			if v == "" {
				continue
			}
			switch pl.Schema[j] {
			case "EMAIL", "PHONE":
				kk, _ := key(v)
				if s.invalid[kk] {
					bad = true
				}
			}
			ok = true
		}
		if !ok || bad {
			invalid++
			continue
		}
		for j, v := range row {
			if v == "" {
				continue
			}
			switch pl.Schema[j] {
			case "EMAIL", "PHONE":
				set := target.emails
				if pl.Schema[j] == "PHONE" {
					set = target.phones
				}
				kk, _ := key(v)
				if op == "remove" {
					delete(set, kk)
					delete(target.values, kk)
				} else {
					set[kk] = struct{}{}
					if values != nil {
						target.values[kk] = values[i]
					}
				}
			case "EXTERN_ID":
				if op == "remove" {
					delete(target.externs, v)
				} else {
					target.externs[v] = struct{}{}
				}
			}
		}
	}
	if *sp.LastBatchFlag {
		ss.log.Closed = true
		if op == "replace" {
			a.emails, a.phones, a.externs, a.values = ss.staging.emails, ss.staging.phones, ss.staging.externs, ss.staging.values
			ss.staging = nil
		}
	}
	return s.answer(audienceID, *sp.SessionID, rows, invalid), nil, ""
}

func (s *Server) answer(audienceID string, sid int64, received, invalid int) map[string]any {
	return map[string]any{
		"audience_id": audienceID, "session_id": strconv.FormatInt(sid, 10),
		"num_received": received, "num_invalid_entries": invalid, "invalid_entry_samples": map[string]string{},
	}
}

func key(h string) ([32]byte, bool) {
	var k [32]byte
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return k, false
	}
	copy(k[:], b)
	return k, true
}

func has(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
