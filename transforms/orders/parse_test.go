package orders

import (
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/value"
)

func bind(t *testing.T, s Schema, header string) Index {
	t.Helper()
	idx, err := s.Bind("test.csv", strings.Split(header, ","))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

const ordersHeader = "order_id,customer_id,ordered_at,status,amount,currency,channel"

func TestParseOrderAccepts(t *testing.T) {
	idx := bind(t, OrdersSchema, ordersHeader)
	cases := []struct {
		row     string
		day     value.Day // days since 1970-01-01, by hand: 2024-01-01 is 19723
		at      time.Time
		status  Status
		amount  value.Money
		cur, ch string
	}{
		// 01:30 at +03:00 is 22:30 UTC the day before.
		{" O1 , C1 ,2024-01-01T01:30:00+03:00,completed,1234.5,RUB, ads ", 19722, time.Date(2023, 12, 31, 22, 30, 0, 0, time.UTC), StatusCompleted, 12345000, "RUB", "ads"},
		{"O2,C1,2024-01-01 10:00:00,Cancelled,0,rub,", 19723, time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), StatusCancelled, 0, "RUB", ""},
		{"O3,C1,2024-03-05,REFUNDED,1 234,50,usd,seo", 19787, time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), StatusRefunded, 0, "", ""}, // comma splits the amount: see below
		{"O4,C2,2024-02-29T23:59:59.999Z, partially_refunded ,0.0001,EUR,email", 19782, time.Date(2024, 2, 29, 23, 59, 59, 999e6, time.UTC), StatusPartiallyRefunded, 1, "EUR", "email"},
	}
	for i, c := range cases {
		rec := strings.Split(c.row, ",")
		o, rej := ParseOrder(idx, rec)
		if i == 2 { // "1 234" then "50" as currency: a bad currency, not a silent 1234
			if rej == nil || rej.Reason != ReasonBadCurrency {
				t.Errorf("row %q: got %+v, %+v; want a bad_currency reject", c.row, o, rej)
			}
			continue
		}
		if rej != nil {
			t.Errorf("row %q: rejected %+v", c.row, rej)
			continue
		}
		if o.OrderID != strings.TrimSpace(rec[0]) || o.CustomerID != strings.TrimSpace(rec[1]) || o.Day != c.day || !o.OrderedAt.Equal(c.at) ||
			o.OrderedAt.Location() != time.UTC || o.Status != c.status || o.Amount != c.amount || o.Currency != c.cur || o.Channel != c.ch {
			t.Errorf("row %q: got %+v (day %s)", c.row, o, o.Day)
		}
	}
}

func TestParseOrderRejects(t *testing.T) {
	idx := bind(t, OrdersSchema, ordersHeader)
	cases := []struct{ row, reason string }{
		{",C1,2024-01-01,completed,1,RUB,", ReasonEmptyOrderID},
		{"  ,C1,2024-01-01,completed,1,RUB,", ReasonEmptyOrderID},
		{"O1,,2024-01-01,completed,1,RUB,", ReasonEmptyCustomerID},
		{"O1,C1,2024-13-45,completed,1,RUB,", ReasonBadDate},
		{"O1,C1,01.02.2024,completed,1,RUB,", ReasonBadDate},
		{"O1,C1,,completed,1,RUB,", ReasonBadDate},
		{"O1,C1,2024-01-01,shipped,1,RUB,", ReasonUnknownStatus},
		{"O1,C1,2024-01-01,,1,RUB,", ReasonUnknownStatus},
		{"O1,C1,2024-01-01,completed,-5.00,RUB,", ReasonBadAmount},
		{"O1,C1,2024-01-01,completed,12;3x,RUB,", ReasonBadAmount},
		{"O1,C1,2024-01-01,completed,,RUB,", ReasonBadAmount},
		{"O1,C1,2024-01-01,completed,1,rubles,", ReasonBadCurrency},
		{"O1,C1,2024-01-01,completed,1,R1B,", ReasonBadCurrency},
		{"O1,C1,2024-01-01,completed,1,,", ReasonBadCurrency},
		{"O1,C1", ReasonBadDate}, // a short row fails on its first missing required field
	}
	for _, c := range cases {
		_, rej := ParseOrder(idx, strings.Split(c.row, ","))
		if rej == nil || rej.Reason != c.reason {
			t.Errorf("row %q: reject %+v, want reason %s", c.row, rej, c.reason)
		} else if rej.Detail == "" {
			t.Errorf("row %q: empty detail", c.row)
		}
	}
	// The detail names the order so that the dead letter can be traced.
	_, rej := ParseOrder(idx, strings.Split("O77,C1,2024-01-01,shipped,1,RUB,", ","))
	if !strings.Contains(rej.Detail, "O77") || !strings.Contains(rej.Detail, `"shipped"`) {
		t.Errorf("detail %q should name the order and the status", rej.Detail)
	}
}

func TestParseLine(t *testing.T) {
	idx := bind(t, LinesSchema, "order_id,product_id,category,quantity,amount")
	l, rej := ParseLine(idx, []string{" O1 ", "P1", " Bed Linen ", " 2 ", "1500.00"})
	if rej != nil || l != (Line{OrderID: "O1", ProductID: "P1", Category: "bed linen", Quantity: 2, Amount: 15000000}) {
		t.Errorf("got %+v, %+v", l, rej)
	}
	cases := []struct {
		rec    []string
		reason string
	}{
		{[]string{"", "P1", "x", "1", "1"}, ReasonEmptyOrderID},
		{[]string{"O1", " ", "x", "1", "1"}, ReasonEmptyProduct},
		{[]string{"O1", "P1", "x", "two", "1"}, ReasonBadQuantity},
		{[]string{"O1", "P1", "x", "-1", "1"}, ReasonBadQuantity},
		{[]string{"O1", "P1", "x", "1.5", "1"}, ReasonBadQuantity},
		{[]string{"O1", "P1", "x", "", "1"}, ReasonBadQuantity},
		{[]string{"O1", "P1", "x", "1", "1e3"}, ReasonBadAmount},
		{[]string{"O1", "P1", "x", "1", ""}, ReasonBadAmount},
	}
	for _, c := range cases {
		if _, rej := ParseLine(idx, c.rec); rej == nil || rej.Reason != c.reason {
			t.Errorf("%q: reject %+v, want %s", c.rec, rej, c.reason)
		}
	}
	// A zero quantity is allowed (a free gift line).
	if _, rej := ParseLine(idx, []string{"O1", "P1", "x", "0", "0"}); rej != nil {
		t.Errorf("quantity 0 rejected: %+v", rej)
	}
}

const customersHeader = "customer_id,email,phone,country,marketing_consent,created_at"

func TestParseCustomer(t *testing.T) {
	idx := bind(t, CustomersSchema, customersHeader)
	c, rej := ParseCustomer(idx, []string{" C1 ", " Ivan@Mail.ru ", "+7 916 123-45-67", " ru ", "Yes", "2024-01-01T01:30:00+03:00"})
	if rej != nil {
		t.Fatal(rej)
	}
	// E-mail and phone stay raw (the contacts transform normalises them).
	if c.CustomerID != "C1" || c.Email != " Ivan@Mail.ru " || c.Phone != "+7 916 123-45-67" || c.Country != "RU" || !c.MarketingConsent || c.CreatedAt != 19722 {
		t.Errorf("got %+v", c)
	}
	for s, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "y": true, "T": true, "false": false, "0": false, "no": false, "N": false, "": false, " f ": false} {
		c, rej := ParseCustomer(idx, []string{"C1", "", "", "", s, ""})
		if rej != nil || c.MarketingConsent != want {
			t.Errorf("consent %q: got %v, %+v; want %v", s, c.MarketingConsent, rej, want)
		}
	}
	if c, rej := ParseCustomer(idx, []string{"C1", "", "", "", "", ""}); rej != nil || c.Country != "" || c.CreatedAt != 0 {
		t.Errorf("empty optional fields: %+v, %+v", c, rej)
	}
}

// Values that would be personal data if they reached a dead letter.
const (
	secretEmail = "ivan.petrov.1977@example.com"
	secretPhone = "+79161234567"
)

func TestParseCustomerRejectsKeepContactsOut(t *testing.T) {
	idx := bind(t, CustomersSchema, customersHeader)
	cases := []struct {
		rec    []string
		reason string
	}{
		{[]string{"", secretEmail, secretPhone, "RU", "true", "2024-01-01"}, ReasonEmptyCustomerID},
		{[]string{"C1", secretEmail, secretPhone, "RUS", "true", "2024-01-01"}, ReasonBadCountry},
		{[]string{"C1", secretEmail, secretPhone, "R1", "true", "2024-01-01"}, ReasonBadCountry},
		{[]string{"C1", secretEmail, secretPhone, "RU", "maybe", "2024-01-01"}, ReasonBadConsent},
		{[]string{"C1", secretEmail, secretPhone, "RU", "true", "2024-13-45"}, ReasonBadDate},
		// Shifted columns, as when an unquoted e-mail field holds a comma ("a@x.ru,b@y.ru"):
		// the phone lands in country, the e-mail in phone, and so on. The detail must not
		// quote what is really contact data.
		{[]string{"C1", "other@example.com", secretEmail, secretPhone, "RU", "true"}, ReasonBadCountry},
		{[]string{"C1", "x", "y", "", secretEmail, "2024-01-01"}, ReasonBadConsent},
		{[]string{"C1", "x", "y", "", secretPhone, "2024-01-01"}, ReasonBadConsent},
		{[]string{"C1", "x", "y", "", "true", secretPhone}, ReasonBadDate},
		{[]string{"C1", "x", "y", "", "true", secretEmail}, ReasonBadDate},
		{[]string{"C1", "x", "y", secretEmail, "true", ""}, ReasonBadCountry},
	}
	for _, c := range cases {
		_, rej := ParseCustomer(idx, c.rec)
		if rej == nil || rej.Reason != c.reason {
			t.Errorf("%q: reject %+v, want %s", c.rec, rej, c.reason)
			continue
		}
		for _, v := range []string{secretEmail, secretPhone, "79161234567", "9161234567", "ivan.petrov", "@example.com"} {
			if strings.Contains(strings.ToLower(rej.Detail), strings.ToLower(v)) {
				t.Errorf("%q: detail %q contains contact data %q", c.rec, rej.Detail, v)
			}
		}
	}
	// Harmless values are still quoted so that the user sees what was wrong.
	if _, rej := ParseCustomer(idx, []string{"C1", "", "", "RUS", "", ""}); rej == nil || !strings.Contains(rej.Detail, `"RUS"`) {
		t.Errorf("bad country detail %+v should quote \"RUS\"", rej)
	}
	if _, rej := ParseCustomer(idx, []string{"C1", "", "", "", "maybe", ""}); rej == nil || !strings.Contains(rej.Detail, `"maybe"`) {
		t.Errorf("bad consent detail %+v should quote \"maybe\"", rej)
	}
}

func TestParseSpend(t *testing.T) {
	idx := bind(t, SpendSchema, "period,channel,amount,currency")
	s, rej := ParseSpend(idx, []string{" 2024-03 ", " ads ", "400000.50", "rub"})
	if rej != nil || s != (Spend{Period: "2024-03", Channel: "ads", Amount: 4000005000, Currency: "RUB"}) {
		t.Errorf("got %+v, %+v", s, rej)
	}
	cases := []struct {
		rec    []string
		reason string
	}{
		{[]string{"2024-13", "ads", "1", "RUB"}, ReasonBadPeriod},
		{[]string{"2024/03", "ads", "1", "RUB"}, ReasonBadPeriod},
		{[]string{"2024-03-01", "ads", "1", "RUB"}, ReasonBadPeriod},
		{[]string{"", "ads", "1", "RUB"}, ReasonBadPeriod},
		{[]string{"2024-03", "ads", "lots", "RUB"}, ReasonBadAmount},
		{[]string{"2024-03", "ads", "1", "RU"}, ReasonBadCurrency},
	}
	for _, c := range cases {
		if _, rej := ParseSpend(idx, c.rec); rej == nil || rej.Reason != c.reason {
			t.Errorf("%q: reject %+v, want %s", c.rec, rej, c.reason)
		}
	}
}

func TestParseTimeAndDay(t *testing.T) {
	for s, want := range map[string]value.Day{
		"1970-01-01":                0,
		"2024-01-01":                19723,
		"2024-03-05":                19787,
		"2024-01-01T00:00:00Z":      19723,
		"2024-01-01T01:30:00+03:00": 19722,
		"2023-12-31T22:30:00-02:00": 19723, // 00:30 UTC the next day
		"2024-01-01 23:59:59":       19723,
		" 2024-01-01 ":              19723,
	} {
		tm, ok := ParseTime(s)
		if !ok || value.DayOf(tm) != want {
			t.Errorf("ParseTime(%q) = %v, %v; want day %d", s, tm, ok, want)
		}
	}
	for _, s := range []string{"", "2024-1-1", "2024-01-01T10:00", "01/02/2024", "2024-01-01 10:00", "yesterday"} {
		if _, ok := ParseTime(s); ok {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
	if d := value.DayFromDate(2024, time.March, 5); d != 19787 || d.String() != "2024-03-05" {
		t.Errorf("value.DayFromDate = %d (%s)", d, d)
	}
	if d, err := value.ParseDay("2024-03-05"); err != nil || d != 19787 {
		t.Errorf("value.ParseDay = %d, %v", d, err)
	}
	if _, err := value.ParseDay("05.03.2024"); err == nil {
		t.Error("value.ParseDay accepted 05.03.2024")
	}
}
