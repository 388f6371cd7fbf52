package vkadstest

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
)

// MaxTokens is how many live tokens an account may hold.
const MaxTokens = 5

// MinListRows is the fewest rows of a new list.
const MinListRows = 2000

// List is the fake's view of a users list.
type List struct {
	ID      int64
	Name    string
	Type    string
	Members map[string]bool
}

// Segment is a created segment.
type Segment struct {
	ID            int64
	Name          string
	PassCondition int
	SourceIDs     []int64
}

// Upload records one served users_lists upload.
type Upload struct {
	Name string
	Type string
	Base int64
	Rows int
}

type token struct {
	access, refresh string
}

// Server is the fake API; point sinks.vk.base_url at URL.
type Server struct {
	*httptest.Server
	Faults httpxtest.Faults

	mu           sync.Mutex
	clientID     string
	clientSecret string
	hexLen       int
	tokens       []*token
	minted       int
	lists        map[int64]*List
	segments     []Segment
	uploads      []Upload
	calls        int
	nextID       int64
}

// NewServer starts a fake for one API app; hash is "md5" or "sha256" (the identifiers it
// accepts). Close it when done.
func NewServer(clientID, clientSecret, hash string) *Server {
	n := 32
	if hash == "sha256" {
		n = 64
	}
	s := &Server{clientID: clientID, clientSecret: clientSecret, hexLen: n, lists: map[int64]*List{}, nextID: 500}
	s.Server = httptest.NewServer(s.Faults.Wrap(http.HandlerFunc(s.serve), func(status int) string {
		return apiError("server_error", "injected fault")
	}))
	return s
}

// AddList seeds a list, as if made earlier.
func (s *Server) AddList(name, typ string, members ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	l := &List{ID: s.nextID, Name: name, Type: typ, Members: map[string]bool{}}
	for _, m := range members {
		l.Members[m] = true
	}
	s.lists[l.ID] = l
	return l.ID
}

// Members returns a list's members sorted (nil when it does not exist).
func (s *Server) Members(id int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[id]
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l.Members))
	for m := range l.Members {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// Lists returns the lists by id (members omitted).
func (s *Server) Lists() []List {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]List, 0, len(s.lists))
	for _, l := range s.lists {
		out = append(out, List{ID: l.ID, Name: l.Name, Type: l.Type})
	}
	slices.SortFunc(out, func(a, b List) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Segments returns the created segments.
func (s *Server) Segments() []Segment {
	return httpxtest.Copy(&s.mu, &s.segments)
}

// Uploads returns the served users_lists uploads in order.
func (s *Server) Uploads() []Upload {
	return httpxtest.Copy(&s.mu, &s.uploads)
}

// Calls returns how many requests were served (faulted ones excluded).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// LiveTokens and Minted count tokens: live now, and ever minted by client credentials.
func (s *Server) LiveTokens() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.tokens) }
func (s *Server) Minted() int     { s.mu.Lock(); defer s.mu.Unlock(); return s.minted }

// ExpireAccessTokens makes every access token invalid (refresh tokens stay), as after a day.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.access = "expired-" + t.access
	}
}

// RevokeAll deletes every token, as POST /api/v2/oauth2/token/delete.json does.
func (s *Server) RevokeAll() { s.mu.Lock(); defer s.mu.Unlock(); s.tokens = nil }

func apiError(code, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	return string(b)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	w.Write(b)
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, apiError(code, msg))
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("X-RateLimit-RPS-Limit", "10")
	if w.Header().Get("X-RateLimit-RPS-Remaining") == "" { // a Fault may have set it
		w.Header().Set("X-RateLimit-RPS-Remaining", "9")
	}
	switch r.URL.Path {
	case "/api/v2/oauth2/token.json":
		s.token(w, r)
		return
	case "/api/v2/oauth2/token/delete.json":
		r.ParseForm()
		if r.PostForm.Get("client_id") != s.clientID || r.PostForm.Get("client_secret") != s.clientSecret {
			oauthError(w, 401, "invalid_client", "client authentication failed")
			return
		}
		s.calls++
		s.tokens = nil
		w.WriteHeader(204)
		return
	}
	if !s.authorised(w, r) {
		return
	}
	switch {
	case r.URL.Path == "/api/v3/remarketing/users_lists.json" && r.Method == http.MethodGet:
		s.calls++
		ids := make([]int64, 0, len(s.lists))
		for id := range s.lists {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		items := []map[string]any{}
		for _, id := range ids {
			l := s.lists[id]
			items = append(items, map[string]any{"id": l.ID, "name": l.Name, "type": l.Type, "status": "ready"})
		}
		s.page(w, r, items)
	case r.URL.Path == "/api/v3/remarketing/users_lists.json" && r.Method == http.MethodPost:
		s.upload(w, r)
	case r.URL.Path == "/api/v2/remarketing/segments.json" && r.Method == http.MethodGet:
		s.calls++
		items := []map[string]any{}
		for _, sg := range s.segments {
			items = append(items, map[string]any{"id": sg.ID, "name": sg.Name})
		}
		s.page(w, r, items)
	case r.URL.Path == "/api/v2/remarketing/segments.json" && r.Method == http.MethodPost:
		s.segment(w, r)
	default:
		fail(w, 404, "not_found", "no such method")
	}
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	limit, err1 := strconv.Atoi(r.URL.Query().Get("limit"))
	offset, err2 := strconv.Atoi(r.URL.Query().Get("offset"))
	if err1 != nil || err2 != nil || limit < 1 || limit > 50 || offset < 0 {
		fail(w, 400, "invalid_parameter", "limit must be 1..50 and offset ≥ 0")
		return
	}
	end := min(offset+limit, len(items))
	out := items[min(offset, len(items)):end]
	reply(w, map[string]any{"count": len(items), "offset": offset, "limit": limit, "items": out})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, 400, "invalid_request", "POST a form")
		return
	}
	r.ParseForm()
	f := r.PostForm
	if f.Get("client_id") != s.clientID || f.Get("client_secret") != s.clientSecret {
		oauthError(w, 401, "invalid_client", "client authentication failed")
		return
	}
	switch f.Get("grant_type") {
	case "client_credentials", "agency_client_credentials":
		if f.Get("grant_type") == "agency_client_credentials" && f.Get("agency_client_name") == "" {
			oauthError(w, 400, "invalid_request", "agency_client_name is required")
			return
		}
		if len(s.tokens) >= MaxTokens {
			oauthError(w, 400, "token_limit_exceeded", "the client already has 5 active tokens; delete some")
			return
		}
		s.calls++
		s.minted++
		s.nextID++
		t := &token{access: fmt.Sprintf("vkat-%d-secretaccess", s.nextID), refresh: fmt.Sprintf("vkrt-%d-secretrefresh", s.nextID)}
		s.tokens = append(s.tokens, t)
		reply(w, map[string]any{"access_token": t.access, "token_type": "Bearer", "expires_in": 86400,
			"refresh_token": t.refresh, "tokens_left": MaxTokens - len(s.tokens)})
	case "refresh_token":
		for _, t := range s.tokens {
			if t.refresh == f.Get("refresh_token") && f.Get("refresh_token") != "" {
				s.calls++
				s.nextID++
				t.access = fmt.Sprintf("vkat-%d-secretaccess", s.nextID)
				reply(w, map[string]any{"access_token": t.access, "token_type": "Bearer", "expires_in": 86400,
					"refresh_token": t.refresh, "tokens_left": MaxTokens - len(s.tokens)})
				return
			}
		}
		oauthError(w, 400, "invalid_grant", "unknown refresh token")
	default:
		oauthError(w, 400, "unsupported_grant_type", "grant_type "+f.Get("grant_type"))
	}
}

func (s *Server) authorised(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") {
		fail(w, 401, "invalid_token", "Authorization: Bearer <token> is required")
		return false
	}
	for _, t := range s.tokens {
		if t.access == strings.TrimPrefix(auth, "Bearer ") {
			return true
		}
	}
	fail(w, 401, "invalid_token", "token is invalid or expired")
	return false
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		fail(w, 400, "invalid_parameter", "multipart/form-data expected")
		return
	}
	name, typ := r.FormValue("name"), r.FormValue("type")
	var base int64
	if b := r.FormValue("base"); b != "" {
		v, err := strconv.ParseInt(b, 10, 64)
		if err != nil || v == 0 {
			fail(w, 400, "invalid_parameter", "base must be a list id, negative to remove")
			return
		}
		base = v
	}
	switch typ {
	case "phones", "emails", "vk", "ok", "advertising_id":
	default:
		fail(w, 400, "invalid_parameter", "type is required (phones, emails, …)")
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		fail(w, 400, "invalid_parameter", `multipart field "file" is required`)
		return
	}
	defer f.Close()
	var rows []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		if !httpxtest.IsHexHash(line, s.hexLen) {
			fail(w, 400, "invalid_parameter", fmt.Sprintf("line %d is not a %d-digit lowercase hex hash", n, s.hexLen))
			return
		}
		rows = append(rows, line)
	}
	if len(rows) == 0 {
		fail(w, 400, "invalid_parameter", "file is empty")
		return
	}
	if base == 0 {
		if name == "" {
			fail(w, 400, "invalid_parameter", "name is required")
			return
		}
		if len(rows) < MinListRows {
			fail(w, 400, "too_few_entries", fmt.Sprintf("a new list needs at least %d rows, got %d", MinListRows, len(rows)))
			return
		}
		s.calls++
		s.nextID++
		l := &List{ID: s.nextID, Name: name, Type: typ, Members: map[string]bool{}}
		for _, m := range rows {
			l.Members[m] = true
		}
		s.lists[l.ID] = l
		s.uploads = append(s.uploads, Upload{Name: name, Type: typ, Rows: len(rows)})
		reply(w, map[string]any{"id": l.ID, "name": l.Name, "type": l.Type, "status": "processing"})
		return
	}
	id := base
	if id < 0 {
		id = -id
	}
	l := s.lists[id]
	if l == nil {
		fail(w, 404, "not_found", "base list not found")
		return
	}
	if l.Type != typ {
		fail(w, 400, "invalid_parameter", "type differs from the base list's")
		return
	}
	s.calls++
	for _, m := range rows {
		if base > 0 {
			l.Members[m] = true
		} else {
			delete(l.Members, m)
		}
	}
	s.uploads = append(s.uploads, Upload{Name: name, Type: typ, Base: base, Rows: len(rows)})
	reply(w, map[string]any{"id": l.ID, "name": l.Name, "type": l.Type, "status": "processing"})
}

func (s *Server) segment(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name          string `json:"name"`
		PassCondition int    `json:"pass_condition"`
		Relations     []struct {
			ObjectType string `json:"object_type"`
			Params     struct {
				SourceID int64  `json:"source_id"`
				Type     string `json:"type"`
			} `json:"params"`
		} `json:"relations"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(w, 400, "invalid_parameter", "JSON body expected")
		return
	}
	if body.Name == "" || len(body.Relations) == 0 || (body.PassCondition != 1 && body.PassCondition != 2) {
		fail(w, 400, "invalid_parameter", "name, pass_condition (1|2) and relations are required")
		return
	}
	var src []int64
	for _, rel := range body.Relations {
		if rel.ObjectType != "remarketing_users_list" || s.lists[rel.Params.SourceID] == nil ||
			(rel.Params.Type != "positive" && rel.Params.Type != "negative") {
			fail(w, 400, "invalid_parameter", "relations must point at an existing remarketing_users_list, positive or negative")
			return
		}
		src = append(src, rel.Params.SourceID)
	}
	s.calls++
	s.nextID++
	sg := Segment{ID: s.nextID, Name: body.Name, PassCondition: body.PassCondition, SourceIDs: src}
	s.segments = append(s.segments, sg)
	reply(w, map[string]any{"id": sg.ID})
}
