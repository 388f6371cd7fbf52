package main

// The bad-input corpus (testdata/inputs): every case is a folder of input files and a
// case.yaml with the command line and what must come out of it: exit code, error text,
// dead letters (file, line, id, reason), per-input row accounting and table cells. The
// test builds bin/nightly and runs it black-box, so it does not care how the pipeline is
// wired inside.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
	"gopkg.in/yaml.v3"
)

const corpusDir = "../../testdata/inputs"

// corpusCase is one case.yaml.
type corpusCase struct {
	Description string   `yaml:"description"`
	Issue       string   `yaml:"issue"` // which defect of issue 13 it pins
	Args        []string `yaml:"args"`
	// Generate names a Go generator (corpusGenerators) that writes inputs into the case's
	// working copy before the run (large or binary files).
	Generate string   `yaml:"generate"`
	Exit     int      `yaml:"exit"`
	Stdout   []string `yaml:"stdout"` // substrings
	Stderr   []string `yaml:"stderr"` // substrings
	// DeadLetters: input -> the lines of dead_letters/<input>.csv, each given by its start
	// ("orders.csv,100,,csv_syntax"); the file must have exactly these lines.
	DeadLetters map[string][]string `yaml:"dead_letters"`
	// Accounting: input -> read, used, not_purchases, dead_letters of run_summary.json.
	Accounting map[string]map[string]int64 `yaml:"accounting"`
	Summary    map[string]any              `yaml:"summary"` // top-level run_summary.json values
	Tables     []tableCheck                `yaml:"tables"`
	// SameTablesWith runs the case again with other arguments added (e.g. another
	// --split_mb) and requires byte-identical tables.
	SameTablesWith [][]string `yaml:"same_tables_with"`
}

// tableCheck finds the rows of a table whose columns equal Where and checks Want (values
// as text: numbers as Go prints them, dates as days since 1970-01-01); Count checks how
// many rows matched (-1: not checked).
type tableCheck struct {
	Table string            `yaml:"table"`
	Where map[string]string `yaml:"where"`
	Want  map[string]string `yaml:"want"`
	Count *int              `yaml:"count"`
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// TestMain removes the binary nightlyBinary built (~250 MB per test run otherwise left in
// the temporary folder; CI machines fill up).
func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.bin != "" {
		os.RemoveAll(filepath.Dir(buildOnce.bin))
	}
	os.Exit(code)
}

// nightlyBinary builds the nightly binary once per test run, into a temporary folder.
func nightlyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nightly-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "nightly")
		out, err := exec.Command("go", "build", "-o", buildOnce.bin, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.bin
}

type runResult struct {
	exit           int
	stdout, stderr string
	out            string // the run's folder: the published run, or the failed run's own
	published      bool   // the run was published (<output>/current exists)
}

// runNightly runs the binary in dir with the corpus's base flags and args.
func runNightly(t *testing.T, dir string, args []string) runResult {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	base := []string{"--output=" + out, "--state_dir=", "--audiences=off", "--report=false", "--buckets=4"}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--config=") }) {
		base = append(base, "--config=base-config.yaml")
	}
	cmd := exec.Command(nightlyBinary(t), append(base, args...)...)
	cmd.Dir = dir
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return runResult{code, so.String(), se.String(), runFolder(out), isPublished(out)}
}

// runFolder is where a run's outputs are: the published run, or else the run's own folder
// (out is fresh for every run, so a failed run's folder is the only one).
func runFolder(out string) string {
	if isPublished(out) {
		// The run folder itself, not the link: filepath.WalkDir does not follow a link.
		if dir, err := filepath.EvalSymlinks(filepath.Join(out, "current")); err == nil {
			return dir
		}
	}
	if m, _ := filepath.Glob(filepath.Join(out, "runs", "*")); len(m) == 1 {
		return m[0]
	}
	return out
}

func isPublished(out string) bool {
	_, err := os.Stat(filepath.Join(out, "current"))
	return err == nil
}

func TestInputCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the nightly binary once per case: make test runs it")
	}
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, name)
		})
	}
	if n < 25 {
		t.Errorf("only %d cases in %s", n, corpusDir)
	}
}

func runCase(t *testing.T, name string) {
	src := filepath.Join(corpusDir, name)
	raw, err := os.ReadFile(filepath.Join(src, "case.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c corpusCase
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("case.yaml: %v", err)
	}
	if c.Description == "" || len(c.Args) == 0 {
		t.Fatal("case.yaml needs a description and args")
	}
	// Work on a copy: dead letters name files as given on the command line (relative).
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	// The shared configs, unless the case has its own of that name.
	for _, cfg := range []string{"base-config.yaml", "relaxed-config.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, cfg)); err == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(corpusDir, cfg))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, cfg), string(b))
	}
	if c.Generate != "" {
		gen, ok := corpusGenerators[c.Generate]
		if !ok {
			t.Fatalf("unknown generator %q", c.Generate)
		}
		gen(t, dir)
	}
	r := runNightly(t, dir, c.Args)
	if r.exit != c.Exit {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.exit, c.Exit, r.stdout, r.stderr)
	}
	// A failed run publishes nothing: readers keep seeing the previous run (here: none).
	if want := c.Exit == 0; r.published != want {
		t.Errorf("published = %v, want %v (exit %d)", r.published, want, c.Exit)
	}
	for _, s := range c.Stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range c.Stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	checkDeadLetters(t, r.out, c.DeadLetters)
	if len(c.Accounting) > 0 || len(c.Summary) > 0 {
		checkSummary(t, r.out, c)
	}
	for _, tc := range c.Tables {
		checkTable(t, r.out, tc)
	}
	for _, extra := range c.SameTablesWith {
		r2 := runNightly(t, dir, append(slices.Clone(c.Args), extra...))
		if r2.exit != c.Exit {
			t.Errorf("with %v: exit %d, want %d\n%s", extra, r2.exit, c.Exit, r2.stderr)
		}
		if diff := diffTables(t, r.out, r2.out); diff != "" {
			t.Errorf("with %v the tables differ: %s", extra, diff)
		}
		if a, b := deadLetterSet(t, r.out), deadLetterSet(t, r2.out); !reflect.DeepEqual(a, b) {
			t.Errorf("with %v the dead letters differ:\n%v\n%v", extra, a, b)
		}
	}
}

func checkDeadLetters(t *testing.T, out string, want map[string][]string) {
	t.Helper()
	for input, prefixes := range want {
		b, err := os.ReadFile(filepath.Join(out, "dead_letters", input+".csv"))
		if err != nil && len(prefixes) > 0 {
			t.Errorf("dead_letters/%s.csv: %v", input, err)
			continue
		}
		var lines []string
		if len(b) > 0 {
			recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
			if err != nil {
				t.Fatalf("dead_letters/%s.csv: %v", input, err)
			}
			for _, r := range recs[1:] { // after the header; fields unquoted
				lines = append(lines, strings.Join(r, ","))
			}
		}
		if len(lines) != len(prefixes) {
			t.Errorf("dead_letters/%s.csv has %d lines, want %d:\n%s", input, len(lines), len(prefixes), b)
		}
		for _, p := range prefixes {
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, p) }) {
				t.Errorf("dead_letters/%s.csv lacks a line starting %q:\n%s", input, p, b)
			}
		}
	}
}

func checkSummary(t *testing.T, out string, c corpusCase) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "run_summary.json"))
	if err != nil {
		t.Error(err)
		return
	}
	var sum map[string]any
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	acc, _ := sum["accounting"].(map[string]any)
	for input, want := range c.Accounting {
		got, _ := acc[input].(map[string]any)
		for k, v := range want {
			if n, _ := got[k].(float64); int64(n) != v {
				t.Errorf("accounting.%s.%s = %v, want %d (%v)", input, k, got[k], v, got)
			}
		}
	}
	for k, v := range c.Summary {
		if fmt.Sprint(sum[k]) != fmt.Sprint(v) {
			t.Errorf("run_summary.json %s = %v, want %v", k, sum[k], v)
		}
	}
}

// tableRows reads every part of a table as rows of column -> text.
func tableRows(t *testing.T, out, table string) []map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(out, table, "part-*.parquet"))
	var rows []map[string]string
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		cols := pf.Schema().Columns()
		for _, rg := range pf.RowGroups() {
			rr := rg.Rows()
			buf := make([]parquet.Row, 64)
			for {
				n, err := rr.ReadRows(buf)
				for _, r := range buf[:n] {
					m := map[string]string{}
					for _, v := range r {
						text := v.String()
						if v.IsNull() {
							text = "null"
						}
						m[strings.Join(cols[v.Column()], ".")] = text
					}
					rows = append(rows, m)
				}
				if err != nil {
					break
				}
			}
			rr.Close()
		}
		f.Close()
	}
	return rows
}

func checkTable(t *testing.T, out string, tc tableCheck) {
	t.Helper()
	var matched []map[string]string
	for _, r := range tableRows(t, out, tc.Table) {
		ok := true
		for k, v := range tc.Where {
			ok = ok && r[k] == v
		}
		if ok {
			matched = append(matched, r)
		}
	}
	if tc.Count != nil && len(matched) != *tc.Count {
		t.Errorf("%s where %v: %d rows, want %d", tc.Table, tc.Where, len(matched), *tc.Count)
	}
	if len(tc.Want) > 0 && len(matched) == 0 {
		t.Errorf("%s where %v: no row", tc.Table, tc.Where)
	}
	for _, r := range matched {
		for k, v := range tc.Want {
			if r[k] != v {
				t.Errorf("%s where %v: %s = %q, want %q", tc.Table, tc.Where, k, r[k], v)
			}
		}
	}
}

// diffTables compares the Parquet part files of two outputs byte for byte ("" if equal).
func diffTables(t *testing.T, a, b string) string {
	t.Helper()
	list := func(root string) map[string][]byte {
		m := map[string][]byte{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			m[rel], _ = os.ReadFile(p)
			return nil
		})
		return m
	}
	ma, mb := list(a), list(b)
	if len(ma) == 0 {
		return "no tables in " + a
	}
	var diffs []string
	for _, k := range slices.Sorted(mapKeys(ma, mb)) {
		if !bytes.Equal(ma[k], mb[k]) {
			diffs = append(diffs, k)
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	return strings.Join(diffs, ", ")
}

func mapKeys(ms ...map[string][]byte) func(func(string) bool) {
	set := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			set[k] = true
		}
	}
	return func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	}
}

// deadLetterSet is every dead letter of an output as "input|line" text, sorted.
func deadLetterSet(t *testing.T, out string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(out, "dead_letters", "*.csv"))
	var all []string
	for _, p := range files {
		b, _ := os.ReadFile(p)
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
			all = append(all, filepath.Base(p)+"|"+l)
		}
	}
	sort.Strings(all)
	return all
}
