package httpx

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// A call marked Once is not sent again after a lost answer (the platform may have served it),
// but is after an answer that proves the refusal (503, 429).
func TestOnceNotRetriedAfterLostAnswer(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	srv, n := script(t, slow, answer(200))
	c := newTestClient(newFakeClock(), Config{Timeout: 50 * time.Millisecond}, 0)
	req, _ := http.NewRequest("POST", srv.URL, nil)
	_, _, err := c.Do(Once(context.Background()), req)
	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 1 || n.Load() != 1 || !MaybeServed(err) || Refused(err) {
		t.Fatalf("err = %v after %d requests: want one attempt, maybe served", err, n.Load())
	}

	srv2, n2 := script(t, answer(503), answer(429, "Retry-After", "1"), answer(200))
	req2, _ := http.NewRequest("POST", srv2.URL, nil)
	if resp, _, err := c.Do(Once(context.Background()), req2); err != nil || resp.StatusCode != 200 || n2.Load() != 3 {
		t.Fatalf("refusals not retried: %v after %d requests", err, n2.Load())
	}
}

func TestRefusedAndMaybeServed(t *testing.T) {
	srv, _ := script(t, answer(400))
	c := newTestClient(newFakeClock(), Config{}, 0)
	_, _, err := get(t, c, srv.URL)
	if !Refused(err) || MaybeServed(err) {
		t.Errorf("400: refused %v, maybe served %v", Refused(err), MaybeServed(err))
	}
	srv2, _ := script(t, answer(503))
	_, _, err = get(t, newTestClient(newFakeClock(), Config{MaxAttempts: 2}, 0), srv2.URL)
	if Refused(err) || MaybeServed(err) {
		t.Errorf("503: refused %v, maybe served %v (an answer came: not 'no answer', and a 5xx may have half-applied)", Refused(err), MaybeServed(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, _, err = c.Do(ctx, req)
	if !Refused(err) || MaybeServed(err) {
		t.Errorf("never sent: refused %v, maybe served %v (%v)", Refused(err), MaybeServed(err), err)
	}
}
