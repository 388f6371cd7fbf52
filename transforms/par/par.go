// Package par runs the per-element work of one bundle on every core.
//
// A runner hands a stage's elements to one DoFn instance in one goroutine, one element
// after another, and prism (the default runner) does not split a bundle of a few dozen
// large elements (buckets, splits) across workers. A DoFn therefore collects up to
// Workers() elements, runs them with Map, and emits the results in arrival order before
// it takes the next ones (and in FinishBundle for the rest): both cores work, at most
// Workers() elements are held, and the output is the same as one at a time.
package par

import (
	"runtime"
	"sync"
)

// Workers is the number of goroutines Map uses: GOMAXPROCS.
func Workers() int { return runtime.GOMAXPROCS(0) }

// Map runs fn(worker, item) for every item on up to workers goroutines (worker is in
// [0, workers): index per-worker state with it, e.g. a scratch buffer or a not
// thread-safe scorer) and returns the results in the items' order. Every item runs even
// if one fails; the error returned is that of the first failing item in order, so it
// does not depend on scheduling.
func Map[T, R any](workers int, items []T, fn func(worker int, item T) (R, error)) ([]R, error) {
	out := make([]R, len(items))
	errs := make([]error, len(items))
	workers = max(1, min(workers, len(items)))
	if workers == 1 {
		for i, it := range items {
			out[i], errs[i] = fn(0, it)
		}
	} else {
		var wg sync.WaitGroup
		var mu sync.Mutex
		next := 0
		for w := 0; w < workers; w++ {
			wg.Go(func() {
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= len(items) {
						return
					}
					out[i], errs[i] = fn(w, items[i])
				}
			})
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Pipe overlaps a DoFn's work with its emitting: it collects items, and when it holds
// Workers of them it starts them with Map in the background and hands the previous batch's
// results to emit, so the runner's fused downstream work (encoding, writing Parquet parts)
// runs while the next batch is computed. Emit is only ever called from the goroutine that
// calls Add and Flush, in arrival order; at most one batch is computed at a time, so the
// worker index of fn may index per-worker state. At most 2×Workers items are held.
type Pipe[T, R any] struct {
	Workers int
	Fn      func(worker int, item T) (R, error)

	pending  []T
	inflight chan batch[T, R]
}

type batch[T, R any] struct {
	items []T
	out   []R
	err   error
}

// Add queues item; when Workers items are queued they start, and the results of the
// batch before them are emitted.
func (p *Pipe[T, R]) Add(item T, emit func(T, R)) error {
	p.pending = append(p.pending, item)
	if len(p.pending) < max(1, p.Workers) {
		return nil
	}
	if err := p.wait(emit); err != nil {
		return err
	}
	p.start()
	return nil
}

// Flush computes and emits everything queued; the pipe is empty afterwards (use it at
// FinishBundle). After an error nothing more is emitted.
func (p *Pipe[T, R]) Flush(emit func(T, R)) error {
	if err := p.wait(emit); err != nil {
		return err
	}
	if len(p.pending) == 0 {
		return nil
	}
	p.start()
	return p.wait(emit)
}

// Reset drops whatever a failed bundle left queued or in flight (use it at StartBundle,
// so no item of an earlier bundle reaches a later one).
func (p *Pipe[T, R]) Reset() {
	if p.inflight != nil {
		<-p.inflight
		p.inflight = nil
	}
	clear(p.pending)
	p.pending = p.pending[:0]
}

func (p *Pipe[T, R]) start() {
	items := p.pending
	p.pending = nil
	ch := make(chan batch[T, R], 1)
	go func() {
		out, err := Map(p.Workers, items, p.Fn)
		ch <- batch[T, R]{items: items, out: out, err: err}
	}()
	p.inflight = ch
}

// wait emits the in-flight batch's results (none when it failed).
func (p *Pipe[T, R]) wait(emit func(T, R)) error {
	if p.inflight == nil {
		return nil
	}
	b := <-p.inflight
	p.inflight = nil
	if b.err != nil {
		return b.err
	}
	for i, r := range b.out {
		emit(b.items[i], r)
	}
	return nil
}
