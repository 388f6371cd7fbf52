package bigquery

import (
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// appendRow appends one row as a newline-delimited JSON object. NDJSON is the load format
// because it is the one BigQuery and the emulator read the same way: CSV turns an empty
// string into NULL (our "empty when unknown" strings would fail REQUIRED columns), and the
// emulator cannot load Parquet without an explicit schema.
func (rt *rowType) appendRow(b []byte, v reflect.Value) []byte {
	b = append(b, '{')
	for i := range rt.cols {
		c := &rt.cols[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, c.name...)
		b = append(b, '"', ':')
		f := v.FieldByIndex(c.index)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				b = append(b, "null"...)
				continue
			}
			f = f.Elem()
		}
		b = c.appendValue(b, f)
	}
	return append(b, '}', '\n')
}

func (c *column) appendValue(b []byte, f reflect.Value) []byte {
	switch {
	case c.date:
		b = append(b, '"')
		b = append(b, value.Day(f.Int()).String()...)
		return append(b, '"')
	case c.typ == "TIMESTAMP":
		t := f.Interface().(time.Time).UTC()
		b = append(b, '"')
		b = t.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
		return append(b, '"')
	}
	switch f.Kind() {
	case reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, f.Int(), 10)
	case reflect.Float64:
		x := f.Float()
		switch {
		case math.IsNaN(x):
			return append(b, `"NaN"`...)
		case math.IsInf(x, 1):
			return append(b, `"Infinity"`...)
		case math.IsInf(x, -1):
			return append(b, `"-Infinity"`...)
		}
		// Shortest form that parses back to the same float64 (no digits lost, none
		// invented), without an exponent in the range money lives in, as encoding/json does.
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
			return strconv.AppendFloat(b, x, 'g', -1, 64)
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case reflect.Bool:
		return strconv.AppendBool(b, f.Bool())
	case reflect.String:
		return appendJSONString(b, f.String())
	}
	panic("bigquery: unreachable column kind " + f.Kind().String())
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s for JSON; invalid UTF-8 becomes U+FFFD (BigQuery rejects it).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
