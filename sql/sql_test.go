package sql_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	bqsink "github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sql"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

var (
	createRe = regexp.MustCompile("(?s)CREATE TABLE IF NOT EXISTS `\\$\\{project\\}\\.\\$\\{dataset\\}\\.(\\w+)` \\((.*)\\)\\s*PARTITION BY (\\w+)\\s*CLUSTER BY ([\\w, ]+?)\\s*OPTIONS\\(description=\"((?:[^\"\\\\]|\\\\.)*)\"\\);\\s*$")
	columnRe = regexp.MustCompile(`^\s*(\w+) (\w+)( NOT NULL)? OPTIONS\(description="((?:[^"\\]|\\.)*)"\),?$`)
)

func unquote(s string) string { return strings.ReplaceAll(s, `\"`, `"`) }

// TestDDLMatchesGoSchema: every table's DDL in tables.sql states exactly the columns
// (order, type, mode, description), partitioning, clustering and description that the sink
// derives from transforms/tables, read back with a parser of its own.
func TestDDLMatchesGoSchema(t *testing.T) {
	sts, err := sql.Tables()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, st := range sts {
		byName[st.Name] = st.SQL
	}
	for _, tb := range tables.All {
		t.Run(tb.Name, func(t *testing.T) {
			raw, ok := byName[tb.Name]
			if !ok {
				t.Fatalf("no CREATE TABLE for %s in sql/tables.sql", tb.Name)
			}
			// Drop comment lines; the statement is what counts.
			var body []string
			for _, l := range strings.Split(raw, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "--") {
					body = append(body, l)
				}
			}
			m := createRe.FindStringSubmatch(strings.Join(body, "\n"))
			if m == nil {
				t.Fatalf("%s in sql/tables.sql is not one CREATE TABLE IF NOT EXISTS `${project}.${dataset}.name` (...) PARTITION BY ... CLUSTER BY ... OPTIONS(description=...); statement", tb.Name)
			}
			if m[1] != tb.Name {
				t.Errorf("creates table %s, want %s", m[1], tb.Name)
			}
			if m[3] != "run_date" {
				t.Errorf("PARTITION BY %s, want run_date", m[3])
			}
			if got, want := strings.Join(strings.Fields(strings.ReplaceAll(m[4], ",", " ")), ","), strings.Join(tb.Cluster, ","); got != want {
				t.Errorf("CLUSTER BY %s, want %s", got, want)
			}
			if unquote(m[5]) != tb.Description {
				t.Errorf("table description %q, want %q", unquote(m[5]), tb.Description)
			}
			want, err := bqsink.TableSchema(tb)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(m[2]), "\n") {
				if strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
			if len(lines) != len(want) {
				t.Errorf("DDL has %d columns, Go has %d", len(lines), len(want))
			}
			for i, l := range lines {
				c := columnRe.FindStringSubmatch(l)
				if c == nil {
					t.Errorf("column line %q is not `name TYPE [NOT NULL] OPTIONS(description=\"...\"),`", l)
					continue
				}
				if i >= len(want) {
					t.Errorf("extra DDL column %s", c[1])
					continue
				}
				w := want[i]
				if c[1] != w.Name {
					t.Errorf("column %d is %s, Go has %s", i, c[1], w.Name)
				}
				if got, wantT := ddlType(c[2]), ddlType(string(w.Type)); got != wantT {
					t.Errorf("column %s is %s, Go-derived %s", c[1], c[2], w.Type)
				}
				if c[2] == "FLOAT" {
					t.Errorf("column %s: write FLOAT64, not FLOAT (the emulator makes a DDL FLOAT 32-bit)", c[1])
				}
				if (c[3] != "") != w.Required {
					t.Errorf("column %s: NOT NULL is %v, Go REQUIRED is %v", c[1], c[3] != "", w.Required)
				}
				if unquote(c[4]) != w.Description {
					t.Errorf("column %s: description %q, Go desc tag %q", c[1], unquote(c[4]), w.Description)
				}
			}
		})
	}
}

func ddlType(s string) string {
	switch strings.ToUpper(s) {
	case "INTEGER", "INT64":
		return "INT64"
	case "FLOAT", "FLOAT64":
		return "FLOAT64"
	case "BOOLEAN", "BOOL":
		return "BOOL"
	}
	return strings.ToUpper(s)
}

// TestStatements: one table statement per table in tables.All and nothing else before the
// views; templating leaves no ${...} behind.
func TestStatements(t *testing.T) {
	sts, err := sql.Statements("my-proj", "metrics")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	seenView := false
	for _, st := range sts {
		if strings.Contains(st.SQL, "${") {
			t.Errorf("%s: unreplaced template in %q", st.Name, st.SQL)
		}
		if !strings.Contains(st.SQL, "`my-proj.metrics."+st.Object+"`") {
			t.Errorf("%s: does not create my-proj.metrics.%s", st.Name, st.Object)
		}
		if !strings.Contains(st.SQL, "`my-proj.metrics.") {
			t.Errorf("%s: does not name my-proj.metrics", st.Name)
		}
		if st.View {
			seenView = true
			continue
		}
		if seenView {
			t.Errorf("table %s comes after a view", st.Name)
		}
		names[st.Name] = true
	}
	for _, tb := range tables.All {
		if !names[tb.Name] {
			t.Errorf("no DDL for table %s", tb.Name)
		}
		delete(names, tb.Name)
	}
	for n := range names {
		t.Errorf("sql/tables.sql creates %s, which is not in tables.All", n)
	}
	if _, err := sql.Statements("bad`name", "x"); err == nil {
		t.Error("a project with a backquote was accepted")
	}
}

// TestTablesSQLIsCurrent: sql/tables.sql is exactly what the sink renders from the Go row
// types, so a new column or table cannot be forgotten there.
func TestTablesSQLIsCurrent(t *testing.T) {
	want, err := bqsink.DDLAll()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("tables.sql")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("sql/tables.sql differs from the Go row types: run make sql-ddl")
	}
	// Only tables.sql and views are embedded: a table file of its own would be ignored.
	if extra, _ := filepath.Glob("*.sql"); len(extra) != 0 {
		for _, f := range extra {
			if f != "tables.sql" && !strings.HasPrefix(f, "view_") {
				t.Errorf("sql/%s: tables belong in tables.sql (make sql-ddl), other files must be view_*.sql", f)
			}
		}
	}
}
