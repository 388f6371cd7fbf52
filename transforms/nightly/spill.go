package nightly

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Spilling. With ReadConfig.SpillDir set, the readers and the join write the batches they
// emit to a file in that folder (one file per split read or order bucket joined, the
// batches one after the other) and emit only where each batch is (CustomerBatch.Spilled,
// OrderBatch.Spilled); BuildBucket and JoinLines read them back (LoadCustomerBatches,
// LoadOrderBatches). The shuffles then move references, not data.
//
// Why: prism, the in-process runner, runs a batch stage as one bundle holding the stage's
// whole input and copies it several times on the way (its store, the bundle's buffer, the
// joined slice it sends, gRPC buffers on both sides): at 10M orders the ~1 GB of grouped
// batches peaked at ~8 GB of heap, and the copying was about a third of the CPU. A file
// written once and read twice (for the partials and for scoring) costs a fraction of
// that, and its pages belong to the OS's cache, not to the process. One file per producer,
// not per batch: creating a file costs ~0.5 ms on a virtual disk, opening one to read ~8 µs.
//
// Every worker must see the folder: the nightly binary turns spilling on by itself only
// for the in-process runner (--spill_dir) and removes the folder after the pipeline,
// whatever its outcome.

// SpillPrefix starts the name of the per-run spill folders the nightly binary makes:
// SpillPrefix + "<pid>-<random>".
const SpillPrefix = "audiencesync-spill-"

// SpillRef is where a spilled batch is: Len bytes at Off of File. The zero value means
// the batch is not spilled.
type SpillRef struct {
	File     string
	Off, Len int64
}

func (r SpillRef) encode() []byte {
	if r.File == "" {
		return nil
	}
	e := wire.NewEnc(len(r.File) + 16)
	e.Str(r.File)
	e.Int(r.Off)
	e.Int(r.Len)
	return e.B
}

func (r *SpillRef) decode(b []byte) error {
	*r = SpillRef{}
	if len(b) == 0 {
		return nil
	}
	d := wire.NewDec(b)
	r.File, r.Off, r.Len = d.Str(), d.Int(), d.Int()
	if err := d.Done(); err != nil {
		return fmt.Errorf("spill reference: %w", err)
	}
	if r.File == "" || r.Off < 0 || r.Len < 0 {
		return fmt.Errorf("spill reference: %q at %d+%d", r.File, r.Off, r.Len)
	}
	return nil
}

// spill writes the batches of m (in key order) to one new file in dir and replaces each
// by its reference.
func spill[B interface{ MarshalBinary() ([]byte, error) }](dir, kind string, m map[int]B, ref func(SpillRef) B) error {
	if len(m) == 0 {
		return nil
	}
	f, err := os.CreateTemp(dir, kind+"-*")
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	var off int64
	refs := make(map[int]SpillRef, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		data, _ := m[k].MarshalBinary()
		if _, err = f.Write(data); err != nil {
			break
		}
		refs[k] = SpillRef{File: f.Name(), Off: off, Len: int64(len(data))}
		off += int64(len(data))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("spill: %w", err)
	}
	for k, r := range refs {
		m[k] = ref(r)
	}
	return nil
}

// SpillCustomerBatches writes the batches of m to one file in dir and replaces each by
// its reference.
func SpillCustomerBatches(dir string, m map[int]CustomerBatch) error {
	return spill(dir, "customers", m, func(r SpillRef) CustomerBatch { return CustomerBatch{Spilled: r} })
}

// SpillOrderBatches writes the batches of m to one file in dir and replaces each by its
// reference.
func SpillOrderBatches(dir string, m map[int]OrderBatch) error {
	return spill(dir, "orders", m, func(r SpillRef) OrderBatch { return OrderBatch{Spilled: r} })
}

// read returns the bytes r refers to.
func (r SpillRef) read() ([]byte, error) {
	f, err := os.Open(r.File)
	if err != nil {
		return nil, fmt.Errorf("spilled batch: %w", err)
	}
	defer f.Close()
	data := make([]byte, r.Len)
	if _, err := f.ReadAt(data, r.Off); err != nil {
		return nil, fmt.Errorf("spilled batch %s at %d+%d: %w", r.File, r.Off, r.Len, err)
	}
	return data, nil
}

// LoadCustomerBatches replaces each spilled batch of bs by the batch it refers to.
func LoadCustomerBatches(bs []CustomerBatch) error {
	return load(bs, func(b CustomerBatch) SpillRef { return b.Spilled }, "a customer batch")
}

// LoadOrderBatches replaces each spilled batch of bs by the batch it refers to.
func LoadOrderBatches(bs []OrderBatch) error {
	return load(bs, func(b OrderBatch) SpillRef { return b.Spilled }, "an order batch")
}

func load[B any, P interface {
	*B
	UnmarshalBinary([]byte) error
}](bs []B, ref func(B) SpillRef, what string) error {
	for i := range bs {
		r := ref(bs[i])
		if r.File == "" {
			continue
		}
		data, err := r.read()
		if err != nil {
			return err
		}
		var x B
		if err := P(&x).UnmarshalBinary(data); err != nil || ref(x).File != "" {
			return fmt.Errorf("spilled batch %s at %d: not %s (%v)", r.File, r.Off, what, err)
		}
		bs[i] = x
	}
	return nil
}

// NewSpillDir makes a spill folder of this process in parent (the system's temporary
// folder when empty), after removing the spill folders there of processes that no longer
// run (a run that was killed). The caller removes the folder when the pipeline is done.
func NewSpillDir(parent string) (string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("spill folder: %w", err)
	}
	RemoveStaleSpillDirs(parent)
	dir, err := os.MkdirTemp(parent, SpillPrefix+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return "", fmt.Errorf("spill folder: %w", err)
	}
	return dir, nil
}

// staleSpillAge is how long a spill folder of a process that is gone must have been
// unchanged before it is removed: the process id may be that of a live run in another pid
// namespace sharing the folder, and an hour is far longer than a run leaves its folder
// unchanged (its stages write and read it throughout).
const staleSpillAge = time.Hour

// RemoveStaleSpillDirs removes the spill folders in parent whose process is gone and that
// were last changed more than staleSpillAge ago; it returns how many it removed. A folder
// whose name carries no pid is left alone.
func RemoveStaleSpillDirs(parent string) int {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), SpillPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < staleSpillAge {
			continue
		}
		if os.RemoveAll(filepath.Join(parent, e.Name())) == nil {
			n++
		}
	}
	return n
}

// processAlive reports whether a process with this id exists (signal 0 probes it).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
