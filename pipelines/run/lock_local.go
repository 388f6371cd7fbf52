//go:build unix

package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

type localLock struct{ f *os.File }

// lockLocal takes an flock on path and writes me into it. prev is the holder a killed run
// left in the file (the kernel released its lock when it died).
func lockLocal(path string, me Holder) (heldLock, *Holder, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("run lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, &HeldError{Path: path, Holder: readHolder(f)}
		}
		return nil, nil, fmt.Errorf("run lock %s: flock: %w (a file system without locks cannot hold the run lock)", path, err)
	}
	var prev *Holder
	if b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16)); err == nil && len(b) > 0 {
		var h Holder
		if json.Unmarshal(b, &h) == nil {
			prev = &h
		}
	}
	b, _ := json.Marshal(me)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("run lock %s: %w", path, err)
		}
	}
	return &localLock{f}, prev, nil
}

// readHolder reads the holder from a lock file another process holds. The holder writes
// it right after taking the lock: an empty file is read again for a moment.
func readHolder(f *os.File) Holder {
	var h Holder
	for i := 0; i < 20; i++ {
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
		if err == nil && json.Unmarshal(b, &h) == nil {
			return h
		}
		time.Sleep(25 * time.Millisecond)
	}
	return h
}

func (l *localLock) release(context.Context) error {
	// The file stays (removing it would race with a run that opened it to wait); emptied,
	// it says nobody holds it.
	l.f.Truncate(0)
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
