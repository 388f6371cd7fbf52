package orders

import (
	"fmt"
	"strings"
)

// SchemaVersion is the version of the input schema documented in the README. It changes
// when a required column is added or a column's meaning changes.
const SchemaVersion = 1

// Input names, also used in dead-letter file names and the run summary.
const (
	InputOrders    = "orders"
	InputLines     = "order_lines"
	InputCustomers = "customers"
	InputSpend     = "spend"
)

// Schema lists one input's columns.
type Schema struct {
	Input    string
	Required []string
	Optional []string
}

// Schemas of the four inputs (README "Input schema", version 1).
var (
	OrdersSchema    = Schema{InputOrders, []string{"order_id", "customer_id", "ordered_at", "status", "amount", "currency"}, []string{"channel"}}
	LinesSchema     = Schema{InputLines, []string{"order_id", "product_id", "category", "quantity", "amount"}, nil}
	CustomersSchema = Schema{InputCustomers, []string{"customer_id", "email", "phone", "country", "marketing_consent", "created_at"}, nil}
	SpendSchema     = Schema{InputSpend, []string{"period", "channel", "amount", "currency"}, nil}
)

// SchemaFor returns the schema of an input name.
func SchemaFor(input string) (Schema, bool) {
	for _, s := range []Schema{OrdersSchema, LinesSchema, CustomersSchema, SpendSchema} {
		if s.Input == input {
			return s, true
		}
	}
	return Schema{}, false
}

// Columns is the schema's column list, required first.
func (s Schema) Columns() []string { return append(append([]string{}, s.Required...), s.Optional...) }

// Index maps each schema column to its position in a record; -1 for an absent optional
// column. Extra columns in the file are ignored.
type Index []int

// Bind matches a file's header to the schema. A missing required column is an error that
// names the file and the column; column names match case-insensitively, trimmed, and a
// UTF-8 byte-order mark on the first one is ignored.
func (s Schema) Bind(file string, header []string) (Index, error) {
	pos := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := pos[h]; !dup {
			pos[h] = i
		}
	}
	cols := s.Columns()
	idx := make(Index, len(cols))
	var missing []string
	for i, c := range cols {
		p, ok := pos[c]
		if !ok {
			p = -1
			if i < len(s.Required) {
				missing = append(missing, c)
			}
		}
		idx[i] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %s input is missing required column(s) %s (header has: %s)",
			file, s.Input, strings.Join(missing, ", "), strings.Join(header, ", "))
	}
	return idx, nil
}

// Get returns column i of rec under idx ("" when the column is absent or the record short).
func (idx Index) Get(rec []string, i int) string {
	p := idx[i]
	if p < 0 || p >= len(rec) {
		return ""
	}
	return rec[p]
}
