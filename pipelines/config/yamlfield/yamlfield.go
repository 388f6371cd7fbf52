// Package yamlfield lists the fields of a Go struct as gopkg.in/yaml.v3 reads them, for the
// code that walks the config's types (bounds, key lookups, unknown-key checks).
package yamlfield

import (
	"iter"
	"reflect"
	"strings"
)

// Field is a struct field YAML reads: its index, its type, its key and whether it is inline
// (its fields are its parent's).
type Field struct {
	Index  int
	Type   reflect.Type
	Name   string
	Inline bool
}

// Of yields the fields of struct type t that YAML reads (exported, not "-"); a field without
// a yaml key goes by its lowercased name.
func Of(t reflect.Type) iter.Seq[Field] {
	return func(yield func(Field) bool) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if !yield(Field{i, f.Type, name, opts == "inline"}) {
				return
			}
		}
	}
}
