// Package httpxtest holds what the sinks' fakes and tests share: Faults injects the failures
// that sinks must survive into an httptest fake (throttling with Retry-After, server errors,
// slow answers, a seeded rate of transient failures); Clock records waits instead of
// sleeping; Killer cancels a run after its Nth request, as a kill would; IsHexHash is the
// fakes' identifier check.
//
// A faulted status (429, 5xx) is answered before the fake's handler runs and is never applied,
// the way a real platform's load balancer refuses a request before the backend sees it. A slow
// answer (Fault.Delay) is the opposite: the request is served, only its answer is late, and a
// client that gave up on it lost the answer, not the effect.
package httpxtest
