package yandextest

import (
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"
)

// Lookalike segments and the write quotas, as in docs/ad-platforms.md ("Lookalike and
// value-based audiences") and the research notes (Yandex's own API autotests for the
// messages): POST segments/create_lookalike takes {"segment":{name (1..250 characters),
// lookalike_link (one of the account's segments, processed), lookalike_value (1..5),
// maintain_device_distribution, maintain_geo_distribution (default true)}} and answers the new
// segment, type lookalike, status is_processed; a source with lookalikes cannot be deleted.

// Yandex's documented quotas on creating or changing segments.
const (
	WritesPerMinute = 10
	WritesPerHour   = 100
	WritesPerDay    = 500
)

// quota counts the writes of the last day on the fake's clock.
type quota struct {
	now   func() time.Time
	mu    sync.Mutex
	times []time.Time
}

// take records one write, or returns the exceeded quota's message without recording it.
func (q *quota) take() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	keep := q.times[:0]
	for _, t := range q.times {
		if now.Sub(t) < 24*time.Hour {
			keep = append(keep, t)
		}
	}
	q.times = keep
	for _, w := range []struct {
		span  time.Duration
		limit int
		name  string
	}{{time.Minute, WritesPerMinute, "minute"}, {time.Hour, WritesPerHour, "hour"}, {24 * time.Hour, WritesPerDay, "day"}} {
		n := 0
		for _, t := range q.times {
			if now.Sub(t) < w.span {
				n++
			}
		}
		if n >= w.limit {
			return fmt.Sprintf("Quota exceeded: at most %d segment creations and changes a %s", w.limit, w.name)
		}
	}
	q.times = append(q.times, now)
	return ""
}

// EnforceQuotas makes the fake answer 429 (error_type quota) to a write (any call but GET)
// beyond 10 a minute, 100 an hour or 500 a day, measured on now (the test's clock, shared
// with the sink). Off by default: most tests configure the sink far above the quota to run
// fast.
func (s *Server) EnforceQuotas(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota = &quota{now: now}
}

// WriteTimes returns when the writes the quota counted were made (EnforceQuotas).
func (s *Server) WriteTimes() []time.Time {
	s.mu.Lock()
	q := s.quota
	s.mu.Unlock()
	if q == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]time.Time(nil), q.times...)
}

// Process finishes the processing of a segment now (with SetPollsUntilProcessed set high, a
// segment stays is_processed until then: a source that takes days).
func (s *Server) Process(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seg := s.segments[id]; seg != nil && seg.busy > 0 {
		seg.busy, seg.Status = 0, doneStatus(seg)
	}
}

func (s *Server) createLookalike(w http.ResponseWriter, r *http.Request, path string) {
	b := segmentBody[struct {
		Name           *string `json:"name"`
		LookalikeLink  *int64  `json:"lookalike_link"`
		LookalikeValue *int    `json:"lookalike_value"`
		KeepDevice     *bool   `json:"maintain_device_distribution"`
		KeepGeo        *bool   `json:"maintain_geo_distribution"`
	}](w, r, "create_lookalike")
	if b == nil {
		return
	}
	switch {
	case b.Name == nil:
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment.name: должно быть задано")
		return
	case b.LookalikeLink == nil:
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment.lookalike_link: должно быть задано")
		return
	case b.LookalikeValue == nil:
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment.lookalike_value: должно быть задано")
		return
	case utf8.RuneCountInString(*b.Name) < 1 || utf8.RuneCountInString(*b.Name) > 250:
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment.name: длина должна быть между 1 и 250")
		return
	case *b.LookalikeValue > 5:
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment.lookalike_value: должно быть меньше или равно 5")
		return
	case *b.LookalikeValue < 1:
		fail(w, http.StatusBadRequest, "invalid_parameter", "segment.lookalike_value: должно быть больше или равно 1")
		return
	}
	src := s.segments[*b.LookalikeLink]
	switch {
	case src == nil:
		fail(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("You must be owner of segment %d to use it as source for creation of new segment", *b.LookalikeLink))
		return
	case src.Type == "lookalike":
		fail(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("It's impossible to create dependent segment for segment %d", src.ID))
		return
	case src.Status != "processed":
		fail(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("Source segment %d must be processed but is not", src.ID))
		return
	}
	s.calls = append(s.calls, Call{Method: "POST", Path: path})
	seg := &Segment{ID: s.newID(), Name: *b.Name, Type: "lookalike", LookalikeLink: src.ID, LookalikeValue: *b.LookalikeValue,
		KeepDevice: b.KeepDevice == nil || *b.KeepDevice, KeepGeo: b.KeepGeo == nil || *b.KeepGeo, IDs: map[ID]bool{}}
	s.startProcessing(seg, "is_processed")
	s.segments[seg.ID] = seg
	reply(w, map[string]any{"segment": view(seg)})
}

// UseQuota counts n writes made now against the quotas (EnforceQuotas): other tools on the
// account, or earlier runs of the day.
func (s *Server) UseQuota(n int) {
	s.mu.Lock()
	q := s.quota
	s.mu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := 0; i < n; i++ {
		q.times = append(q.times, q.now())
	}
}
