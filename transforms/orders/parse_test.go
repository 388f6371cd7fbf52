package orders

import (
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// utc reads timestamps as the pre-time-zone code did: every date is a UTC date.
var utc = NewZone(time.UTC)

const ordersHeader = "order_id,customer_id,ordered_at,status,amount,currency,channel"

func TestParseOrderAccepts(t *testing.T) {
	cases := []struct {
		row     string
		day     value.Day // days since 1970-01-01, by hand: 2024-01-01 is 19723
		status  Status
		amount  value.Money
		cur, ch string
	}{
		// 01:30 at +03:00 is 22:30 UTC the day before.
		{" O1 , C1 ,2024-01-01T01:30:00+03:00,completed,1234.5,RUB, ads ", 19722, StatusCompleted, 12345000, "RUB", "ads"},
		{"O2,C1,2024-01-01 10:00:00,Cancelled,0,rub,", 19723, StatusCancelled, 0, "RUB", ""},
		{"O3,C1,2024-03-05,REFUNDED,1 234,50,usd", 19787, StatusRefunded, 0, "", ""}, // comma splits the amount: see below
		{"O4,C2,2024-02-29T23:59:59.999Z, partially_refunded ,0.0001,EUR,email", 19782, StatusPartiallyRefunded, 1, "EUR", "email"},
	}
	for i, c := range cases {
		rec := strings.Split(c.row, ",")
		o, rej := ParseOrder(rec, utc)
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
		if o.OrderID != strings.TrimSpace(rec[0]) || o.CustomerID != strings.TrimSpace(rec[1]) || o.Day != c.day || o.Status != c.status || o.Amount != c.amount || o.Currency != c.cur || o.Channel != c.ch {
			t.Errorf("row %q: got %+v (day %s)", c.row, o, o.Day)
		}
	}
}

func TestParseOrderRejects(t *testing.T) {
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
		{"O1,C1", ReasonShortRow}, // readers never pass one (they dead-letter short rows), but no panic
		{"O1,C\xff1,2024-01-01,completed,1,RUB,", ReasonInvalidUTF8},
		{"O1,C1,2024-01-01,completed,1,RUB,\xc3", ReasonInvalidUTF8},
	}
	for _, c := range cases {
		_, rej := ParseOrder(strings.Split(c.row, ","), utc)
		if rej == nil || rej.Reason != c.reason {
			t.Errorf("row %q: reject %+v, want reason %s", c.row, rej, c.reason)
		} else if rej.Detail == "" {
			t.Errorf("row %q: empty detail", c.row)
		}
	}
	// The detail names the order so that the dead letter can be traced.
	_, rej := ParseOrder(strings.Split("O77,C1,2024-01-01,shipped,1,RUB,", ","), utc)
	if !strings.Contains(rej.Detail, "O77") || !strings.Contains(rej.Detail, `"shipped"`) {
		t.Errorf("detail %q should name the order and the status", rej.Detail)
	}
}

func TestParseLine(t *testing.T) {
	l, rej := ParseLine([]string{" O1 ", "P1", " Bed Linen ", " 2 ", "1500.00"})
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
		if _, rej := ParseLine(c.rec); rej == nil || rej.Reason != c.reason {
			t.Errorf("%q: reject %+v, want %s", c.rec, rej, c.reason)
		}
	}
	// A zero quantity is allowed (a free gift line).
	if _, rej := ParseLine([]string{"O1", "P1", "x", "0", "0"}); rej != nil {
		t.Errorf("quantity 0 rejected: %+v", rej)
	}
}

const customersHeader = "customer_id,email,phone,country,marketing_consent,created_at"

func TestParseCustomer(t *testing.T) {
	c, rej := ParseCustomer([]string{" C1 ", " Ivan@Mail.ru ", "+7 916 123-45-67", " ru ", "Yes", "2024-01-01T01:30:00+03:00"}, utc)
	if rej != nil {
		t.Fatal(rej)
	}
	// E-mail and phone stay raw (the contacts transform normalises them).
	if c.CustomerID != "C1" || c.Email != " Ivan@Mail.ru " || c.Phone != "+7 916 123-45-67" || c.Country != "RU" || !c.MarketingConsent || c.CreatedAt != 19722 {
		t.Errorf("got %+v", c)
	}
	for s, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "y": true, "T": true, "false": false, "0": false, "no": false, "N": false, "": false, " f ": false} {
		c, rej := ParseCustomer([]string{"C1", "", "", "", s, ""}, utc)
		if rej != nil || c.MarketingConsent != want {
			t.Errorf("consent %q: got %v, %+v; want %v", s, c.MarketingConsent, rej, want)
		}
	}
	if c, rej := ParseCustomer([]string{"C1", "", "", "", "", ""}, utc); rej != nil || c.Country != "" || c.CreatedAt != 0 {
		t.Errorf("empty optional fields: %+v, %+v", c, rej)
	}
}

// Values that would be personal data if they reached a dead letter.
const (
	secretEmail = "ivan.petrov.1977@example.com"
	secretPhone = "+79161234567"
)

func TestParseCustomerRejectsKeepContactsOut(t *testing.T) {
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
		_, rej := ParseCustomer(c.rec, utc)
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
	if _, rej := ParseCustomer([]string{"C1", "", "", "RUS", "", ""}, utc); rej == nil || !strings.Contains(rej.Detail, `"RUS"`) {
		t.Errorf("bad country detail %+v should quote \"RUS\"", rej)
	}
	if _, rej := ParseCustomer([]string{"C1", "", "", "", "maybe", ""}, utc); rej == nil || !strings.Contains(rej.Detail, `"maybe"`) {
		t.Errorf("bad consent detail %+v should quote \"maybe\"", rej)
	}
}

func TestParseSpend(t *testing.T) {
	s, rej := ParseSpend([]string{" 2024-03 ", " ads ", "400000.50", "rub"})
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
		if _, rej := ParseSpend(c.rec); rej == nil || rej.Reason != c.reason {
			t.Errorf("%q: reject %+v, want %s", c.rec, rej, c.reason)
		}
	}
}

func TestZoneDay(t *testing.T) {
	// Days since 1970-01-01 by hand: 2024-01-01 = 19723, 2024-03-01 = 19723+31+29 = 19783,
	// 2024-03-09 = 19791, 2024-11-03 = 19723+305+2 = 20030 (Jan..Oct of a leap year: 305 days).
	for _, c := range []struct {
		zone, in string
		want     value.Day
	}{
		{"UTC", "1970-01-01", 0},
		{"UTC", "2024-01-01", 19723},
		{"UTC", " 2024-01-01 ", 19723},
		{"UTC", "2024-01-01T00:00:00Z", 19723},
		{"UTC", "2024-01-01T01:30:00+03:00", 19722},
		{"UTC", "2023-12-31T22:30:00-02:00", 19723}, // 00:30 UTC the next day
		{"UTC", "2024-01-01 23:59:59", 19723},
		{"UTC", "2024-01-01t23:59:59.123456789z", 19723},
		{"UTC", "1969-12-31T23:59:59Z", -1},
		// The case: 00:30 at +03:00 on the first of a month is that month in Moscow.
		{"Europe/Moscow", "2024-03-01T00:30:00+03:00", 19783},
		{"Europe/Moscow", "2024-02-29T21:30:00Z", 19783},
		{"Europe/Moscow", "2024-02-29T20:59:59Z", 19782},
		{"Europe/Moscow", "2024-03-01 00:30:00", 19783}, // no offset: already Moscow time
		{"Europe/Moscow", "2024-03-01", 19783},
		// New York: EST (-5) until 2024-03-10 07:00Z, EDT (-4) until 2024-11-03 06:00Z.
		{"America/New_York", "2024-03-10T04:59:00Z", 19791}, // 23:59 EST on the 9th
		{"America/New_York", "2024-11-03T03:59:00Z", 20029}, // 23:59 EDT on 11-02
		{"America/New_York", "2024-11-03T04:00:00Z", 20030}, // 00:00 EDT
		{"America/New_York", "2024-11-04T04:30:00Z", 20030}, // 23:30 EST on 11-03
		{"America/New_York", "2024-03-10T04:59:00Z", 19791}, // back across two changes: the cache must follow
	} {
		z, err := LoadZone(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := z.Day(c.in)
		if !ok || got != c.want {
			t.Errorf("%s: Day(%q) = %d (%s), %v; want %d (%s)", c.zone, c.in, got, got, ok, c.want, c.want)
		}
	}
	// One Zone over many instants (its offset cache) agrees with time.Time.In, hour by hour
	// across 2024 in New York (two changes) and Moscow.
	for _, name := range []string{"America/New_York", "Europe/Moscow", "Asia/Kolkata"} {
		z, _ := LoadZone(name)
		for h := 0; h < 366*24; h += 7 {
			at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
			got, ok := z.Day(at.Format(time.RFC3339))
			y, m, d := at.In(z.Location()).Date()
			if want := value.DayFromDate(y, m, d); !ok || got != want {
				t.Fatalf("%s: %s -> %s, want %s", name, at.Format(time.RFC3339), got, want)
			}
		}
	}
	for _, s := range []string{"", "2024-1-1", "2024-01-01T10:00", "01/02/2024", "2024-01-01 10:00", "yesterday",
		"2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "0000-01-01", "2024-01-01T24:00:00", "2024-01-01T10:60:00",
		"2024-01-01T10:00:00+3:00", "2024-01-01T10:00:00.Z", "2024-01-01T10:00:00.1234567891Z", "2024-01-01T10:00:00+03:00x", "2024-01-01x"} {
		if d, ok := utc.Day(s); ok {
			t.Errorf("Day(%q) accepted as %s", s, d)
		}
	}
	if _, err := LoadZone("Europe/Moskow"); err == nil || !strings.Contains(err.Error(), "Europe/Moskow") {
		t.Errorf("LoadZone(Europe/Moskow) = %v, want an error naming it", err)
	}
	if d, err := value.ParseDay("2024-03-05"); err != nil || d != 19787 {
		t.Errorf("value.ParseDay = %d, %v", d, err)
	}
}

// An order more than a day after the run's clock date is a typo: the 2206-01-05
// against today 2026-01-05 (20458: 2026-01-01 is 19723 + 366 + 365 = 20454).
func TestCheckFuture(t *testing.T) {
	const today value.Day = 20458
	for _, c := range []struct {
		day  value.Day
		want bool
	}{{today, false}, {today + 1, false}, {today + 2, true}, {value.DayFromDate(2206, 1, 5), true}, {19723, false}} {
		rej := CheckFuture(&Order{OrderID: "O1", Day: c.day}, today)
		if (rej != nil) != c.want || (rej != nil && (rej.Reason != ReasonFutureDate || !strings.Contains(rej.Detail, c.day.String()))) {
			t.Errorf("day %s: %+v, want reject %v", c.day, rej, c.want)
		}
	}
	if rej := CheckFuture(&Order{Day: 99999}, 0); rej != nil {
		t.Errorf("today 0 checks nothing, got %+v", rej)
	}
}
