package fileio_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
)

func TestLookupTellsMissingFromFailed(t *testing.T) {
	ctx := context.Background()
	for name, root := range faultfs.Roots(t) {
		t.Run(name, func(t *testing.T) {
			t.Cleanup(faultfs.Reset)
			p := fileio.Join(root, "state", "x.json")
			if ok, err := fileio.Lookup(ctx, p); ok || err != nil {
				t.Fatalf("missing file: Lookup = %v, %v; want false, nil", ok, err)
			}
			if err := fileio.WriteFile(ctx, p, []byte("{}")); err != nil {
				t.Fatal(err)
			}
			if ok, err := fileio.Lookup(ctx, p); !ok || err != nil {
				t.Fatalf("present file: Lookup = %v, %v; want true, nil", ok, err)
			}
			if name != "faultfs" {
				return
			}
			faultfs.Inject(faultfs.Fault{Op: "size", Match: "x.json", Times: 1})
			ok, err := fileio.Lookup(ctx, p)
			if err == nil || fileio.IsNotFound(err) {
				t.Fatalf("transient error: Lookup = %v, %v; want an error that is not 'not found'", ok, err)
			}
		})
	}
}

func TestFailedRemoteWriteKeepsThePreviousObject(t *testing.T) {
	ctx := context.Background()
	for name, root := range faultfs.Roots(t) {
		t.Run(name, func(t *testing.T) {
			p := fileio.Join(root, "t", "part-00000.parquet")
			if err := fileio.WriteFile(ctx, p, []byte("old complete")); err != nil {
				t.Fatal(err)
			}
			boom := errors.New("encoder failed")
			err := fileio.WriteAtomic(ctx, p, func(w io.Writer) error {
				w.Write([]byte("new but partial"))
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("WriteAtomic = %v; want the writer's error", err)
			}
			got, err := fileio.ReadFile(ctx, p)
			if err != nil || string(got) != "old complete" {
				t.Fatalf("after a failed write: %q, %v; want the previous content", got, err)
			}
			// A failed first write creates nothing.
			q := fileio.Join(root, "t", "part-00001.parquet")
			fileio.WriteAtomic(ctx, q, func(w io.Writer) error { w.Write([]byte("partial")); return boom })
			if ok, err := fileio.Lookup(ctx, q); ok || err != nil {
				t.Fatalf("failed first write: Lookup = %v, %v; want absent", ok, err)
			}
			files, err := fileio.ListTree(ctx, fileio.Join(root, "t"))
			if err != nil {
				t.Fatal(err)
			}
			if want := []fileio.File{{Path: "part-00000.parquet", Size: 12}}; !reflect.DeepEqual(files, want) {
				t.Fatalf("files after failed writes = %v; want %v (no temporary files)", files, want)
			}
		})
	}
}

func TestFailedCommitIsAnError(t *testing.T) {
	t.Cleanup(faultfs.Reset)
	ctx := context.Background()
	p := fileio.Join(faultfs.URL(t.TempDir()), "s.json")
	faultfs.Inject(faultfs.Fault{Op: "close", Match: "s.json", Times: 1})
	if err := fileio.WriteFile(ctx, p, []byte("x")); err == nil {
		t.Fatal("a failed commit returned nil")
	}
	if ok, _ := fileio.Lookup(ctx, p); ok {
		t.Fatal("a failed commit left an object")
	}
}

func TestTreeRenameRemoveAll(t *testing.T) {
	ctx := context.Background()
	for name, root := range faultfs.Roots(t) {
		t.Run(name, func(t *testing.T) {
			for _, f := range []string{"a/part-00000.parquet", "a/b/c.csv", "z.json"} {
				if err := fileio.WriteFile(ctx, fileio.Join(root, "run", f), []byte(f)); err != nil {
					t.Fatal(err)
				}
			}
			if err := fileio.Rename(ctx, fileio.Join(root, "run", "z.json"), fileio.Join(root, "run", "y", "z.json")); err != nil {
				t.Fatal(err)
			}
			files, err := fileio.ListTree(ctx, fileio.Join(root, "run"))
			if err != nil {
				t.Fatal(err)
			}
			want := []fileio.File{{"a/b/c.csv", 9}, {"a/part-00000.parquet", 20}, {"y/z.json", 6}}
			if !reflect.DeepEqual(files, want) {
				t.Fatalf("ListTree = %v; want %v", files, want)
			}
			if err := fileio.RemoveAll(ctx, fileio.Join(root, "run")); err != nil {
				t.Fatal(err)
			}
			if files, err := fileio.ListTree(ctx, fileio.Join(root, "run")); err != nil || len(files) != 0 {
				t.Fatalf("after RemoveAll: %v, %v", files, err)
			}
		})
	}
}

func TestLocalWriteLeavesNoTemporaryFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var ops []string
	fileio.SetHook(func(op, path string) { ops = append(ops, op+" "+filepath.Base(path)) })
	defer fileio.SetHook(nil)
	if err := fileio.WriteFile(ctx, filepath.Join(dir, "a.json"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"write a.json", "commit a.json"}; !reflect.DeepEqual(ops, want) {
		t.Fatalf("checkpoints = %v; want %v", ops, want)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fileio.IsTemp(e.Name()) {
			t.Fatalf("temporary file %s left", e.Name())
		}
	}
	if !fileio.IsTemp("/x/.part-00001.parquet.tmp-123") || fileio.IsTemp("part-00001.parquet") || fileio.IsTemp(".hidden") {
		t.Fatal("IsTemp misclassifies")
	}
	if !strings.HasPrefix(faultfs.URL("/a"), "faultfs:///") {
		t.Fatal(faultfs.URL("/a"))
	}
}
