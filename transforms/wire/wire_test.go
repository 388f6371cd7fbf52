package wire

import (
	"bytes"
	"math"
	"reflect"
	"testing"
)

// The exact bytes of each field, worked out by hand: Int is a zigzag varint (-3 -> 5,
// 70 -> 140 = 0x8c 0x01), Uint a plain varint (300 = 0xac 0x02), Str and Bytes a length then
// the bytes, Float the 8 little-endian bytes of the IEEE value (1.5 = 0x3ff8000000000000),
// Sym 0 + the string on first use and its 1-based id afterwards, IDStr the shared-prefix
// length (an Int) then the rest.
func TestBytes(t *testing.T) {
	e := NewEnc(0)
	e.Int(-3)
	e.Int(70)
	e.Uint(300)
	e.Str("ab")
	e.Bytes([]byte{9})
	e.Float(1.5)
	e.Bool(true)
	e.Sym("RUB")
	e.Sym("RUB")
	e.IDStr("O100")
	e.IDStr("O101")
	e.Ints([]int64{1, -1})
	want := []byte{
		0x05,
		0x8c, 0x01,
		0xac, 0x02,
		0x02, 'a', 'b',
		0x01, 9,
		0, 0, 0, 0, 0, 0, 0xf8, 0x3f,
		0x01,
		0x00, 0x03, 'R', 'U', 'B',
		0x01,
		0x00, 0x04, 'O', '1', '0', '0',
		0x06, 0x01, '1',
		0x04, 0x02, 0x01,
	}
	if !bytes.Equal(e.B, want) {
		t.Fatalf("bytes\n%v\nwant\n%v", e.B, want)
	}
	d := NewDec(e.B)
	if d.Int() != -3 || d.Int() != 70 || d.Uint() != 300 || d.Str() != "ab" || !bytes.Equal(d.Bytes(), []byte{9}) ||
		d.Float() != 1.5 || !d.Bool() || d.Sym() != "RUB" || d.Sym() != "RUB" || d.IDStr() != "O100" || d.IDStr() != "O101" ||
		!reflect.DeepEqual(d.Ints(), []int64{1, -1}) {
		t.Error("decoded values differ")
	}
	if err := d.Done(); err != nil {
		t.Error(err)
	}
}

// Corrupt input sets Err and never panics; every later read is a zero value.
func TestCorrupt(t *testing.T) {
	for name, read := range map[string]func(d *Dec){
		"string longer than the input": func(d *Dec) { d.Str() },
		"symbol never defined":         func(d *Dec) { d.Sym() },
		"count beyond the input":       func(d *Dec) { d.Floats() },
		"prefix beyond the last id":    func(d *Dec) { d.IDStr() },
		"float of 7 bytes":             func(d *Dec) { d.Float() },
	} {
		d := NewDec([]byte{0x0a, 1, 2, 3, 4, 5, 6})
		read(d)
		if d.Err == nil {
			t.Errorf("%s: no error", name)
		}
		if d.Int() != 0 || d.More() {
			t.Errorf("%s: reads go on after the error", name)
		}
	}
	if err := NewDec([]byte{1, 2}).Done(); err == nil {
		t.Error("trailing bytes accepted by Done")
	}
	e := NewEnc(0)
	e.Float(math.NaN())
	if v := NewDec(e.B).Float(); !math.IsNaN(v) {
		t.Errorf("NaN came back as %v", v)
	}
}

// A shared decoder reads the same values as a plain one, its strings are substrings of
// one copy of the input (no allocation per string) and do not change when the input
// bytes are reused afterwards.
func TestSharedDecStrings(t *testing.T) {
	e := NewEnc(0)
	e.Str("order-1")
	e.Int(7)
	e.Str("")
	e.Sym("RUB")
	e.Str("cust-42")
	e.Sym("RUB")
	d := NewSharedDec(e.B)
	a, n, empty, cur, b, cur2 := d.Str(), d.Int(), d.Str(), d.Sym(), d.Str(), d.Sym()
	if a != "order-1" || n != 7 || empty != "" || cur != "RUB" || b != "cust-42" || cur2 != "RUB" || d.Done() != nil {
		t.Fatalf("got %q %d %q %q %q %q", a, n, empty, cur, b, cur2)
	}
	for i := range e.B {
		e.B[i] = 'x' // the caller reuses its buffer: the strings read stay as they were
	}
	if a != "order-1" || b != "cust-42" {
		t.Fatalf("strings changed with the input: %q %q", a, b)
	}
	e2 := NewEnc(0)
	for range 100 {
		e2.Str("some-order-id")
	}
	allocs := testing.AllocsPerRun(10, func() {
		d := NewSharedDec(e2.B)
		for d.More() {
			_ = d.Str()
		}
	})
	if allocs > 2 { // the Dec and the one copy of the input
		t.Errorf("%v allocations reading 100 strings, want at most 2", allocs)
	}
}
