package orders

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// Reject is why a row was dead-lettered: a stable reason code plus a detail that never
// holds contact data (only ids, dates, amounts and statuses are quoted).
type Reject struct {
	Reason string
	Detail string
}

// Dead-letter reason codes.
const (
	ReasonShortRow          = "short_row" // fewer fields than the header
	ReasonLongRow           = "long_row"  // more non-empty fields than the header (an unquoted comma?)
	ReasonEmptyOrderID      = "empty_order_id"
	ReasonEmptyCustomerID   = "empty_customer_id"
	ReasonBadDate           = "bad_date"
	ReasonFutureDate        = "future_date"
	ReasonBadAmount         = "bad_amount"
	ReasonUnknownStatus     = "unknown_status"
	ReasonBadCurrency       = "bad_currency"
	ReasonBadQuantity       = "bad_quantity"
	ReasonEmptyProduct      = "empty_product_id"
	ReasonBadConsent        = "bad_marketing_consent"
	ReasonBadPeriod         = "bad_period"
	ReasonCSV               = "csv_syntax"
	ReasonInvalidUTF8       = "invalid_utf8"
	ReasonDuplicateOrder    = "duplicate_order_id"
	ReasonDuplicateCustomer = "duplicate_customer_id"
	ReasonUnknownOrder      = "line_of_unknown_order"
	ReasonBadCountry        = "bad_country"
)

func reject(reason, detail string) *Reject { return &Reject{reason, detail} }

// checkRecord rejects a record with a field that is not valid UTF-8: such a value cannot
// be written to a Parquet or BigQuery STRING column, and a byte-mangled id would silently
// be another customer. The detail names the column, never the value. A record of the wrong
// length (readers never make one) is a short row rather than a panic.
func checkRecord(s Schema, rec []string) *Reject {
	if len(rec) != len(s.Required)+len(s.Optional) {
		return reject(ReasonShortRow, fmt.Sprintf("%d fields, the %s schema has %d", len(rec), s.Input, len(s.Required)+len(s.Optional)))
	}
	for i, f := range rec {
		if !utf8.ValidString(f) {
			col := "?"
			if cols := s.Columns(); i < len(cols) {
				col = cols[i]
			}
			return reject(ReasonInvalidUTF8, col+" is not valid UTF-8 (is the file in another encoding, e.g. Windows-1251? save it as UTF-8)")
		}
	}
	return nil
}

// FutureGraceDays is how far past the run's clock date an order may be dated. An order
// is placed before it is exported, so a later date is a typo (2206 for 2026) or a broken
// clock; one day of grace covers clock skew between the shop's systems and this run.
const FutureGraceDays = 1

// CheckFuture rejects (future_date) an order dated more than FutureGraceDays after today,
// the run's clock date in the shop's time zone (read once by the driver; --today sets it
// for a reproducible rerun). today 0 checks nothing.
func CheckFuture(o *Order, today value.Day) *Reject {
	if today == 0 || o.Day <= today+FutureGraceDays {
		return nil
	}
	return reject(ReasonFutureDate, "order "+o.OrderID+": ordered_at "+o.Day.String()+" is more than "+
		strconv.Itoa(FutureGraceDays)+" day after today ("+today.String()+"): a typo in the year? (--today sets the run's clock)")
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// orderKeys checks rec against s and returns its first two fields trimmed: order_id and the
// schema's second required column (customer_id, product_id), rejecting either when empty
// (the second with reason emptySecond).
func orderKeys(s Schema, rec []string, emptySecond string) (orderID, second string, rej *Reject) {
	if rej := checkRecord(s, rec); rej != nil {
		return "", "", rej
	}
	orderID = strings.TrimSpace(rec[0])
	if orderID == "" {
		return "", "", reject(ReasonEmptyOrderID, "order_id is empty")
	}
	second = strings.TrimSpace(rec[1])
	if second == "" {
		return orderID, "", reject(emptySecond, "order "+orderID+": "+s.Required[1]+" is empty")
	}
	return orderID, second, nil
}

// ParseOrder validates one orders record whose fields are in OrdersSchema's column order
// (the readers bind columns by name, once); z gives the shop's time zone.
func ParseOrder(rec []string, z *Zone) (Order, *Reject) {
	var o Order
	var rej *Reject
	if o.OrderID, o.CustomerID, rej = orderKeys(OrdersSchema, rec, ReasonEmptyCustomerID); rej != nil {
		return o, rej
	}
	ts := rec[2]
	var ok bool
	if o.Day, ok = z.Day(ts); !ok {
		return o, reject(ReasonBadDate, "order "+o.OrderID+": ordered_at "+strconv.Quote(ts)+" is not RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD")
	}
	st := strings.ToLower(strings.TrimSpace(rec[3]))
	if o.Status, ok = ParseStatus(st); !ok {
		return o, reject(ReasonUnknownStatus, "order "+o.OrderID+": status "+strconv.Quote(st)+" (known: completed, cancelled, refunded, partially_refunded)")
	}
	am := rec[4]
	m, err := value.ParseMoney(am)
	if err != nil {
		return o, reject(ReasonBadAmount, "order "+o.OrderID+": "+err.Error())
	}
	if m < 0 {
		return o, reject(ReasonBadAmount, "order "+o.OrderID+": amount "+strconv.Quote(am)+" is negative")
	}
	o.Amount = m
	o.Currency = strings.ToUpper(strings.TrimSpace(rec[5]))
	if !validCurrency(o.Currency) {
		return o, reject(ReasonBadCurrency, "order "+o.OrderID+": currency "+strconv.Quote(o.Currency)+" is not an ISO 4217 code")
	}
	o.Channel = strings.TrimSpace(rec[6])
	return o, nil
}

// ParseLine validates one order_lines record in LinesSchema's column order.
func ParseLine(rec []string) (Line, *Reject) {
	var l Line
	var rej *Reject
	if l.OrderID, l.ProductID, rej = orderKeys(LinesSchema, rec, ReasonEmptyProduct); rej != nil {
		return l, rej
	}
	l.Category = strings.ToLower(strings.TrimSpace(rec[2]))
	q := strings.TrimSpace(rec[3])
	n, err := strconv.ParseInt(q, 10, 64)
	if err != nil || n < 0 {
		return l, reject(ReasonBadQuantity, "order "+l.OrderID+": quantity "+strconv.Quote(q)+" is not a whole number >= 0")
	}
	l.Quantity = n
	am := rec[4]
	if l.Amount, err = value.ParseMoney(am); err != nil {
		return l, reject(ReasonBadAmount, "order "+l.OrderID+": "+err.Error())
	}
	return l, nil
}

// ParseBool accepts true/false, 1/0, yes/no, y/n, t/f (any case); empty is false.
func ParseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "t":
		return true, true
	case "false", "0", "no", "n", "f", "":
		return false, true
	}
	return false, false
}

// quoteSafe quotes a customers field for a reject detail unless it could be contact data:
// in a row with shifted columns (an unquoted e-mail field holding a comma) the phone lands
// in country, the e-mail in phone, and so on, and dead letters must never hold either.
// Anything with an '@' or five or more digits is described by its length only.
func quoteSafe(v string) string {
	if mayBeContact(v) {
		return "(a " + strconv.Itoa(len(v)) + "-byte value, not shown: it may be contact data; see the row in the file)"
	}
	return strconv.Quote(v)
}

// mayBeContact reports whether v could be an e-mail or a phone: an '@' or five digits.
func mayBeContact(v string) bool {
	digits := 0
	for i := 0; i < len(v); i++ {
		if v[i] >= '0' && v[i] <= '9' {
			digits++
		}
	}
	return digits >= 5 || strings.Contains(v, "@")
}

// ParseCustomer validates one customers record in CustomersSchema's column order; z gives
// the shop's time zone for created_at. E-mail and phone are kept raw here and never appear
// in a Reject: the contacts transform validates and hashes them.
func ParseCustomer(rec []string, z *Zone) (Customer, *Reject) {
	var c Customer
	if rej := checkRecord(CustomersSchema, rec); rej != nil {
		return c, rej
	}
	c.CustomerID = strings.TrimSpace(rec[0])
	if c.CustomerID == "" {
		return c, reject(ReasonEmptyCustomerID, "customer_id is empty")
	}
	c.Email = rec[1]
	c.Phone = rec[2]
	c.Country = strings.ToUpper(strings.TrimSpace(rec[3]))
	if c.Country != "" && (len(c.Country) != 2 || c.Country[0] < 'A' || c.Country[0] > 'Z' || c.Country[1] < 'A' || c.Country[1] > 'Z') {
		return c, reject(ReasonBadCountry, "customer "+c.CustomerID+": country "+quoteSafe(c.Country)+" is not ISO 3166 alpha-2")
	}
	cs := rec[4]
	var ok bool
	if c.MarketingConsent, ok = ParseBool(cs); !ok {
		return c, reject(ReasonBadConsent, "customer "+c.CustomerID+": marketing_consent "+quoteSafe(cs)+" is not true/false")
	}
	if ca := strings.TrimSpace(rec[5]); ca != "" {
		if c.CreatedAt, ok = z.Day(ca); !ok {
			return c, reject(ReasonBadDate, "customer "+c.CustomerID+": created_at "+quoteSafe(ca)+" is not a date")
		}
	}
	return c, nil
}

// ParseSpend validates one spend record in SpendSchema's column order.
func ParseSpend(rec []string) (Spend, *Reject) {
	var s Spend
	if rej := checkRecord(SpendSchema, rec); rej != nil {
		return s, rej
	}
	s.Period = strings.TrimSpace(rec[0])
	if _, err := time.Parse("2006-01", s.Period); err != nil {
		return s, reject(ReasonBadPeriod, "period "+strconv.Quote(s.Period)+" is not YYYY-MM")
	}
	s.Channel = strings.TrimSpace(rec[1])
	am := rec[2]
	var err error
	if s.Amount, err = value.ParseMoney(am); err != nil {
		return s, reject(ReasonBadAmount, "spend "+s.Period+"/"+s.Channel+": "+err.Error())
	}
	s.Currency = strings.ToUpper(strings.TrimSpace(rec[3]))
	if !validCurrency(s.Currency) {
		return s, reject(ReasonBadCurrency, "spend "+s.Period+"/"+s.Channel+": currency "+strconv.Quote(s.Currency)+" is not an ISO 4217 code")
	}
	return s, nil
}
