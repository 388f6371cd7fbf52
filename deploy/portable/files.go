package portable

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// otherFiles lists the non-Parquet files under root (relative, "/"-separated), leaving out
// run_summary.json (compared on its counts), hidden and "_" files, and skip patterns.
func otherFiles(root string, skip []string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || strings.HasSuffix(name, ".parquet") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == SummaryFile {
			return nil
		}
		for _, pat := range skip {
			if ok, _ := path.Match(pat, name); ok {
				return nil
			}
		}
		out[rel] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("portable: walk %s: %w", root, err)
	}
	return out, nil
}

func compareOtherFiles(dirA, dirB string, skip []string) ([]FileResult, error) {
	fa, err := otherFiles(dirA, skip)
	if err != nil {
		return nil, err
	}
	fb, err := otherFiles(dirB, skip)
	if err != nil {
		return nil, err
	}
	var out []FileResult
	for _, n := range unionKeys(fa, fb) {
		r := FileResult{Path: n}
		counts := map[string]int{}
		if r.InA, r.LinesA, err = countLines(fa, n, counts, 1); err != nil {
			return nil, err
		}
		if r.InB, r.LinesB, err = countLines(fb, n, counts, -1); err != nil {
			return nil, err
		}
		for _, c := range counts {
			if c > 0 {
				r.OnlyA += c
			} else {
				r.OnlyB -= c
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func readLines(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("portable: read %s: %w", p, err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// countLines adds sign to counts for every line of files[name]; in is false when there is
// no such file.
func countLines(files map[string]string, name string, counts map[string]int, sign int) (in bool, n int, err error) {
	p, ok := files[name]
	if !ok {
		return false, 0, nil
	}
	lines, err := readLines(p)
	if err != nil {
		return true, 0, err
	}
	for _, l := range lines {
		counts[l] += sign
	}
	return true, len(lines), nil
}

// unionKeys is every key of a or b, sorted.
func unionKeys[A, B any](a map[string]A, b map[string]B) []string {
	set := make(map[string]bool, len(a)+len(b))
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}
