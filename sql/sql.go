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

// Statements renders every embedded file with ${project} and ${dataset} replaced: tables
// first, then views, each group in file-name order.
func Statements(project, dataset string) ([]Statement, error) {
	if !idRe.MatchString(project) || !idRe.MatchString(dataset) {
		return nil, fmt.Errorf("sql: project %q / dataset %q must be plain ids (letters, digits, _ . : -)", project, dataset)
	}
	r := strings.NewReplacer("${project}", project, "${dataset}", dataset)
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var tables, views []Statement
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(n, ".sql")
		st := Statement{Name: name, Object: strings.TrimPrefix(name, "view_"), SQL: r.Replace(string(b))}
		if strings.HasPrefix(n, "view_") {
			st.View = true
			views = append(views, st)
		} else {
			tables = append(tables, st)
		}
	}
	return append(tables, views...), nil
}

// Raw returns one embedded file as written (templated), e.g. Raw("customer_metrics").
func Raw(name string) (string, error) {
	b, err := files.ReadFile(name + ".sql")
	return string(b), err
}
