package portable

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
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
	names := make([]string, 0, len(fa)+len(fb))
	for n := range fa {
		names = append(names, n)
	}
	for n := range fb {
		if _, ok := fa[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []FileResult
	for _, n := range names {
		r := FileResult{Path: n}
		counts := map[string]int{}
		if p, ok := fa[n]; ok {
			r.InA = true
			lines, err := readLines(p)
			if err != nil {
				return nil, err
			}
			r.LinesA = len(lines)
			for _, l := range lines {
				counts[l]++
			}
		}
		if p, ok := fb[n]; ok {
			r.InB = true
			lines, err := readLines(p)
			if err != nil {
				return nil, err
			}
			r.LinesB = len(lines)
			for _, l := range lines {
				counts[l]--
			}
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
