package orders

import (
	"strconv"
	"strings"
	"time"

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
	ReasonShortRow        = "short_row"
	ReasonEmptyOrderID    = "empty_order_id"
	ReasonEmptyCustomerID = "empty_customer_id"
	ReasonBadDate         = "bad_date"
	ReasonBadAmount       = "bad_amount"
	ReasonUnknownStatus   = "unknown_status"
	ReasonBadCurrency     = "bad_currency"
	ReasonBadQuantity     = "bad_quantity"
	ReasonEmptyProduct    = "empty_product_id"
	ReasonBadConsent      = "bad_marketing_consent"
	ReasonBadPeriod       = "bad_period"
	ReasonCSV             = "csv_syntax"
	ReasonDuplicateOrder  = "duplicate_order_id"
	ReasonUnknownOrder    = "line_of_unknown_order"
	ReasonBadCountry      = "bad_country"
)

func reject(reason, detail string) *Reject { return &Reject{reason, detail} }

// ParseTime accepts RFC 3339 (with or without fractional seconds), "YYYY-MM-DD HH:MM:SS"
// (read as UTC) and "YYYY-MM-DD" (midnight UTC).
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 10:
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t, true
		}
	case len(s) == 19 && s[10] == ' ':
		if t, err := time.Parse("2006-01-02 15:04:05", s); err == nil {
			return t, true
		}
	default:
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
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

// ParseOrder validates one orders record bound with OrdersSchema.
func ParseOrder(idx Index, rec []string) (Order, *Reject) {
	var o Order
	o.OrderID = strings.TrimSpace(idx.Get(rec, 0))
	if o.OrderID == "" {
		return o, reject(ReasonEmptyOrderID, "order_id is empty")
	}
	o.CustomerID = strings.TrimSpace(idx.Get(rec, 1))
	if o.CustomerID == "" {
		return o, reject(ReasonEmptyCustomerID, "order "+o.OrderID+": customer_id is empty")
	}
	ts := idx.Get(rec, 2)
	t, ok := ParseTime(ts)
	if !ok {
		return o, reject(ReasonBadDate, "order "+o.OrderID+": ordered_at "+strconv.Quote(ts)+" is not RFC 3339 or YYYY-MM-DD")
	}
	o.OrderedAt, o.Day = t, value.DayOf(t)
	st := strings.ToLower(strings.TrimSpace(idx.Get(rec, 3)))
	if o.Status, ok = ParseStatus(st); !ok {
		return o, reject(ReasonUnknownStatus, "order "+o.OrderID+": status "+strconv.Quote(st)+" (known: completed, cancelled, refunded, partially_refunded)")
	}
	am := idx.Get(rec, 4)
	m, err := value.ParseMoney(am)
	if err != nil {
		return o, reject(ReasonBadAmount, "order "+o.OrderID+": "+err.Error())
	}
	if m < 0 {
		return o, reject(ReasonBadAmount, "order "+o.OrderID+": amount "+strconv.Quote(am)+" is negative")
	}
	o.Amount = m
	o.Currency = strings.ToUpper(strings.TrimSpace(idx.Get(rec, 5)))
	if !validCurrency(o.Currency) {
		return o, reject(ReasonBadCurrency, "order "+o.OrderID+": currency "+strconv.Quote(o.Currency)+" is not an ISO 4217 code")
	}
	o.Channel = strings.TrimSpace(idx.Get(rec, 6))
	return o, nil
}

// ParseLine validates one order_lines record bound with LinesSchema.
func ParseLine(idx Index, rec []string) (Line, *Reject) {
	var l Line
	l.OrderID = strings.TrimSpace(idx.Get(rec, 0))
	if l.OrderID == "" {
		return l, reject(ReasonEmptyOrderID, "order_id is empty")
	}
	l.ProductID = strings.TrimSpace(idx.Get(rec, 1))
	if l.ProductID == "" {
		return l, reject(ReasonEmptyProduct, "order "+l.OrderID+": product_id is empty")
	}
	l.Category = strings.ToLower(strings.TrimSpace(idx.Get(rec, 2)))
	q := strings.TrimSpace(idx.Get(rec, 3))
	n, err := strconv.ParseInt(q, 10, 64)
	if err != nil || n < 0 {
		return l, reject(ReasonBadQuantity, "order "+l.OrderID+": quantity "+strconv.Quote(q)+" is not a whole number >= 0")
	}
	l.Quantity = n
	am := idx.Get(rec, 4)
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
	digits := 0
	for i := 0; i < len(v); i++ {
		if v[i] >= '0' && v[i] <= '9' {
			digits++
		}
	}
	if digits >= 5 || strings.Contains(v, "@") {
		return "(a " + strconv.Itoa(len(v)) + "-byte value, not shown: it may be contact data; see the row in the file)"
	}
	return strconv.Quote(v)
}

// ParseCustomer validates one customers record bound with CustomersSchema. E-mail and
// phone are kept raw here and never appear in a Reject: the contacts transform validates
// and hashes them.
func ParseCustomer(idx Index, rec []string) (Customer, *Reject) {
	var c Customer
	c.CustomerID = strings.TrimSpace(idx.Get(rec, 0))
	if c.CustomerID == "" {
		return c, reject(ReasonEmptyCustomerID, "customer_id is empty")
	}
	c.Email = idx.Get(rec, 1)
	c.Phone = idx.Get(rec, 2)
	c.Country = strings.ToUpper(strings.TrimSpace(idx.Get(rec, 3)))
	if c.Country != "" && (len(c.Country) != 2 || c.Country[0] < 'A' || c.Country[0] > 'Z' || c.Country[1] < 'A' || c.Country[1] > 'Z') {
		return c, reject(ReasonBadCountry, "customer "+c.CustomerID+": country "+quoteSafe(c.Country)+" is not ISO 3166 alpha-2")
	}
	cs := idx.Get(rec, 4)
	var ok bool
	if c.MarketingConsent, ok = ParseBool(cs); !ok {
		return c, reject(ReasonBadConsent, "customer "+c.CustomerID+": marketing_consent "+quoteSafe(cs)+" is not true/false")
	}
	if ca := strings.TrimSpace(idx.Get(rec, 5)); ca != "" {
		t, ok := ParseTime(ca)
		if !ok {
			return c, reject(ReasonBadDate, "customer "+c.CustomerID+": created_at "+quoteSafe(ca)+" is not a date")
		}
		c.CreatedAt = value.DayOf(t)
	}
	return c, nil
}

// ParseSpend validates one spend record bound with SpendSchema.
func ParseSpend(idx Index, rec []string) (Spend, *Reject) {
	var s Spend
	s.Period = strings.TrimSpace(idx.Get(rec, 0))
	if _, err := time.Parse("2006-01", s.Period); err != nil {
		return s, reject(ReasonBadPeriod, "period "+strconv.Quote(s.Period)+" is not YYYY-MM")
	}
	s.Channel = strings.TrimSpace(idx.Get(rec, 1))
	am := idx.Get(rec, 2)
	var err error
	if s.Amount, err = value.ParseMoney(am); err != nil {
		return s, reject(ReasonBadAmount, "spend "+s.Period+"/"+s.Channel+": "+err.Error())
	}
	s.Currency = strings.ToUpper(strings.TrimSpace(idx.Get(rec, 3)))
	if !validCurrency(s.Currency) {
		return s, reject(ReasonBadCurrency, "spend "+s.Period+"/"+s.Channel+": currency "+strconv.Quote(s.Currency)+" is not an ISO 4217 code")
	}
	return s, nil
}
