package fileio

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// File is one file of a folder tree: its path relative to the tree's root ("/"-separated)
// and its size.
type File struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// ListTree lists every file under dir (recursively), sorted by path. A missing folder has
// no files. Locally symbolic links are listed as files of size 0 and not followed.
func ListTree(ctx context.Context, dir string) ([]File, error) {
	var out []File
	if IsLocal(dir) {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == dir && IsNotFound(err) {
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			var size int64
			if d.Type().IsRegular() {
				info, err := d.Info()
				if err != nil {
					return err
				}
				size = info.Size()
			}
			out = append(out, File{Path: filepath.ToSlash(rel), Size: size})
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		fsys, err := filesystem.New(ctx, dir)
		if err != nil {
			return nil, err
		}
		defer fsys.Close()
		root := strings.TrimRight(dir, "/") + "/"
		names, err := fsys.List(ctx, root+"**")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			size, err := fsys.Size(ctx, n)
			if err != nil {
				if IsNotFound(err) {
					continue // removed since the listing
				}
				return nil, err
			}
			out = append(out, File{Path: strings.TrimPrefix(n, root), Size: size})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// RemoveAll deletes dir and everything under it (or the file dir). A missing folder is
// not an error.
func RemoveAll(ctx context.Context, dir string) error {
	Checkpoint("remove", dir)
	if IsLocal(dir) {
		return os.RemoveAll(dir)
	}
	return removeRemote(ctx, dir, func(filesystem.Interface) ([]string, error) {
		files, err := ListTree(ctx, dir)
		if err != nil {
			return nil, err
		}
		paths := make([]string, 0, len(files)+1)
		for _, f := range files {
			paths = append(paths, Join(dir, f.Path))
		}
		// dir may name an object rather than a folder: it goes last.
		if ok, err := Lookup(ctx, dir); err != nil {
			return nil, err
		} else if ok {
			paths = append(paths, dir)
		}
		return paths, nil
	})
}

// Rename moves the file src to dst, replacing dst: atomically on a local disk (both in one
// file system); on object stores by the store's rename (gs://: copy, then delete the
// source), which is not atomic but never leaves dst partial.
func Rename(ctx context.Context, src, dst string) error {
	Checkpoint("rename", dst)
	if IsLocal(src) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Rename(src, dst)
	}
	fsys, err := filesystem.New(ctx, src)
	if err != nil {
		return err
	}
	defer fsys.Close()
	if r, ok := fsys.(filesystem.Renamer); ok {
		return r.Rename(ctx, src, dst)
	}
	c, ok := fsys.(filesystem.Copier)
	rm, ok2 := fsys.(filesystem.Remover)
	if !ok || !ok2 {
		return fmt.Errorf("rename %s: the filesystem can neither rename nor copy and delete", src)
	}
	if err := c.Copy(ctx, src, dst); err != nil {
		return err
	}
	return rm.Remove(ctx, src)
}

// IsTemp reports whether a file name is one of WriteAtomic's temporary files
// (".<name>.tmp-<random>").
func IsTemp(name string) bool {
	base := name[strings.LastIndexAny(name, `/\`)+1:]
	return strings.HasPrefix(base, ".") && strings.Contains(base, ".tmp-")
}
