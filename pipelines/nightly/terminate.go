package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// On SIGTERM or SIGINT (a scheduler stopping the task, a pod being evicted, Ctrl-C) the run
// cannot finish. Without a handler Go would exit at once and leave behind what only this
// run can undo cheaply: the spill folder (up to three quarters of the input's size on disk,
// otherwise removed by a later run after an hour) and, on an object store, the run lock (a
// local flock goes with the process anyway; a gs:// lock would need --break_lock). So the
// handler runs the cleanups registered for this, then exits 128+signal (143 for SIGTERM),
// as the process would have. The unpublished run folder and state staging are removed by
// the next start, as after any kill; the published run stays the previous complete one.

// terminating holds the cleanups to run on a termination signal.
var terminating = &cleanups{}

type cleanups struct {
	mu   sync.Mutex
	next int
	fns  map[int]func()
}

// add registers f; the returned func unregisters it (call it once the normal path has done
// the same work).
func (c *cleanups) add(f func()) (remove func()) {
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
		delete(c.fns, id)
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

// handleTermination installs the handler for the rest of the process.
func handleTermination() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-ch
		fmt.Fprintf(os.Stderr, "nightly: %v: stopping; this run is not published (the published run is unchanged), cleaning up\n", sig)
		terminating.run()
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()
}

// releaseOnTermination registers the lock's release; the returned func unregisters it.
func releaseOnTermination(release func(context.Context) error) (remove func()) {
	return terminating.add(func() {
		if err := release(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "nightly: run lock not released:", err)
		}
	})
}
