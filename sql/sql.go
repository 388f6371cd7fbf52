package sql

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Statement is one rendered DDL statement.
type Statement struct {
	Name   string // file name without .sql: <table> or view_<view>
	Object string // the table or view the statement creates
	View   bool   // views run after every table exists
	SQL    string
}

var idRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// Statements renders the embedded statements with ${project} and ${dataset} replaced: the
// tables of tables.sql first, in their order, then the views (view_*.sql), in file-name
// order.
func Statements(project, dataset string) ([]Statement, error) {
	if !idRe.MatchString(project) || !idRe.MatchString(dataset) {
		return nil, fmt.Errorf("sql: project %q / dataset %q must be plain ids (letters, digits, _ . : -)", project, dataset)
	}
	r := strings.NewReplacer("${project}", project, "${dataset}", dataset)
	ts, err := Tables()
	if err != nil {
		return nil, err
	}
	var out []Statement
	for _, t := range ts {
		t.SQL = r.Replace(t.SQL)
		out = append(out, t)
	}
	names, err := fs.Glob(files, "view_*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(n, ".sql")
		out = append(out, Statement{Name: name, Object: strings.TrimPrefix(name, "view_"), View: true, SQL: r.Replace(string(b))})
	}
	return out, nil
}

var createRe = regexp.MustCompile("CREATE TABLE IF NOT EXISTS `\\$\\{project\\}\\.\\$\\{dataset\\}\\.(\\w+)`")

// Tables returns the statements of tables.sql as written (templated), one per table, each
// with its leading comment line.
func Tables() ([]Statement, error) {
	b, err := files.ReadFile("tables.sql")
	if err != nil {
		return nil, err
	}
	var out []Statement
	for _, block := range strings.Split(string(b), "\n\n") {
		m := createRe.FindStringSubmatch(block)
		if m == nil {
			continue // the file's header
		}
		out = append(out, Statement{Name: m[1], Object: m[1], SQL: strings.TrimSpace(block) + "\n"})
	}
	return out, nil
}

// Raw returns one view file as written (templated), e.g. Raw("view_aov_trend").
func Raw(name string) (string, error) {
	b, err := files.ReadFile(name + ".sql")
	return string(b), err
}
