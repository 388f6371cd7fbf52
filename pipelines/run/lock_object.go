package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
)

type objectLock struct {
	c      fileio.Conditional
	close  func() error
	path   string
	stop   chan struct{}
	done   chan struct{}
	gen    int64 // written by refresh only; read by release after it stopped
	holder Holder
}

// lockObject creates path only if it does not exist, and refreshes it until released.
func lockObject(ctx context.Context, path string, me Holder, o LockOptions, lost func(error)) (heldLock, error) {
	c, closeFn, err := fileio.ConditionalFor(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("run lock: %w", err)
	}
	b, _ := json.Marshal(me)
	gen, err := c.WriteIfGen(ctx, path, b, 0)
	for attempt := 0; err != nil && errors.Is(err, fileio.ErrPrecondition) && attempt < 3; attempt++ {
		data, g, rerr := c.ReadGen(ctx, path)
		if fileio.IsNotFound(rerr) {
			gen, err = c.WriteIfGen(ctx, path, b, 0) // released meanwhile
			continue
		}
		if rerr != nil {
			closeFn()
			return nil, fmt.Errorf("run lock %s: read the holder: %w", path, rerr)
		}
		var h Holder
		json.Unmarshal(data, &h)
		age := o.Now().Sub(h.RefreshedAt)
		if age <= o.StaleAfter {
			closeFn()
			return nil, &HeldError{Path: path, Holder: h}
		}
		if !o.BreakStale {
			closeFn()
			return nil, &HeldError{Path: path, Holder: h, Stale: true, Age: age}
		}
		slog.Warn("breaking a stale run lock", "lock", path, "holder", h.String(), "age", age.Round(time.Second).String())
		if derr := c.RemoveIfGen(ctx, path, g); derr != nil && !errors.Is(derr, fileio.ErrPrecondition) && !fileio.IsNotFound(derr) {
			closeFn()
			return nil, fmt.Errorf("run lock %s: break: %w", path, derr)
		}
		gen, err = c.WriteIfGen(ctx, path, b, 0)
	}
	if err != nil {
		closeFn()
		return nil, fmt.Errorf("run lock %s: %w", path, err)
	}
	l := &objectLock{c: c, close: closeFn, path: path, stop: make(chan struct{}), done: make(chan struct{}), gen: gen, holder: me}
	go l.refresh(o, lost)
	return l, nil
}

// refresh rewrites the lock (conditional on its own generation) every StaleAfter/5. A
// precondition failure means another run broke the lock: the lock is lost. So is a lock
// that could not be refreshed for StaleAfter (another run may break it now).
func (l *objectLock) refresh(o LockOptions, lost func(error)) {
	defer close(l.done)
	every := o.StaleAfter / 5
	t := time.NewTicker(every)
	defer t.Stop()
	last := o.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.holder.RefreshedAt = o.Now().UTC()
		b, _ := json.Marshal(l.holder)
		ctx, cancel := context.WithTimeout(context.Background(), every)
		gen, err := l.c.WriteIfGen(ctx, l.path, b, l.gen)
		cancel()
		if err == nil {
			l.gen, last = gen, o.Now()
		}
		switch {
		case err == nil:
		case errors.Is(err, fileio.ErrPrecondition):
			lost(fmt.Errorf("run lock %s was taken over by another run: this run must not publish", l.path))
			return
		case o.Now().Sub(last) > o.StaleAfter:
			lost(fmt.Errorf("run lock %s could not be refreshed for %s (%v): this run must not publish", l.path, o.StaleAfter, err))
			return
		default:
			slog.Warn("run lock refresh failed; retrying", "lock", l.path, "err", err)
		}
	}
}

func (l *objectLock) release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	defer l.close()
	err := l.c.RemoveIfGen(ctx, l.path, l.gen)
	if errors.Is(err, fileio.ErrPrecondition) {
		return nil // taken over: not ours to delete
	}
	return err
}
