package bigquery

import (
	"fmt"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/tables"
)

// DDL is the CREATE TABLE IF NOT EXISTS statement of a table, templated on ${project} and
// ${dataset} like the files of package sql: the columns of the Go row type (TableSchema,
// in field order, REQUIRED as NOT NULL, with their descriptions), partitioned by run_date
// and clustered by t.Cluster. It is what WriteTable creates, written as SQL for readers and
// for `bq query` users.
func DDL(t tables.Table) (string, error) {
	schema, err := TableSchema(t)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- %s: %s.\nCREATE TABLE IF NOT EXISTS `${project}.${dataset}.%s` (\n", t.Name, t.Description, t.Name)
	for i, c := range schema {
		notNull := ""
		if c.Required {
			notNull = " NOT NULL"
		}
		sep := ","
		if i == len(schema)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  %s %s%s OPTIONS(description=%s)%s\n", c.Name, canonicalType(c.Type), notNull, quoteSQL(c.Description), sep)
	}
	fmt.Fprintf(&b, ")\nPARTITION BY run_date\nCLUSTER BY %s\nOPTIONS(description=%s);\n", strings.Join(t.Cluster, ", "), quoteSQL(t.Description))
	return b.String(), nil
}

// DDLHeader opens sql/tables.sql.
const DDLHeader = `-- The metric tables of the nightly pipeline, one CREATE TABLE per table of transforms/tables,
-- rendered from the Go row types by sinks/bigquery.DDL: regenerate with make sql-ddl, do not
-- edit (sql_test.go fails when this file and the Go types differ). One partition per
-- run_date; a rerun replaces its day.
`

// DDLAll is sql/tables.sql: DDLHeader, then every table's DDL in tables.All order, each
// after a blank line.
func DDLAll() (string, error) {
	var b strings.Builder
	b.WriteString(DDLHeader)
	for _, t := range tables.All {
		s, err := DDL(t)
		if err != nil {
			return "", err
		}
		b.WriteString("\n")
		b.WriteString(s)
	}
	return b.String(), nil
}

// quoteSQL is a double-quoted SQL string literal.
func quoteSQL(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
