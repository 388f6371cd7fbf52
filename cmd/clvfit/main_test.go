package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadOrders(t *testing.T) {
	in := "order_id,customer_id,ordered_at,status,amount,currency,channel\n" +
		"o1,c1,2024-01-01T10:00:00Z,completed,10.50,rub,ads\n" +
		"o2,c1,2024-01-01 18:00:00,partially_refunded,5,RUB,\n" +
		"o3,c1,2024-01-05,refunded,99,RUB,\n" + // not a purchase
		"o4,c1,2024-01-07,completed,7,EUR,\n" + // another currency: another customer record
		"o5,c2,not-a-date,completed,1,RUB,\n" +
		"o6,c3,2024-01-02,completed,1,RUBLES,\n"
	custs, skipped, err := readOrders(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 3 || len(custs) != 2 {
		t.Fatalf("skipped %d, customers %d; want 3 and 2", skipped, len(custs))
	}
	c := custs[key{"c1", "RUB"}]
	if c == nil || len(c.Purchases) != 2 || c.Purchases[0].Day != c.Purchases[1].Day || c.Revenue().String() != "15.5" {
		t.Errorf("c1 RUB: %+v", c)
	}
	if _, _, err := readOrders(strings.NewReader("id,customer_id\n")); err == nil || !strings.Contains(err.Error(), `no column "order_id"`) {
		t.Errorf("missing columns: %v", err)
	}
}

func TestReadCDNOW(t *testing.T) {
	in := " 00004 0001 19970101  2   29.33\n 00004 0001 19970118  2   29.73\n 00021 0002 19970101  3   63.34\nbad line\n"
	custs, skipped, err := readCDNOW(strings.NewReader(in))
	if err != nil || skipped != 1 || len(custs) != 2 || len(custs[key{"00004", "USD"}].Purchases) != 2 {
		t.Fatalf("%v %d %v", custs, skipped, err)
	}
}

// A deterministic synthetic shop: customer i first buys on day i%90 of 2024 and comes
// back every 3+i%50 days, up to i%6 more times; the calibration ends on 2024-09-30.
func TestRunOrdersCSV(t *testing.T) {
	var b strings.Builder
	b.WriteString("order_id,customer_id,ordered_at,status,amount,currency\n")
	n := 0
	for i := 0; i < 400; i++ {
		day := i % 90
		for k := 0; k <= i%6; k++ {
			n++
			fmt.Fprintf(&b, "o%d,c%d,2024-%02d-%02d,completed,%d.%02d,EUR\n", n, i, 1+day/28, 1+day%28, 10+(i*7+k*3)%90, k)
			day += 3 + i%50
			if day >= 300 {
				break
			}
		}
	}
	path := filepath.Join(t.TempDir(), "orders.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"--input", path, "--calibration_end", "2024-09-30", "--holdout_end", "2024-10-15"}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"400 customers, 0 rows skipped", "EUR: BG/NBD r=", "customers=400", "converged=true", "EUR: Gamma-Gamma p=", "EUR: holdout 2024-09-30..2024-10-15"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if err := run([]string{"--input", path, "--format", "xml"}, &out); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("bad format: %v", err)
	}
}
