package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// On SIGTERM or SIGINT (a scheduler stopping the task, a pod being evicted, Ctrl-C) the run
// cannot finish. Without a handler Go would exit at once and leave behind what only this
// run can undo cheaply: the spill folder (up to three quarters of the input's size on disk,
// otherwise removed by a later run after an hour) and, on an object store, the run lock (a
// local flock goes with the process anyway; a gs:// lock would need --break_lock). So the
// handler waits for a publish in progress to end, runs the cleanups registered for this,
// and exits 128+signal (143 for SIGTERM), as the process would have. The lock is registered
// only with the in-process runner: a remote runner's job goes on without this process, and
// its lock must keep an overlapping run out. An unpublished run folder and state staging
// are removed by the next start, as after any kill. A second signal ends the process at once.

// terminating holds the cleanups to run on a termination signal.
var terminating = &cleanups{}

type cleanups struct {
	mu   sync.Mutex // held while cleanups run: by the handler, or by the normal path's done
	next int
	fns  map[int]func()

	publishing sync.Mutex  // held through publishing; the handler takes it and keeps it
	published  atomic.Bool // the run is published (the handler says so)
	stopping   atomic.Bool // a signal arrived: the failures that follow are its, not the run's
}

// add registers f; done runs f now unless the handler already did, and unregisters it. A
// signal during done waits for it to end.
func (c *cleanups) add(f func()) (done func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fns == nil {
		c.fns = map[int]func(){}
	}
	id := c.next
	c.next++
	c.fns[id] = f
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if f, ok := c.fns[id]; ok {
			delete(c.fns, id)
			f()
		}
	}
}

// run runs every registered cleanup, newest first (the spill folder before the lock), once.
func (c *cleanups) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := c.next - 1; id >= 0; id-- {
		if f, ok := c.fns[id]; ok {
			delete(c.fns, id)
			f()
		}
	}
}

// publish runs fn (the publish step; ok: the run is published) with the handler held off.
func (c *cleanups) publish(fn func() (ok bool, err error)) error {
	c.publishing.Lock()
	defer c.publishing.Unlock()
	ok, err := fn()
	if ok {
		c.published.Store(true)
	}
	return err
}

// handleTermination installs the handler for the rest of the process.
func handleTermination() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-ch
		signal.Stop(ch) // a second signal ends the process at once
		terminating.stopping.Store(true)
		terminating.publishing.Lock() // a publish in progress ends first; none starts after
		if terminating.published.Load() {
			fmt.Fprintf(os.Stderr, "nightly: %v: stopping; the run was published before the signal, cleaning up\n", sig)
		} else {
			fmt.Fprintf(os.Stderr, "nightly: %v: stopping; this run is not published (the published run is unchanged), cleaning up\n", sig)
		}
		terminating.run()
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()
}

// lockRelease returns the release of the run lock: with the in-process runner also run by
// the handler on a signal (see above).
func lockRelease(ctx context.Context, release func(context.Context) error, logErr func(error)) (done func()) {
	f := func() {
		if err := release(context.WithoutCancel(ctx)); err != nil {
			logErr(err)
		}
	}
	if !inProcessRunner() {
		return f
	}
	return terminating.add(f)
}
