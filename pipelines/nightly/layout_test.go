package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// README's Layout section names every Go package of the tree: by its path, or by its last
// element on its parent's line (sinks/yandex/ vkads/ …, bqtest, faultfs), so a package added
// or moved without a line there fails here.
func TestREADMELayoutNamesEveryPackage(t *testing.T) {
	root := "../.."
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README has no ## Layout section")
	}
	layout, _, _ := strings.Cut(after, "\n## ")
	words := map[string]bool{}
	for _, w := range strings.Fields(strings.NewReplacer(",", " ", ":", " ", ";", " ", "(", " ", ")", " ").Replace(layout)) {
		words[strings.TrimSuffix(w, "/")] = true
	}
	packages := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "data" || name == "out" || name == "bin" || name == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".go") {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			packages[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(packages) < 40 {
		t.Fatalf("found %d packages under %s: is the walk broken?", len(packages), root)
	}
	for p := range packages {
		if !words[p] && !words[filepath.Base(p)] {
			t.Errorf("README ## Layout does not name package %s", p)
		}
	}
}
