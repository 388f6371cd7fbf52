package bigquery

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	bq "cloud.google.com/go/bigquery"

	"github.com/audiencesync/audiencesync/transforms/tables"
)

// column is one field of a row struct as the sink sees it: where it is in the struct, its
// BigQuery name/type/mode and how to append its value to an NDJSON line.
type column struct {
	index    []int
	name     string
	typ      bq.FieldType
	nullable bool
	desc     string
	date     bool // int32 days since epoch
}

// rowType is the parsed form of a row struct, computed once per Go type.
type rowType struct {
	typ        reflect.Type
	cols       []column
	runDateIdx []int // index of the run_date field
}

var rowTypes sync.Map // reflect.Type -> *rowType or error

var timeType = reflect.TypeOf(time.Time{})

// parseRowType reads the parquet and desc tags of a row struct. Rules (the same ones the
// Parquet writer follows, see transforms/tables):
//
//	int32 tagged date -> DATE      int32/int64 -> INTEGER     float64 -> FLOAT (= FLOAT64)
//	string -> STRING               bool -> BOOLEAN            time.Time -> TIMESTAMP
//	pointer to any of them -> the same type, NULLABLE; everything else REQUIRED.
//
// REQUIRED for non-pointers tells BI users the value is always set; the drift rules in
// ensureTable relax a REQUIRED column to NULLABLE when the Go side stops writing it.
func parseRowType(t reflect.Type) (*rowType, error) {
	if v, ok := rowTypes.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*rowType), nil
	}
	rt, err := buildRowType(t)
	if err != nil {
		rowTypes.Store(t, err)
		return nil, err
	}
	rowTypes.Store(t, rt)
	return rt, nil
}

func buildRowType(t reflect.Type) (*rowType, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("bigquery schema: row type %s is not a struct", t)
	}
	rt := &rowType{typ: t}
	seen := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("parquet")
		if tag == "-" {
			continue
		}
		parts := strings.Split(tag, ",")
		name := parts[0]
		if name == "" {
			name = f.Name
		}
		opts := map[string]bool{}
		for _, p := range parts[1:] {
			opts[p] = true
		}
		c := column{index: f.Index, name: name, desc: f.Tag.Get("desc")}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			c.nullable = true
			ft = ft.Elem()
		}
		switch {
		case ft == timeType:
			c.typ = bq.TimestampFieldType
		case ft.Kind() == reflect.Int32 && opts["date"]:
			c.typ, c.date = bq.DateFieldType, true
		case ft.Kind() == reflect.Int32 || ft.Kind() == reflect.Int64:
			c.typ = bq.IntegerFieldType
		case ft.Kind() == reflect.Float64:
			// FLOAT is BigQuery's REST name for FLOAT64 (64-bit). The emulator stores a
			// REST-created FLOAT column as 32-bit; its tests create tables from sql/ first.
			c.typ = bq.FloatFieldType
		case ft.Kind() == reflect.String:
			c.typ = bq.StringFieldType
		case ft.Kind() == reflect.Bool:
			c.typ = bq.BooleanFieldType
		default:
			return nil, fmt.Errorf("bigquery schema: %s.%s: Go type %s has no BigQuery column type (use int32+date, int64, float64, string, bool, time.Time or a pointer to one)", t.Name(), f.Name, f.Type)
		}
		if seen[name] {
			return nil, fmt.Errorf("bigquery schema: %s: column %q appears twice", t.Name(), name)
		}
		seen[name] = true
		if name == "run_date" {
			if !c.date || c.nullable {
				return nil, fmt.Errorf("bigquery schema: %s.run_date must be a non-pointer int32 tagged date (the partitioning column)", t.Name())
			}
			rt.runDateIdx = f.Index
		}
		rt.cols = append(rt.cols, c)
	}
	if rt.runDateIdx == nil {
		return nil, fmt.Errorf("bigquery schema: %s has no run_date column; every table is partitioned on it", t.Name())
	}
	return rt, nil
}

func (rt *rowType) schema() bq.Schema {
	s := make(bq.Schema, len(rt.cols))
	for i, c := range rt.cols {
		s[i] = &bq.FieldSchema{Name: c.name, Type: c.typ, Description: c.desc, Required: !c.nullable}
	}
	return s
}

// SchemaOf derives the BigQuery schema of a row struct (a value or a pointer to one) from
// its tags. Column order is the struct's field order.
func SchemaOf(row any) (bq.Schema, error) {
	t := reflect.TypeOf(row)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return nil, fmt.Errorf("bigquery schema: nil row")
	}
	rt, err := parseRowType(t)
	if err != nil {
		return nil, err
	}
	return rt.schema(), nil
}

// TableSchema is SchemaOf(t.Row).
func TableSchema(t tables.Table) (bq.Schema, error) { return SchemaOf(t.Row) }

// canonicalType folds the aliases BigQuery accepts for one type (the REST API answers
// FLOAT/INTEGER/BOOLEAN for columns created as FLOAT64/INT64/BOOL).
func canonicalType(t bq.FieldType) string {
	switch s := strings.ToUpper(string(t)); s {
	case "FLOAT", "FLOAT64", "DOUBLE":
		return "FLOAT64"
	case "INTEGER", "INT64", "INT", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT":
		return "INT64"
	case "BOOLEAN", "BOOL":
		return "BOOL"
	default:
		return s
	}
}
