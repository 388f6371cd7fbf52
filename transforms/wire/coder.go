package wire

import (
	"encoding"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// RegisterCoder makes the type's MarshalBinary / UnmarshalBinary its Beam coder. t is a
// value type whose value has MarshalBinary and whose pointer has UnmarshalBinary, or a
// pointer type with both. Call it from init(), like every Beam registration.
func RegisterCoder(t reflect.Type) {
	e := t
	if t.Kind() == reflect.Pointer {
		e = t.Elem()
	}
	if !t.Implements(marshaler) || !reflect.PointerTo(e).Implements(unmarshaler) {
		panic(fmt.Sprintf("wire: %v lacks MarshalBinary or UnmarshalBinary", t))
	}
	beam.RegisterCoder(t, encodeElement, decodeElement)
}

var (
	marshaler   = reflect.TypeOf((*encoding.BinaryMarshaler)(nil)).Elem()
	unmarshaler = reflect.TypeOf((*encoding.BinaryUnmarshaler)(nil)).Elem()
)

func encodeElement(v beam.T) ([]byte, error) { return v.(encoding.BinaryMarshaler).MarshalBinary() }

func decodeElement(t reflect.Type, b []byte) (beam.T, error) {
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		return p.Interface(), p.Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(b)
	}
	p := reflect.New(t)
	err := p.Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(b)
	return p.Elem().Interface(), err
}
