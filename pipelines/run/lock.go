package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// LockFile is the name of the lock in each locked folder.
const LockFile = ".audiencesync.lock"

// Exit codes of a run that could not take the lock (see ExitCode).
const (
	ExitLocked = 3 // another run holds the lock: retry later
	ExitStale  = 4 // a stale lock on an object store: check, then rerun with --break_lock
)

// Holder says who holds a lock.
type Holder struct {
	RunID       string    `json:"run_id"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	StartedAt   time.Time `json:"started_at"`
	RefreshedAt time.Time `json:"refreshed_at"`
}

func (h Holder) String() string {
	if h.RunID == "" && h.PID == 0 {
		return "an unknown holder"
	}
	return fmt.Sprintf("run %s (pid %d on %s, started %s)", h.RunID, h.PID, h.Host, h.StartedAt.UTC().Format(time.RFC3339))
}

// HeldError is returned by Lock when another run holds a lock.
type HeldError struct {
	Path   string
	Holder Holder
	Stale  bool // an object-store lock not refreshed for StaleAfter
	Age    time.Duration
}

func (e *HeldError) Error() string {
	if e.Stale {
		return fmt.Sprintf("%s is held by %s, whose last sign of life was %s ago: that run most likely died. Check that it is not running, then rerun with --break_lock",
			e.Path, e.Holder, e.Age.Round(time.Second))
	}
	return fmt.Sprintf("another run is in progress: %s is held by %s; one run at a time per state folder and output", e.Path, e.Holder)
}

// ExitCode is the exit code for an error of Lock: ExitLocked or ExitStale for a
// HeldError, 0 otherwise (the caller picks its own).
func ExitCode(err error) int {
	var h *HeldError
	if !errors.As(err, &h) {
		return 0
	}
	if h.Stale {
		return ExitStale
	}
	return ExitLocked
}

// LockOptions configure Lock.
type LockOptions struct {
	RunID      string
	BreakStale bool          // break a stale object-store lock
	StaleAfter time.Duration // object stores: a lock not refreshed this long is stale (default 10 min)
	Now        func() time.Time
}

func (o *LockOptions) defaults() {
	if o.StaleAfter <= 0 {
		o.StaleAfter = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Lock holds the run lock of one or more folders.
type Lock struct {
	held []heldLock
	// Previous holders found in local lock files whose process had ended without
	// releasing them (a killed run).
	Previous []Holder

	mu   sync.Mutex
	lost error
}

type heldLock interface {
	release(ctx context.Context) error
}

// Acquire takes the run lock of every folder in dirs ("" entries are skipped, a folder
// named twice is locked once), in order. When one is held by another run it releases the
// ones it took and returns a *HeldError.
func Acquire(ctx context.Context, dirs []string, o LockOptions) (*Lock, error) {
	o.defaults()
	host, _ := os.Hostname()
	now := o.Now().UTC()
	me := Holder{RunID: o.RunID, Host: host, PID: os.Getpid(), StartedAt: now, RefreshedAt: now}
	l := &Lock{}
	seen := map[string]bool{}
	for _, d := range dirs {
		key := strings.TrimRight(d, "/")
		if d == "" || seen[key] {
			continue
		}
		seen[key] = true
		p := fileio.Join(d, LockFile)
		var h heldLock
		var err error
		if fileio.IsLocal(p) {
			var prev *Holder
			h, prev, err = lockLocal(p, me)
			if prev != nil {
				l.Previous = append(l.Previous, *prev)
			}
		} else {
			h, err = lockObject(ctx, p, me, o, l.setLost)
		}
		if err != nil {
			l.Release(ctx)
			return nil, err
		}
		l.held = append(l.held, h)
		fileio.Checkpoint("lock.acquired", p)
	}
	return l, nil
}

func (l *Lock) setLost(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = err
	}
}

// Err is non-nil when the lock was lost while held (an object-store lock broken by
// another run, or not refreshed for too long): the run must not publish.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Release releases every lock, in reverse order.
func (l *Lock) Release(ctx context.Context) error {
	var errs []error
	for i := len(l.held) - 1; i >= 0; i-- {
		errs = append(errs, l.held[i].release(ctx))
	}
	l.held = nil
	return errors.Join(errs...)
}
