package httpxtest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is what the next request gets instead of (or before) a normal answer.
type Fault struct {
	Status     int         // answer with this status without calling the handler (0: call it)
	RetryAfter string      // Retry-After header value, e.g. "7"
	Header     http.Header // extra headers
	// Delay holds the answer this long (or until the client gives up). As on a real platform,
	// the request is served all the same: a client that timed out lost only the answer.
	Delay time.Duration
}

// Faults is safe for concurrent use. The zero value injects nothing.
type Faults struct {
	mu        sync.Mutex
	queue     []Fault
	matched   []matchedFault
	rate      float64
	rng       *rand.Rand
	injected  int
	transient int
}

type matchedFault struct {
	match string
	f     Fault
}

// PushFor queues faults for the next requests whose "METHOD /path" contains match, one
// each, in order; they go before the queue of Push.
func (f *Faults) PushFor(match string, fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range fs {
		f.matched = append(f.matched, matchedFault{match, x})
	}
}

// Push queues faults for the next requests, one each, in order.
func (f *Faults) Push(fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fs...)
}

// SetTransientRate makes a share p of the requests (drawn from a generator seeded with seed,
// so runs repeat) fail with 503, or 429 with Retry-After: 1 for every third failure.
func (f *Faults) SetTransientRate(p float64, seed uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate = p
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Injected returns how many requests got a fault (queued or transient).
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

func (f *Faults) next(r *http.Request) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	route := r.Method + " " + r.URL.Path
	for i, m := range f.matched {
		if strings.Contains(route, m.match) {
			f.matched = append(f.matched[:i], f.matched[i+1:]...)
			f.injected++
			return m.f, true
		}
	}
	if len(f.queue) > 0 {
		ft := f.queue[0]
		f.queue = f.queue[1:]
		f.injected++
		return ft, true
	}
	if f.rate > 0 && f.rng.Float64() < f.rate {
		f.injected++
		f.transient++
		if f.transient%3 == 0 {
			return Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"}, true
		}
		return Fault{Status: http.StatusServiceUnavailable}, true
	}
	return Fault{}, false
}

// Wrap returns h behind the fault injector. errBody renders the platform's error JSON for a
// status (nil: a plain text body).
func (f *Faults) Wrap(h http.Handler, errBody func(status int) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ft, ok := f.next(r)
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		if ft.Delay > 0 {
			// Serve first, on a context the client cannot cancel, then hold the answer.
			rec := httptest.NewRecorder()
			if ft.Status == 0 {
				h.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
			} else {
				io.Copy(io.Discard, r.Body) // only then does net/http notice a client that gives up
			}
			t := time.NewTimer(ft.Delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				return // the client gave up: the answer is lost, the request was served
			case <-t.C:
			}
			if ft.Status == 0 {
				for k, vs := range rec.Header() {
					w.Header()[k] = vs
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
		}
		for k, vs := range ft.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if ft.Status == 0 {
			h.ServeHTTP(w, r)
			return
		}
		if ft.RetryAfter != "" {
			w.Header().Set("Retry-After", ft.RetryAfter)
		}
		body := http.StatusText(ft.Status)
		if errBody != nil {
			body = errBody(ft.Status)
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(ft.Status)
		fmt.Fprint(w, body)
	})
}

// Seconds formats d as a Retry-After value.
func Seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
