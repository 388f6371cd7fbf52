//go:build testhooks

package main

// Test hooks, compiled only with -tags testhooks (the black-box tests in runint_test.go
// build the binary so); a production binary has none of this.
//
//	AUDIENCESYNC_TEST_CHECKPOINTS=FILE  append "N op path" for every checkpoint to FILE
//	AUDIENCESYNC_TEST_KILL_AT=N         SIGKILL this process at the Nth checkpoint
//	AUDIENCESYNC_TEST_HOLD=FILE         at the run.started checkpoint, wait while FILE exists
//	AUDIENCESYNC_TEST_HOLD_OP=OP        hold at the checkpoint OP instead (e.g. spill.created)
//	AUDIENCESYNC_FAULTFS=…              faults of the faultfs:// test filesystem

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	_ "github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
)

func init() {
	logPath := os.Getenv("AUDIENCESYNC_TEST_CHECKPOINTS")
	killAt, _ := strconv.Atoi(os.Getenv("AUDIENCESYNC_TEST_KILL_AT"))
	hold := os.Getenv("AUDIENCESYNC_TEST_HOLD")
	holdOp := os.Getenv("AUDIENCESYNC_TEST_HOLD_OP")
	if holdOp == "" {
		holdOp = "run.started"
	}
	if logPath == "" && killAt == 0 && hold == "" {
		return
	}
	var mu sync.Mutex
	n := 0
	fileio.SetHook(func(op, path string) {
		mu.Lock()
		n++
		if logPath != "" {
			if f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
				fmt.Fprintf(f, "%d %s %s\n", n, op, path)
				f.Close()
			}
		}
		if n == killAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
		mu.Unlock()
		if hold != "" && op == holdOp {
			for {
				if _, err := os.Stat(hold); err != nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}
