// Package fileio is the one place that opens files for the pipeline, so that every reader
// and writer works on local paths and on any scheme registered with Beam's filesystem
// registry (gs:// through the gcs package, which the pipeline binary imports).
//
// Local writes are atomic: data goes to a temporary file in the same folder
// (".<name>.tmp-*"), is synced, and is renamed over the target, so a crash never leaves a
// half-written table part or state file behind (a killed process may leave the temporary
// file; pipelines/run removes them at the next start). Object stores (gs://) commit a
// write when the writer is closed: a failed write cancels the writer's context first, so
// that Close aborts the upload instead of committing a partial object.
//
// Only "not found" means absent: Lookup and IsNotFound tell a missing file from a failed
// look (a permission problem, a transient object-store error), which callers must treat
// as an error, never as "no file".
package fileio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// IsLocal reports whether path is a local path (no scheme).
func IsLocal(path string) bool { return !strings.Contains(path, "://") }

// Join joins path elements with "/" for URLs and the OS separator for local paths.
func Join(base string, elem ...string) string {
	if IsLocal(base) {
		return filepath.Join(append([]string{base}, elem...)...)
	}
	return strings.TrimRight(base, "/") + "/" + strings.Join(elem, "/")
}

// WriteAtomic creates or replaces path with what write produces (mode 0644 locally).
func WriteAtomic(ctx context.Context, path string, write func(w io.Writer) error) error {
	return writeAtomic(ctx, path, 0o644, write)
}

// WriteFilePrivate writes data to path atomically, readable by its owner only (0600
// locally): token caches and other secrets.
func WriteFilePrivate(ctx context.Context, path string, data []byte) error {
	return writeAtomic(ctx, path, 0o600, func(w io.Writer) error { _, err := w.Write(data); return err })
}

func writeAtomic(ctx context.Context, path string, mode os.FileMode, write func(w io.Writer) error) error {
	if IsLocal(path) {
		Checkpoint("write", path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
		if err != nil {
			return err
		}
		tmp := f.Name()
		ok := false
		defer func() {
			if !ok {
				f.Close()
				os.Remove(tmp)
			}
		}()
		if err := write(f); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return err
		}
		// CreateTemp makes 0600 files; outputs are meant to be shared like any other file,
		// secrets (WriteFilePrivate) keep 0600.
		if err := f.Chmod(mode); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		Checkpoint("commit", path)
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		ok = true
		return nil
	}
	Checkpoint("write", path)
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return err
	}
	defer fs.Close()
	// The writer commits on Close. Its context is cancelled before Close when the write
	// failed: Google Cloud Storage (and any store whose writer honours its context) then
	// aborts the upload, and the previous version of the object stays as it was.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := fs.OpenWrite(wctx, path)
	if err != nil {
		return err
	}
	if err := write(w); err != nil {
		cancel()
		w.Close() // aborted: returns the cancellation, commits nothing
		return fmt.Errorf("write %s: %w", path, err)
	}
	Checkpoint("commit", path)
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteFile writes data to path atomically.
func WriteFile(ctx context.Context, path string, data []byte) error {
	return WriteAtomic(ctx, path, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// ReadFile reads the whole file.
func ReadFile(ctx context.Context, path string) ([]byte, error) {
	if IsLocal(path) {
		Checkpoint("read", path)
		return os.ReadFile(path)
	}
	r, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// ReaderAt is an open file with random access.
type ReaderAt interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

type osReaderAt struct {
	*os.File
	size int64
}

func (r osReaderAt) Size() int64 { return r.size }

type bytesReaderAt struct{ *bytes.Reader }

func (bytesReaderAt) Close() error { return nil }

// OpenReaderAt opens path for random access (Parquet footers and row groups). Remote files
// are read into memory whole; the pipeline reads inputs as many files or row groups, so one
// file's bytes are bounded by what one worker handles.
func OpenReaderAt(ctx context.Context, path string) (ReaderAt, error) {
	Checkpoint("read", path)
	if IsLocal(path) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		return osReaderAt{f, st.Size()}, nil
	}
	b, err := ReadFile(ctx, path)
	if err != nil {
		return nil, err
	}
	return bytesReaderAt{bytes.NewReader(b)}, nil
}

// Open opens path for sequential reading.
func Open(ctx context.Context, path string) (io.ReadCloser, error) {
	Checkpoint("read", path)
	if IsLocal(path) {
		return os.Open(path)
	}
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := fs.OpenRead(ctx, path)
	if err != nil {
		fs.Close()
		return nil, err
	}
	return closeBoth{r, fs}, nil
}

// closeBoth is a remote file's reader that also closes the filesystem it came from.
type closeBoth struct {
	io.ReadCloser
	fs io.Closer
}

func (c closeBoth) Close() error { return errors.Join(c.ReadCloser.Close(), c.fs.Close()) }

// Size returns the file's size in bytes.
func Size(ctx context.Context, path string) (int64, error) {
	if IsLocal(path) {
		st, err := os.Stat(path)
		if err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return 0, err
	}
	defer fs.Close()
	return fs.Size(ctx, path)
}

// Glob lists the files matching pattern, sorted. A missing folder gives no files.
func Glob(ctx context.Context, pattern string) ([]string, error) {
	var out []string
	if IsLocal(pattern) {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, err
		}
		out = m
	} else {
		fs, err := filesystem.New(ctx, pattern)
		if err != nil {
			return nil, err
		}
		defer fs.Close()
		out, err = fs.List(ctx, pattern)
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// IsNotFound reports whether err says that a file or object does not exist (locally,
// on gs://, or on any Beam filesystem that wraps fs.ErrNotExist). Every other error is
// a failed look, not an answer.
func IsNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, storage.ErrObjectNotExist)
}

// Lookup reports whether path exists. Only "not found" is false with a nil error; any
// other failure (a local permission problem, a transient object-store error) is returned:
// callers that would otherwise overwrite or reset data must not take a failed look for
// "absent".
func Lookup(ctx context.Context, path string) (bool, error) {
	_, err := Size(ctx, path)
	if err == nil {
		return true, nil
	}
	if IsNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("look up %s: %w", path, err)
}

// RemoveGlob deletes the files matching pattern, locally or on a store whose Beam
// filesystem can remove (gs:// can).
func RemoveGlob(ctx context.Context, pattern string) error {
	if IsLocal(pattern) {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		for _, p := range m {
			Checkpoint("remove", p)
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return nil
	}
	return removeRemote(ctx, pattern, func(fsys filesystem.Interface) ([]string, error) {
		return fsys.List(ctx, pattern)
	})
}

// removeRemote deletes the files paths lists, through the Beam filesystem of at (a path on
// the same store); a file already gone is not an error.
func removeRemote(ctx context.Context, at string, paths func(filesystem.Interface) ([]string, error)) error {
	fsys, err := filesystem.New(ctx, at)
	if err != nil {
		return err
	}
	defer fsys.Close()
	rm, ok := fsys.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("remove %s: the filesystem cannot delete files", at)
	}
	m, err := paths(fsys)
	if err != nil {
		return err
	}
	for _, p := range m {
		Checkpoint("remove", p)
		if err := rm.Remove(ctx, p); err != nil && !IsNotFound(err) {
			return err
		}
	}
	return nil
}
