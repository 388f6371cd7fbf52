package value

import (
	"strings"
	"testing"
)

func TestParseMoney(t *testing.T) {
	ok := []struct {
		in   string
		want Money // units of 1/10,000, worked out by hand
	}{
		{"1234.5", 12345000},
		{"1 234,50", 12345000},     // space thousands separator, comma decimal mark
		{"1\u00a0234,5", 12345000}, // no-break space as Russian exports write it
		{"0.0001", 1},
		{"-3", -30000},
		{"+2", 20000},
		{" 7 ", 70000},
		{"0", 0},
		{".5", 5000},
		{"12.", 120000},
		{"922337203685477", 9223372036854770000}, // largest whole amount
		{"922337203685477.5807", 9223372036854775807},   // exactly MaxInt64
		{"-922337203685477.5807", -9223372036854775807}, // its negative
		{"100,25", 1002500},
	}
	for _, c := range ok {
		got, err := ParseMoney(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, msg string }{
		{"1e3", "not a number"},
		{"1.23456", "more than 4 decimals"},
		{"", "empty"},
		{"   ", "empty"},
		{"922337203685478", "too large"},      // MaxInt64/10000 + 1 whole units
		{"99999999999999999999", "too large"}, // overflows the digit loop itself
		{"922337203685477.5808", "too large"}, // the fraction pushes it past MaxInt64
		{"12,3x", "not a number"},
		{"-", "not a number"},
		{"+", "not a number"},
		{".", "not a number"},
		{"1.2.3", "not a number"},
		{"1,234.5", "not a number"}, // comma thousands with a dot decimal: not accepted
		{"abc", "not a number"},
		{"--1", "not a number"},
	}
	for _, c := range bad {
		got, err := ParseMoney(c.in)
		if err == nil {
			t.Errorf("ParseMoney(%q) = %d, want an error", c.in, got)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseMoney(%q) error %q, want it to say %q", c.in, err, c.msg)
		}
	}
}

func TestMoneyString(t *testing.T) {
	for m, want := range map[Money]string{12345000: "1234.5", 1: "0.0001", -30000: "-3", 0: "0"} {
		if got := m.String(); got != want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(m), got, want)
		}
	}
	if got := MoneyFromFloat(12.3456); got != 123456 {
		t.Errorf("MoneyFromFloat(12.3456) = %d, want 123456", got)
	}
}
