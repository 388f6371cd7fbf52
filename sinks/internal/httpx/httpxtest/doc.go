// Package httpxtest injects the failures that sinks must survive into an httptest fake:
// throttling with Retry-After, server errors, slow answers, and a seeded rate of transient
// failures. A fake platform wraps its handler with Faults.Wrap; tests queue faults with Push
// or set a transient rate. A failed request is never applied to the fake's state, the way a
// real platform's load balancer refuses a request before the backend sees it.
package httpxtest
