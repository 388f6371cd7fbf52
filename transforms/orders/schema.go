package orders

import (
	"fmt"
	"slices"
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
// column. Extra columns in the file are ignored. Readers apply it once, when they turn a
// row into fields in the schema's column order; nothing past the readers sees positions.
type Index []int

// NormalizeColumn is how a header name is matched to a schema column: case-insensitive,
// trimmed, without a UTF-8 byte-order mark.
func NormalizeColumn(h string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
}

// Bind matches a file's header to the schema by column name. A missing required column, or
// a schema column named twice, is an error that names the file and the column.
func (s Schema) Bind(file string, header []string) (Index, error) {
	pos := make(map[string]int, len(header))
	cols := s.Columns()
	for i, h := range header {
		h = NormalizeColumn(h)
		if _, dup := pos[h]; dup && slices.Contains(cols, h) {
			return nil, fmt.Errorf("%s: %s input names column %s twice (columns %d and %d of the header): which one to read is ambiguous; rename or drop one",
				file, s.Input, h, pos[h]+1, i+1)
		}
		if _, dup := pos[h]; !dup {
			pos[h] = i
		}
	}
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
		// A file without a header row has a data row here: never quote contact data.
		shown := make([]string, len(header))
		for i, h := range header {
			shown[i] = h
			if mayBeContact(h) {
				shown[i] = "(a value that may be contact data: is the header row missing?)"
			}
		}
		return nil, fmt.Errorf("%s: %s input is missing required column(s) %s (header has: %s)",
			file, s.Input, strings.Join(missing, ", "), strings.Join(shown, ", "))
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
