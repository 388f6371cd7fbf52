// Package faultfs is a Beam filesystem for tests: "faultfs:///abs/path" names the local
// file /abs/path, reached through Beam's filesystem registry like gs:// is (so the
// object-store code paths of fileio run), with errors injected on chosen operations and
// paths. It behaves like Google Cloud Storage where the pipeline relies on it: a write is
// committed by Close and aborted when its context was cancelled; a missing object is an
// error wrapping fs.ErrNotExist; writes and deletes can be conditional on the object's
// generation (fileio.Conditional), which a run lock needs.
//
// Faults come from Inject or from the AUDIENCESYNC_FAULTFS environment variable (read
// once, at registration): "op:substring:times[,…]" fails the first `times` operations
// `op` (read, size, list, write, close, remove, rename; * for any) on a path containing
// substring with a transient error (as a 503 would be), never with "not found".
package faultfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// Scheme is the URL scheme this filesystem is registered under.
const Scheme = "faultfs"

// EnvFaults is the environment variable read at registration.
const EnvFaults = "AUDIENCESYNC_FAULTFS"

func init() {
	filesystem.Register(Scheme, func(context.Context) filesystem.Interface { return fsys{} })
	if v := os.Getenv(EnvFaults); v != "" {
		for _, f := range strings.Split(v, ",") {
			p := strings.SplitN(f, ":", 3)
			if len(p) != 3 {
				panic(fmt.Sprintf("%s: %q: want op:substring:times", EnvFaults, f))
			}
			n, err := strconv.Atoi(p[2])
			if err != nil {
				panic(fmt.Sprintf("%s: %q: %v", EnvFaults, f, err))
			}
			Inject(Fault{Op: p[0], Match: p[1], Times: n})
		}
	}
}

// Fault fails the next Times operations Op ("*" for any) on paths containing Match.
type Fault struct {
	Op    string
	Match string
	Times int
}

var (
	mu     sync.Mutex
	faults []*Fault
	hits   = map[string]int{}
)

// Inject adds a fault.
func Inject(f Fault) {
	mu.Lock()
	defer mu.Unlock()
	faults = append(faults, &f)
}

// Reset removes every fault and clears the hit counts.
func Reset() {
	mu.Lock()
	defer mu.Unlock()
	faults, hits = nil, map[string]int{}
}

// Hits returns how many times faults fired for op.
func Hits(op string) int {
	mu.Lock()
	defer mu.Unlock()
	return hits[op]
}

// check returns the injected error for op on path, if a fault applies.
func check(op, path string) error {
	mu.Lock()
	defer mu.Unlock()
	for _, f := range faults {
		if f.Times > 0 && (f.Op == op || f.Op == "*") && strings.Contains(path, f.Match) {
			f.Times--
			hits[op]++
			return fmt.Errorf("faultfs: %s %s: injected transient error (HTTP 503 Service Unavailable)", op, path)
		}
	}
	return nil
}

// Roots returns a fresh empty folder twice, as tests of code that runs on local disks and
// object stores want it: "local", a local path, and "faultfs", the faultfs:// URL of
// another folder (the object-store code path).
func Roots(t testing.TB) map[string]string {
	return map[string]string{"local": t.TempDir(), "faultfs": URL(t.TempDir())}
}

// URL is the faultfs address of a local path.
func URL(local string) string {
	abs, err := filepath.Abs(local)
	if err != nil {
		abs = local
	}
	return Scheme + "://" + filepath.ToSlash(abs)
}

func local(path string) string { return strings.TrimPrefix(path, Scheme+"://") }

type fsys struct{}

var (
	_ filesystem.Remover = fsys{}
	_ filesystem.Renamer = fsys{}
	_ filesystem.Copier  = fsys{}
	_ fileio.Conditional = fsys{}
)

func (fsys) Close() error { return nil }

// List matches like gs:// does: "/" is an ordinary character, * does not cross it, **
// does. Temporary files of a write in progress are not listed.
func (fsys) List(ctx context.Context, glob string) ([]string, error) {
	if err := check("list", glob); err != nil {
		return nil, err
	}
	pat := local(glob)
	re, err := globRegexp(pat)
	if err != nil {
		return nil, err
	}
	root := pat
	if i := strings.IndexAny(pat, "*?["); i >= 0 {
		root = pat[:strings.LastIndex(pat[:i], "/")+1]
	}
	var out []string
	err = filepath.WalkDir(filepath.FromSlash(root), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) || errors.Is(err, syscall.ENOTDIR) {
				return nil // nothing under that prefix
			}
			return err
		}
		if d.IsDir() || fileio.IsTemp(p) {
			return nil
		}
		if s := filepath.ToSlash(p); re.MatchString(s) {
			out = append(out, Scheme+"://"+s)
		}
		return nil
	})
	return out, err
}

func globRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func (fsys) OpenRead(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := check("read", name); err != nil {
		return nil, err
	}
	return os.Open(local(name))
}

// OpenWrite buffers the object and commits it at Close, unless ctx was cancelled by then
// (the upload is aborted, as on Cloud Storage) or a "close" fault fires.
func (fsys) OpenWrite(ctx context.Context, name string) (io.WriteCloser, error) {
	if err := check("write", name); err != nil {
		return nil, err
	}
	return &writer{ctx: ctx, name: name}, nil
}

type writer struct {
	ctx  context.Context
	name string
	buf  bytes.Buffer
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.buf.Write(p)
}

func (w *writer) Close() error {
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("faultfs: upload of %s aborted: %w", w.name, err)
	}
	if err := check("close", w.name); err != nil {
		return err
	}
	return writeLocal(local(w.name), w.buf.Bytes())
}

// writeLocal replaces the file at p with data (temporary file, rename).
func writeLocal(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), p)
}

func (fsys) Size(ctx context.Context, name string) (int64, error) {
	if err := check("size", name); err != nil {
		return 0, err
	}
	st, err := os.Stat(local(name))
	if err != nil {
		return 0, err
	}
	if st.IsDir() {
		return 0, &fs.PathError{Op: "size", Path: name, Err: fs.ErrNotExist} // objects only
	}
	return st.Size(), nil
}

func (fsys) Remove(ctx context.Context, name string) error {
	if err := check("remove", name); err != nil {
		return err
	}
	return os.Remove(local(name))
}

func (fsys) Rename(ctx context.Context, from, to string) error {
	if err := check("rename", to); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(local(to)), 0o755); err != nil {
		return err
	}
	return os.Rename(local(from), local(to))
}

func (f fsys) Copy(ctx context.Context, from, to string) error {
	if err := check("read", from); err != nil {
		return err
	}
	b, err := os.ReadFile(local(from))
	if err != nil {
		return err
	}
	return writeLocal(local(to), b)
}

// Generations are modification times in nanoseconds; condMu makes the conditional
// operations of one process atomic (tests run one process per store at a time).
var condMu sync.Mutex

func gen(p string) (int64, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return st.ModTime().UnixNano(), nil
}

func (fsys) ReadGen(ctx context.Context, name string) ([]byte, int64, error) {
	if err := check("read", name); err != nil {
		return nil, 0, err
	}
	condMu.Lock()
	defer condMu.Unlock()
	b, err := os.ReadFile(local(name))
	if err != nil {
		return nil, 0, err
	}
	g, err := gen(local(name))
	return b, g, err
}

func (fsys) WriteIfGen(ctx context.Context, name string, data []byte, want int64) (int64, error) {
	if err := check("write", name); err != nil {
		return 0, err
	}
	condMu.Lock()
	defer condMu.Unlock()
	p := local(name)
	if want == 0 {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			return 0, fmt.Errorf("%s: %w", name, fileio.ErrPrecondition)
		}
		if err != nil {
			return 0, err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, err
		}
		return gen(p)
	}
	g, err := gen(p)
	if err != nil || g != want {
		return 0, fmt.Errorf("%s: %w", name, fileio.ErrPrecondition)
	}
	if err := writeLocal(p, data); err != nil {
		return 0, err
	}
	// A new generation even within the clock's resolution.
	if ng, err := gen(p); err == nil && ng == g {
		t := time.Unix(0, g+1)
		os.Chtimes(p, t, t)
	}
	return gen(p)
}

func (fsys) RemoveIfGen(ctx context.Context, name string, want int64) error {
	if err := check("remove", name); err != nil {
		return err
	}
	condMu.Lock()
	defer condMu.Unlock()
	g, err := gen(local(name))
	if err != nil || g != want {
		return fmt.Errorf("%s: %w", name, fileio.ErrPrecondition)
	}
	return os.Remove(local(name))
}
