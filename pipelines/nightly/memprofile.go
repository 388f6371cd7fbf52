package main

import (
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"
)

// peakHeapProfile backs --memprofile: it reads the live heap (as of the last collection)
// every interval and rewrites path with a heap profile each time the live heap passes its
// peak by 10%, so the file shows what was held when memory use was highest. The func it
// returns stops the watch and says where the profile is and the peak it shows.
func peakHeapProfile(path string, every time.Duration) (stop func(), err error) {
	if err := writeHeapProfile(path); err != nil { // a bad path fails before the run
		return nil, err
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var (
		peak    uint64
		lastErr error
		wg      sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > peak+peak/10 {
				peak = live
				lastErr = writeHeapProfile(path)
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		if lastErr != nil {
			fmt.Fprintln(os.Stderr, "nightly: --memprofile:", lastErr)
			return
		}
		fmt.Fprintf(os.Stderr, "nightly: heap profile at the live-heap peak (%d MB) in %s\n", peak>>20, path)
	}, nil
}

// writeHeapProfile writes the heap profile to a temporary file and renames it over path,
// so path always holds a whole profile.
func writeHeapProfile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
