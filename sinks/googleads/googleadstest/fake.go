package googleadstest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
)

// MaxMembers is the API's limit of audience members per request.
const MaxMembers = 10000

// Fault is an error answer to inject.
type Fault struct {
	HTTPStatus int
	Status     string // google.rpc status, e.g. RESOURCE_EXHAUSTED
	Message    string
	RetryAfter string
}

// TooManyRequests is a 429 RESOURCE_EXHAUSTED with Retry-After 0.
func TooManyRequests() Fault {
	return Fault{HTTPStatus: 429, Status: "RESOURCE_EXHAUSTED", Message: "Quota exceeded", RetryAfter: "0"}
}

// Unavailable is a 503 UNAVAILABLE.
func Unavailable() Fault {
	return Fault{HTTPStatus: 503, Status: "UNAVAILABLE", Message: "The service is currently unavailable."}
}

// InvalidArgument is a 400 INVALID_ARGUMENT.
func InvalidArgument(msg string) Fault {
	return Fault{HTTPStatus: 400, Status: "INVALID_ARGUMENT", Message: msg}
}

type list struct {
	account        string
	emails, phones httpxtest.Hashes
}

// Recorded is one accepted request body (only with RecordBodies).
type Recorded struct {
	Method string // ingest or remove
	Body   []byte
}

// Server is the fake.
type Server struct {
	*httptest.Server

	token string

	mu        sync.Mutex
	latency   time.Duration
	lists     map[string]*list
	managers  map[string]string // operating account → manager required as loginAccount
	known     map[[32]byte]bool
	faults    []Fault
	requests  map[string]int // "ingest", "remove", "ingest validateOnly", "remove validateOnly", "rejected"
	maxSeen   int
	record    bool
	recorded  []Recorded
	lastError string
	nextReq   int
}

// New starts a fake that accepts the bearer token token. Close it when done.
func New(token string) *Server {
	s := &Server{token: token, lists: map[string]*list{}, managers: map[string]string{}, known: map[[32]byte]bool{}, requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddUserList makes a Customer Match list owned by a Google Ads operating account.
func (s *Server) AddUserList(operatingAccountID, userListID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists[userListID] = &list{account: operatingAccountID, emails: map[[32]byte]struct{}{}, phones: map[[32]byte]struct{}{}}
}

// RequireLoginAccount makes the operating account reachable only through this manager
// account: requests must name it as loginAccount.
func (s *Server) RequireLoginAccount(operatingAccountID, managerID string) {
	s.mu.Lock()
	s.managers[operatingAccountID] = managerID
	s.mu.Unlock()
}

// KnownIdentities adds normalised e-mails and phones to the fake's directory of Google users;
// Matched counts list identifiers whose SHA-256 is in it.
func (s *Server) KnownIdentities(normalised ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range normalised {
		s.known[sha256.Sum256([]byte(v))] = true
	}
}

// SetLatency delays every answer by d.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// RecordBodies keeps every accepted request body (small tests only).
func (s *Server) RecordBodies() { s.mu.Lock(); s.record = true; s.mu.Unlock() }

// Fail answers the next len(faults) requests with the faults, in order.
func (s *Server) Fail(faults ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, faults...)
	s.mu.Unlock()
}

// Seed puts identifiers into a list directly.
func (s *Server) Seed(userListID string, emails, phones []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[userListID]
	for _, e := range emails {
		l.emails[key(e)] = struct{}{}
	}
	for _, p := range phones {
		l.phones[key(p)] = struct{}{}
	}
}

// Members returns a list's sorted e-mail and phone hashes.
func (s *Server) Members(userListID string) (emails, phones []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[userListID]
	if l == nil {
		return nil, nil
	}
	return l.emails.Sorted(), l.phones.Sorted()
}

// Size returns how many e-mails and phones a list holds.
func (s *Server) Size(userListID string) (emails, phones int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.lists[userListID]; l != nil {
		return len(l.emails), len(l.phones)
	}
	return 0, 0
}

// Matched counts the list's identifiers found in the directory (KnownIdentities).
func (s *Server) Matched(userListID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if l := s.lists[userListID]; l != nil {
		for k := range l.emails {
			if s.known[k] {
				n++
			}
		}
		for k := range l.phones {
			if s.known[k] {
				n++
			}
		}
	}
	return n
}

// Requests counts requests by kind: "ingest", "remove", "ingest validateOnly",
// "remove validateOnly", and "rejected" for those the fake refused (faults included).
func (s *Server) Requests() map[string]int {
	return httpxtest.CopyMap(&s.mu, &s.requests)
}

// MaxMembersSeen is the largest number of audience members in one accepted request.
func (s *Server) MaxMembersSeen() int { s.mu.Lock(); defer s.mu.Unlock(); return s.maxSeen }

// LastError is the message of the last rejection (for test failure output).
func (s *Server) LastError() string { s.mu.Lock(); defer s.mu.Unlock(); return s.lastError }

// Bodies returns the recorded request bodies.
func (s *Server) Bodies() []Recorded {
	return httpxtest.Copy(&s.mu, &s.recorded)
}

// The request shapes, written from the API reference rather than taken from the client
// library, so that a field the library renamed or a sink misspelt is caught.
type productAccount struct {
	AccountType string `json:"accountType"`
	AccountID   string `json:"accountId"`
}

type destination struct {
	OperatingAccount     *productAccount `json:"operatingAccount"`
	LoginAccount         *productAccount `json:"loginAccount"`
	ProductDestinationID string          `json:"productDestinationId"`
	Reference            string          `json:"reference"`
}

type consent struct {
	AdUserData        string `json:"adUserData"`
	AdPersonalization string `json:"adPersonalization"`
}

type identifier struct {
	EmailAddress string `json:"emailAddress"`
	PhoneNumber  string `json:"phoneNumber"`
}

type member struct {
	UserData *struct {
		UserIdentifiers []identifier `json:"userIdentifiers"`
	} `json:"userData"`
	Consent *consent `json:"consent"`
}

type body struct {
	Destinations    []destination `json:"destinations"`
	AudienceMembers []member      `json:"audienceMembers"`
	Consent         *consent      `json:"consent"` // ingest only
	Encoding        string        `json:"encoding"`
	TermsOfService  *struct {
		CustomerMatchTermsOfServiceStatus string `json:"customerMatchTermsOfServiceStatus"`
	} `json:"termsOfService"` // ingest only
	ValidateOnly bool `json:"validateOnly"`
}

var (
	reDigits = regexp.MustCompile(`^[0-9]+$`)
)

type apiErr struct {
	status int
	code   string
	msg    string
	retry  string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	lat := s.latency
	s.mu.Unlock()
	if httpxtest.AnswerLost(r, lat, func() { s.handle(r) }) {
		return
	}
	out, e := s.handle(r)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if e != nil {
		s.mu.Lock()
		s.requests["rejected"]++
		s.lastError = e.msg
		s.mu.Unlock()
		if e.retry != "" {
			w.Header().Set("Retry-After", e.retry)
		}
		w.WriteHeader(e.status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": e.status, "message": e.msg, "status": e.code}})
		return
	}
	json.NewEncoder(w).Encode(out)
}

func invalid(format string, a ...any) *apiErr {
	return &apiErr{status: 400, code: "INVALID_ARGUMENT", msg: fmt.Sprintf(format, a...)}
}

func (s *Server) handle(r *http.Request) (any, *apiErr) {
	if r.Header.Get("Authorization") != "Bearer "+s.token || s.token == "" {
		return nil, &apiErr{status: 401, code: "UNAUTHENTICATED", msg: "Request had invalid authentication credentials. Expected OAuth 2 access token."}
	}
	var method string
	switch r.URL.Path {
	case "/v1/audienceMembers:ingest":
		method = "ingest"
	case "/v1/audienceMembers:remove":
		method = "remove"
	default:
		return nil, &apiErr{status: 404, code: "NOT_FOUND", msg: "unknown path " + r.URL.Path}
	}
	if r.Method != http.MethodPost {
		return nil, &apiErr{status: 405, code: "INVALID_ARGUMENT", msg: "use POST"}
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return nil, invalid("Content-Type must be application/json")
	}
	s.mu.Lock()
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		s.mu.Unlock()
		return nil, &apiErr{status: f.HTTPStatus, code: f.Status, msg: f.Message, retry: f.RetryAfter}
	}
	s.mu.Unlock()
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, invalid("cannot read body")
	}
	var b body
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, invalid("Invalid JSON payload received. %v", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b.Destinations) != 1 {
		return nil, invalid("destinations: want exactly one, got %d", len(b.Destinations))
	}
	d := b.Destinations[0]
	switch {
	case d.OperatingAccount == nil:
		return nil, invalid("destinations[0].operating_account is required")
	case d.OperatingAccount.AccountType != "GOOGLE_ADS":
		return nil, invalid("destinations[0].operating_account.account_type must be GOOGLE_ADS, got %q", d.OperatingAccount.AccountType)
	case !reDigits.MatchString(d.OperatingAccount.AccountID):
		return nil, invalid("destinations[0].operating_account.account_id must be digits without dashes, got %q", d.OperatingAccount.AccountID)
	case d.ProductDestinationID == "":
		return nil, invalid("destinations[0].product_destination_id is required")
	}
	l := s.lists[d.ProductDestinationID]
	if l == nil || l.account != d.OperatingAccount.AccountID {
		return nil, &apiErr{status: 404, code: "NOT_FOUND", msg: fmt.Sprintf("user list %s not found in account %s", d.ProductDestinationID, d.OperatingAccount.AccountID)}
	}
	if mgr, ok := s.managers[d.OperatingAccount.AccountID]; ok {
		if d.LoginAccount == nil || d.LoginAccount.AccountType != "GOOGLE_ADS" || d.LoginAccount.AccountID != mgr {
			return nil, &apiErr{status: 403, code: "PERMISSION_DENIED", msg: fmt.Sprintf("the caller cannot access account %s directly: name manager %s as login_account", d.OperatingAccount.AccountID, mgr)}
		}
	} else if d.LoginAccount != nil {
		return nil, &apiErr{status: 403, code: "PERMISSION_DENIED", msg: fmt.Sprintf("account %s is not managed by %s", d.OperatingAccount.AccountID, d.LoginAccount.AccountID)}
	}
	if b.Encoding != "HEX" {
		return nil, invalid("encoding must be HEX for hex-encoded hashes, got %q", b.Encoding)
	}
	if method == "ingest" {
		if b.Consent == nil || b.Consent.AdUserData != "CONSENT_GRANTED" || b.Consent.AdPersonalization != "CONSENT_GRANTED" {
			return nil, invalid("consent: ad_user_data and ad_personalization must be CONSENT_GRANTED for Customer Match")
		}
		if b.TermsOfService == nil || b.TermsOfService.CustomerMatchTermsOfServiceStatus != "ACCEPTED" {
			return nil, &apiErr{status: 400, code: "FAILED_PRECONDITION", msg: "terms_of_service.customer_match_terms_of_service_status must be ACCEPTED"}
		}
	} else if b.Consent != nil || b.TermsOfService != nil {
		return nil, invalid("remove takes no consent or terms_of_service")
	}
	if n := len(b.AudienceMembers); n == 0 || n > MaxMembers {
		return nil, invalid("audience_members: %d members, want 1..%d", n, MaxMembers)
	}
	for i, m := range b.AudienceMembers {
		if m.UserData == nil || len(m.UserData.UserIdentifiers) == 0 || len(m.UserData.UserIdentifiers) > 10 {
			return nil, invalid("audience_members[%d].user_data: want 1..10 user_identifiers", i)
		}
		if m.Consent != nil && method == "remove" {
			return nil, invalid("audience_members[%d].consent: not allowed in remove", i)
		}
		for j, id := range m.UserData.UserIdentifiers {
			v := id.EmailAddress + id.PhoneNumber
			if (id.EmailAddress == "") == (id.PhoneNumber == "") {
				return nil, invalid("audience_members[%d].user_data.user_identifiers[%d]: set exactly one of email_address, phone_number", i, j)
			}
			if !httpxtest.IsHexHash(v, 64) {
				return nil, invalid("audience_members[%d].user_data.user_identifiers[%d]: not a lowercase hex SHA-256 hash (encoding HEX)", i, j)
			}
		}
	}
	s.nextReq++
	reqID := fmt.Sprintf("fake-%06d", s.nextReq)
	kind := method
	if b.ValidateOnly {
		s.requests[method+" validateOnly"]++
		return map[string]string{"requestId": reqID}, nil
	}
	s.requests[kind]++
	s.maxSeen = max(s.maxSeen, len(b.AudienceMembers))
	if s.record {
		s.recorded = append(s.recorded, Recorded{Method: method, Body: raw})
	}
	for _, m := range b.AudienceMembers {
		for _, id := range m.UserData.UserIdentifiers {
			set := l.emails
			v := id.EmailAddress
			if id.PhoneNumber != "" {
				set, v = l.phones, id.PhoneNumber
			}
			if method == "ingest" {
				set[key(v)] = struct{}{}
			} else {
				delete(set, key(v))
			}
		}
	}
	return map[string]string{"requestId": reqID}, nil
}

func key(h string) [32]byte {
	var k [32]byte
	b, _ := hex.DecodeString(h)
	copy(k[:], b)
	return k
}
