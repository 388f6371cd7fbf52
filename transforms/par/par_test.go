package par

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestMapOrderAndWorkers: results come back in item order whatever the worker count, and
// no two items run on the same worker index at the same time.
func TestMapOrderAndWorkers(t *testing.T) {
	items := make([]int, 101)
	for i := range items {
		items[i] = i
	}
	for _, workers := range []int{0, 1, 2, 7, 500} {
		busy := make([]sync.Mutex, max(1, min(workers, len(items))))
		got, err := Map(workers, items, func(w, x int) (string, error) {
			if !busy[w].TryLock() {
				return "", fmt.Errorf("worker %d used twice at once", w)
			}
			defer busy[w].Unlock()
			return fmt.Sprint(x * x), nil
		})
		if err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		for i, s := range got {
			if s != fmt.Sprint(i*i) {
				t.Fatalf("workers=%d: item %d = %q, want %d", workers, i, s, i*i)
			}
		}
	}
}

// TestMapFirstErrorInOrder: every item runs, and the error is that of the first failing
// item in order (not the first to fail in time).
func TestMapFirstErrorInOrder(t *testing.T) {
	items := []int{0, 1, 2, 3, 4, 5, 6, 7}
	var mu sync.Mutex
	ran := map[int]bool{}
	_, err := Map(4, items, func(_ int, x int) (int, error) {
		mu.Lock()
		ran[x] = true
		mu.Unlock()
		if x == 3 || x == 6 {
			return 0, errors.New(fmt.Sprint("item ", x))
		}
		return x, nil
	})
	if err == nil || err.Error() != "item 3" {
		t.Errorf("err = %v, want item 3", err)
	}
	if len(ran) != len(items) {
		t.Errorf("%d of %d items ran", len(ran), len(items))
	}
}

// TestPipe: every item is emitted once, in arrival order, from the caller's goroutine
// only, whatever the batch size; an error stops emission and is returned.
func TestPipe(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		p := Pipe[int, int]{Workers: workers, Fn: func(_ int, x int) (int, error) { return 2 * x, nil }}
		var got []int
		emit := func(x, r int) {
			if r != 2*x {
				t.Errorf("workers=%d: %d -> %d", workers, x, r)
			}
			got = append(got, x) // a data race here would show under -race
		}
		for i := 0; i < 20; i++ {
			if err := p.Add(i, emit); err != nil {
				t.Fatal(err)
			}
			if held := len(p.pending); held > workers {
				t.Fatalf("workers=%d: %d items queued", workers, held)
			}
		}
		if err := p.Flush(emit); err != nil {
			t.Fatal(err)
		}
		if len(got) != 20 {
			t.Fatalf("workers=%d: emitted %d of 20", workers, len(got))
		}
		for i, x := range got {
			if x != i {
				t.Fatalf("workers=%d: emitted %v, want 0..19 in order", workers, got)
			}
		}
	}
	p := Pipe[int, int]{Workers: 2, Fn: func(_ int, x int) (int, error) {
		if x == 3 {
			return 0, errors.New("three")
		}
		return x, nil
	}}
	var err error
	for i := 0; i < 6 && err == nil; i++ {
		err = p.Add(i, func(int, int) {})
	}
	if err == nil {
		err = p.Flush(func(int, int) {})
	}
	if err == nil || err.Error() != "three" {
		t.Errorf("err = %v, want three", err)
	}
}

// TestPipeReset: after a failed bundle, Reset drops what was queued and in flight, so the
// next bundle emits only its own items.
func TestPipeReset(t *testing.T) {
	p := Pipe[int, int]{Workers: 2, Fn: func(_ int, x int) (int, error) {
		if x == 1 {
			return 0, errors.New("one")
		}
		return x, nil
	}}
	nop := func(int, int) {}
	for _, x := range []int{0, 1, 2, 3} { // 0,1 fail in flight; 2,3 start; then 4 queued
		_ = p.Add(x, nop)
	}
	_ = p.Add(4, nop)
	p.Reset()
	var got []int
	for _, x := range []int{10, 11, 12} {
		if err := p.Add(x, func(x, _ int) { got = append(got, x) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(func(x, _ int) { got = append(got, x) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{10, 11, 12}) {
		t.Errorf("after Reset emitted %v, want [10 11 12]", got)
	}
}
