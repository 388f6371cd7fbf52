package httpx

import (
	"context"
	"errors"
)

type onceKey struct{}

// Once marks the calls made with the returned context as not repeatable: a creation that a
// platform may have served although its answer never arrived (a timeout, a reset
// connection). For such a call Do retries only answers that prove the request was refused
// (429, 5xx); after a lost answer it stops at once and returns a *RequestError that
// MaybeServed reports, so that the sink lists what exists before creating again.
func Once(ctx context.Context) context.Context { return context.WithValue(ctx, onceKey{}, true) }

func isOnce(ctx context.Context) bool { v, _ := ctx.Value(onceKey{}).(bool); return v }

// MaybeServed reports whether err is a call that reached the platform but got no answer (a
// timeout or a broken connection after sending): the platform may have served it.
func MaybeServed(err error) bool {
	var re *RequestError
	return errors.As(err, &re) && re.Attempts > 0 && !errors.Is(err, context.Canceled)
}

// Refused reports whether the platform answered err's call with a client error (4xx other
// than 408 and 429), or whether the call never left: either way nothing was applied.
func Refused(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode >= 400 && se.StatusCode < 500 && se.StatusCode != 408 && se.StatusCode != 429
	}
	var re *RequestError
	return errors.As(err, &re) && re.Attempts == 0
}
