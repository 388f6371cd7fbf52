package yandextest

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
)

// Row is one CRM row: hashes of e-mail and phone ("" when absent).
type Row struct{ Email, Phone string }

// ID is one identifier a segment holds: Type "email" or "phone", and its hash. Yandex matches
// every identifier of a row on its own, so the fake keeps a segment as a set of identifiers:
// adding a row adds each of its identifiers, subtracting a row removes each of them.
type ID struct{ Type, Hash string }

// Segment is the fake's view of one segment.
type Segment struct {
	ID          int64
	Name        string
	Status      string
	Hashed      bool
	HashingAlg  string
	ContentType string
	IDs         map[ID]bool
	busy        int // GET segments calls left before a change is processed
	// Lookalikes (Type "lookalike"): the source segment and the settings.
	Type           string
	LookalikeLink  int64
	LookalikeValue int
	KeepDevice     bool
	KeepGeo        bool
}

func (r Row) ids() []ID {
	var out []ID
	if r.Email != "" {
		out = append(out, ID{"email", r.Email})
	}
	if r.Phone != "" {
		out = append(out, ID{"phone", r.Phone})
	}
	return out
}

// Call is one request the fake served (faulted requests are not recorded).
type Call struct {
	Method           string
	Path             string // relative to /v1/management/
	ModificationType string
	Rows             int // CSV rows in the upload, 0 for other calls
}

// Server is the fake API. Its URL for sinks is BaseURL().
type Server struct {
	*httptest.Server
	Faults httpxtest.Faults

	mu         sync.Mutex
	token      string
	segments   map[int64]*Segment
	nextID     int64
	calls      []Call
	pollsBusy  int
	rejectBusy bool
	onUpload   func()
	quota      *quota
}

// OnUpload calls f (nil: nothing) each time an upload has been stored, before it is answered:
// a test cancels the client there to simulate a process killed between upload and confirm.
func (s *Server) OnUpload(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onUpload = f
}

const prefix = "/v1/management/"

// NewServer starts a fake that accepts the OAuth token token. Close it when done.
func NewServer(token string) *Server {
	s := &Server{token: token, segments: map[int64]*Segment{}, nextID: 1000, pollsBusy: 1, rejectBusy: true}
	s.Server = httptest.NewServer(s.Faults.Wrap(http.HandlerFunc(s.serve), func(status int) string {
		typ := "backend_error"
		if status == http.StatusTooManyRequests {
			typ = "quota"
		}
		return errorBody(status, typ, "injected fault")
	}))
	return s
}

// BaseURL is the management API root to put in the sink's config.
func (s *Server) BaseURL() string { return s.URL + prefix }

// SetPollsUntilProcessed sets how many GET segments calls a change stays is_processed /
// is_updated (default 1: the first poll sees it busy).
func (s *Server) SetPollsUntilProcessed(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pollsBusy = n
}

// AddSegment seeds a confirmed, processed segment, as if made by an earlier run or by hand.
func (s *Server) AddSegment(name string, ids ...ID) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	seg := &Segment{ID: id, Name: name, Hashed: true, HashingAlg: "SHA256", ContentType: "crm", IDs: map[ID]bool{}}
	for _, x := range ids {
		seg.IDs[x] = true
	}
	seg.Status = doneStatus(seg)
	s.segments[id] = seg
	return id
}

// Segments returns copies of all segments, by id.
func (s *Server) Segments() []Segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Segment
	for _, seg := range s.segments {
		c := *seg
		c.IDs = maps.Clone(seg.IDs)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// IDs returns a segment's identifiers sorted by type and hash, or nil when it does not exist.
func (s *Server) IDs(id int64) []ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg, ok := s.segments[id]
	if !ok {
		return nil
	}
	out := make([]ID, 0, len(seg.IDs))
	for r := range seg.IDs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b ID) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Hash, b.Hash))
	})
	return out
}

// Calls returns the served calls in order.
func (s *Server) Calls() []Call {
	return httpxtest.Copy(&s.mu, &s.calls)
}

// WriteCalls returns the served calls other than GET.
func (s *Server) WriteCalls() []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method != http.MethodGet {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) newID() int64 { s.nextID++; return s.nextID }

func doneStatus(seg *Segment) string {
	if len(seg.IDs) < 100 && seg.Type != "lookalike" {
		return "few_data"
	}
	return "processed"
}

func errorBody(status int, typ, msg string) string {
	b, _ := json.Marshal(map[string]any{
		"errors":  []map[string]string{{"error_type": typ, "message": msg}},
		"code":    status,
		"message": msg,
	})
	return string(b)
}

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, errorBody(status, typ, msg))
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

type apiSegment struct {
	ID             int64  `json:"id"`
	Name           string `json:"name,omitempty"`
	Type           string `json:"type"`
	Status         string `json:"status"`
	Hashed         bool   `json:"hashed"`
	HashingAlg     string `json:"hashing_alg,omitempty"`
	ContentType    string `json:"content_type,omitempty"`
	LookalikeLink  int64  `json:"lookalike_link,omitempty"`
	LookalikeValue int    `json:"lookalike_value,omitempty"`
	KeepDevice     *bool  `json:"maintain_device_distribution,omitempty"`
	KeepGeo        *bool  `json:"maintain_geo_distribution,omitempty"`
}

func view(seg *Segment) apiSegment {
	v := apiSegment{ID: seg.ID, Name: seg.Name, Type: "uploading", Status: seg.Status, Hashed: seg.Hashed,
		HashingAlg: seg.HashingAlg, ContentType: seg.ContentType}
	if seg.Type == "lookalike" {
		dev, geo := seg.KeepDevice, seg.KeepGeo
		v.Type, v.LookalikeLink, v.LookalikeValue, v.KeepDevice, v.KeepGeo = "lookalike", seg.LookalikeLink, seg.LookalikeValue, &dev, &geo
	}
	return v
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		fail(w, http.StatusUnauthorized, "unauthorized", "no Authorization header")
		return
	case auth != "OAuth "+s.token:
		fail(w, http.StatusForbidden, "invalid_token", "invalid OAuth token")
		return
	}
	if !strings.HasPrefix(r.URL.Path, prefix) {
		fail(w, http.StatusNotFound, "not_found", "no such method")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, prefix)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodGet && s.quota != nil {
		if msg := s.quota.take(); msg != "" {
			fail(w, http.StatusTooManyRequests, "quota", msg)
			return
		}
	}
	switch {
	case r.Method == http.MethodPost && path == "segments/create_lookalike":
		s.createLookalike(w, r, path)
	case r.Method == http.MethodGet && path == "segments":
		s.calls = append(s.calls, Call{Method: "GET", Path: path})
		out := []apiSegment{}
		ids := make([]int64, 0, len(s.segments))
		for id := range s.segments {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			seg := s.segments[id]
			out = append(out, view(seg))
			if seg.busy > 0 {
				seg.busy--
				if seg.busy == 0 {
					seg.Status = doneStatus(seg)
				}
			}
		}
		reply(w, map[string]any{"segments": out})
	case r.Method == http.MethodPost && path == "segments/upload_csv_file":
		rows, err := readCSV(r)
		if err != nil {
			fail(w, http.StatusBadRequest, "invalid_parameter", err.Error())
			return
		}
		s.calls = append(s.calls, Call{Method: "POST", Path: path, Rows: len(rows)})
		seg := &Segment{ID: s.newID(), Status: "uploaded", IDs: map[ID]bool{}}
		for _, row := range rows {
			for _, x := range row.ids() {
				seg.IDs[x] = true
			}
		}
		s.segments[seg.ID] = seg
		if s.onUpload != nil {
			s.onUpload()
		}
		reply(w, map[string]any{"segment": view(seg)})
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "segment/"):
		id, err := strconv.ParseInt(strings.TrimPrefix(path, "segment/"), 10, 64)
		if err != nil || s.segments[id] == nil {
			fail(w, http.StatusNotFound, "not_found", "segment not found")
			return
		}
		var deps []string
		for _, x := range s.segments {
			if x.Type == "lookalike" && x.LookalikeLink == id {
				deps = append(deps, strconv.FormatInt(x.ID, 10))
			}
		}
		if len(deps) > 0 {
			sort.Strings(deps)
			fail(w, http.StatusBadRequest, "invalid_parameter", "Can't remove segment because it has dependent segments: "+strings.Join(deps, ", "))
			return
		}
		s.calls = append(s.calls, Call{Method: "DELETE", Path: path})
		delete(s.segments, id)
		reply(w, map[string]any{"success": true})
	case r.Method == http.MethodPost && strings.HasPrefix(path, "segment/"):
		parts := strings.Split(path, "/")
		if len(parts) != 3 {
			fail(w, http.StatusNotFound, "not_found", "no such method")
			return
		}
		id, err := strconv.ParseInt(parts[1], 10, 64)
		seg := s.segments[id]
		if err != nil || seg == nil {
			fail(w, http.StatusNotFound, "not_found", "segment not found")
			return
		}
		switch parts[2] {
		case "confirm":
			s.confirm(w, r, seg, path)
		case "modify_data":
			s.modify(w, r, seg, path)
		default:
			fail(w, http.StatusNotFound, "not_found", "no such method")
		}
	default:
		fail(w, http.StatusNotFound, "not_found", "no such method "+r.Method+" "+path)
	}
}

// segmentBody decodes a request body {"segment":{…}} strictly (application/json, no unknown
// field) into T; otherwise it answers 400 invalid_parameter and returns nil. op names the call.
func segmentBody[T any](w http.ResponseWriter, r *http.Request, op string) *T {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail(w, http.StatusBadRequest, "invalid_parameter", op+" takes application/json, got "+ct)
		return nil
	}
	var body struct {
		Segment *T `json:"segment"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Segment == nil {
		fail(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("%s body must be {\"segment\":{…}}: %v", op, err))
		return nil
	}
	return body.Segment
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request, seg *Segment, path string) {
	b := segmentBody[struct {
		ID          int64  `json:"id"`
		Name        string `json:"name"`
		Hashed      *bool  `json:"hashed"`
		HashingAlg  string `json:"hashing_alg"`
		ContentType string `json:"content_type"`
	}](w, r, "confirm")
	if b == nil {
		return
	}
	switch {
	case seg.Status != "uploaded":
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment is already confirmed")
	case b.ID != seg.ID:
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment.id does not match the path")
	case strings.TrimSpace(b.Name) == "":
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment.name is required")
	case b.Hashed == nil || !*b.Hashed || b.HashingAlg != "SHA256":
		fail(w, http.StatusBadRequest, "invalid_parameter", "the file holds SHA-256 hashes: hashed must be true and hashing_alg SHA256")
	case b.ContentType != "crm":
		fail(w, http.StatusBadRequest, "invalid_parameter", "content_type must be crm")
	default:
		s.calls = append(s.calls, Call{Method: "POST", Path: path})
		seg.Name, seg.Hashed, seg.HashingAlg, seg.ContentType = b.Name, true, b.HashingAlg, b.ContentType
		s.startProcessing(seg, "is_processed")
		reply(w, map[string]any{"segment": view(seg)})
	}
}

func (s *Server) startProcessing(seg *Segment, st string) {
	seg.Status = st
	seg.busy = s.pollsBusy
	if seg.busy == 0 {
		seg.Status = doneStatus(seg)
	}
}

func (s *Server) modify(w http.ResponseWriter, r *http.Request, seg *Segment, path string) {
	kind := r.URL.Query().Get("modification_type")
	switch {
	case seg.Status == "uploaded":
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment is not confirmed: confirm it before modify_data")
		return
	case s.rejectBusy && seg.busy > 0:
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment is being processed: modify it after it is processed")
		return
	case kind != "addition" && kind != "subtraction" && kind != "replace":
		fail(w, http.StatusBadRequest, "invalid_parameter", "modification_type must be addition, subtraction or replace")
		return
	}
	rows, err := readCSV(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid_parameter", err.Error())
		return
	}
	s.calls = append(s.calls, Call{Method: "POST", Path: path, ModificationType: kind, Rows: len(rows)})
	if kind == "replace" {
		seg.IDs = map[ID]bool{}
	}
	for _, row := range rows {
		for _, x := range row.ids() {
			if kind == "subtraction" {
				delete(seg.IDs, x)
			} else {
				seg.IDs[x] = true
			}
		}
	}
	s.startProcessing(seg, "is_updated")
	reply(w, map[string]any{"segment": view(seg)})
}

// readCSV enforces the upload format: multipart field "file", a header of known column
// names, SHA-256 hex values.
func readCSV(r *http.Request) ([]Row, error) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		return nil, fmt.Errorf("expected multipart/form-data: %v", err)
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		return nil, errors.New(`multipart field "file" is required`)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("file is not CSV: %v", err)
	}
	if len(recs) < 2 {
		return nil, errors.New("file has no data rows")
	}
	cols := map[string]int{}
	for i, name := range recs[0] {
		switch name {
		case "email", "phone":
			cols[name] = i
		case "external_id", "mac", "idfa_gaid":
			return nil, fmt.Errorf("column %q is not accepted by this fake", name)
		default:
			return nil, fmt.Errorf("first row must name the columns (email, phone, …), got %q", name)
		}
	}
	var rows []Row
	for n, rec := range recs[1:] {
		if len(rec) != len(recs[0]) {
			return nil, fmt.Errorf("row %d has %d fields, header has %d", n+2, len(rec), len(recs[0]))
		}
		var row Row
		if i, ok := cols["email"]; ok {
			row.Email = rec[i]
		}
		if i, ok := cols["phone"]; ok {
			row.Phone = rec[i]
		}
		for _, v := range []string{row.Email, row.Phone} {
			if v != "" && !httpxtest.IsHexHash(v, 64) {
				return nil, fmt.Errorf("row %d: value is not a SHA-256 hex hash", n+2)
			}
		}
		if row == (Row{}) {
			return nil, fmt.Errorf("row %d is empty", n+2)
		}
		rows = append(rows, row)
	}
	return rows, nil
}
