// Command gensample writes a deterministic, realistic shop for audiencesync: orders,
// order lines, customers and acquisition spend as CSV, with seasonality, customer types
// that repeat differently, the categories the sample smart segments use (mattress,
// mattress cover, bed linen, insurance, air conditioner, service), messy contact data,
// customers without consent and a handful of deliberately broken rows.
//
//	go run ./cmd/gensample -out data/sample                       # 20,000 customers, ~100,000 orders
//	go run ./cmd/gensample -out data/bench -customers 200000 -orders 1000000
//	go run ./cmd/gensample -out data/bench -customers 200000 -orders 1000000 -utc_offset +03:00
//
// The same flags give byte-identical files (seeded math/rand/v2, no wall clock).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

type category struct {
	name     string
	minPrice float64
	maxPrice float64
	products int
}

var cats = []category{
	{"mattress", 15000, 90000, 12},
	{"mattress cover", 1500, 6000, 6},
	{"bed linen", 1200, 9000, 30},
	{"pillow", 800, 5000, 10},
	{"blanket", 2000, 12000, 10},
	{"insurance", 1000, 5000, 2},
	{"air conditioner", 25000, 120000, 8},
	{"service", 2500, 7000, 3},
	{"furniture", 5000, 60000, 20},
}

const (
	catMattress = iota
	catCover
	catLinen
	catPillow
	catBlanket
	catInsurance
	catAC
	catService
	catFurniture
)

var channels = []string{"ads", "seo", "email", "referral", "direct"}

// Seasonality by month (Jan..Dec): November/December sales, a summer AC peak.
var season = [12]float64{0.8, 0.75, 0.9, 0.95, 1.0, 1.15, 1.25, 1.1, 0.95, 1.0, 1.35, 1.6}

type gen struct {
	r         *rand.Rand
	start     time.Time
	days      int
	orderSeq  int
	orders    *bufio.Writer
	lines     *bufio.Writer
	nOrders   int
	nLines    int
	meanExtra float64        // mean repeat orders per customer, tuned to the target
	zone      *time.Location // timestamps are written with this zone's offset
	buf       []byte
}

func main() {
	out := flag.String("out", "data/sample", "output folder")
	customers := flag.Int("customers", 20000, "number of customers")
	target := flag.Int("orders", 100000, "approximate number of orders")
	seed := flag.Uint64("seed", 42, "random seed")
	broken := flag.Bool("broken", true, "add a handful of deliberately broken rows")
	offset := flag.String("utc_offset", "Z", "write order timestamps with this UTC offset (Z or ±hh:mm, e.g. +03:00): the same instants, other text")
	flag.Parse()
	zone, err := parseOffset(*offset)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gensample: -utc_offset:", err)
		os.Exit(2)
	}
	if err := run(*out, *customers, *target, *seed, *broken, zone); err != nil {
		fmt.Fprintln(os.Stderr, "gensample:", err)
		os.Exit(1)
	}
}

func create(dir, name string) (*os.File, *bufio.Writer, error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, nil, err
	}
	return f, bufio.NewWriterSize(f, 1<<20), nil
}

// parseOffset reads Z or ±hh:mm as a fixed zone.
func parseOffset(s string) (*time.Location, error) {
	if s == "Z" || s == "" {
		return time.UTC, nil
	}
	t, err := time.Parse("-07:00", s)
	if err != nil {
		return nil, fmt.Errorf("%q is not Z or ±hh:mm", s)
	}
	_, off := t.Zone()
	return time.FixedZone(s, off), nil
}

// run writes the shop; zone is the offset order timestamps are written in (the instants,
// and so the data, are the same whatever the zone).
func run(dir string, nCust, target int, seed uint64, broken bool, zone *time.Location) error {
	if nCust <= 0 || target < nCust {
		return fmt.Errorf("need customers > 0 and orders >= customers (got %d, %d)", nCust, target)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed)), start: time.Date(2023, 11, 1, 0, 0, 0, 0, time.UTC), zone: zone}
	g.days = int(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Sub(g.start).Hours() / 24)
	// Customer types: 50% one-off, 35% occasional, 15% loyal with relative repeat rates
	// 0.15, 1, 4. Scale so that customers x (1 + mean repeats) ~ target orders; repeats are
	// cut at the end of the data, which the 1.2 factor makes up for.
	mix := 0.5*0.15 + 0.35*1 + 0.15*4
	g.meanExtra = (float64(target)/float64(nCust) - 1) / mix * 1.2

	fo, wo, err := create(dir, "orders.csv")
	if err != nil {
		return err
	}
	fl, wl, err := create(dir, "order_lines.csv")
	if err != nil {
		return err
	}
	fc, wc, err := create(dir, "customers.csv")
	if err != nil {
		return err
	}
	g.orders, g.lines = wo, wl
	wo.WriteString("order_id,customer_id,ordered_at,status,amount,currency,channel\n")
	wl.WriteString("order_id,product_id,category,quantity,amount\n")
	wc.WriteString("customer_id,email,phone,country,marketing_consent,created_at,loyalty_tier\n")

	for i := 1; i <= nCust; i++ {
		id := fmt.Sprintf("C%07d", i)
		first := g.customer(id)
		g.writeCustomer(wc, i, id, first)
	}
	if broken {
		g.brokenRows(wo, wl, wc)
	}
	for _, w := range []*bufio.Writer{wo, wl, wc} {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	for _, f := range []*os.File{fo, fl, fc} {
		if err := f.Close(); err != nil {
			return err
		}
	}
	if err := g.writeSpend(dir); err != nil {
		return err
	}
	fmt.Printf("gensample: %d customers, %d orders, %d order lines in %s\n", nCust, g.nOrders, g.nLines, dir)
	return nil
}

// seasonalDay draws a day offset weighted by month seasonality (rejection sampling).
func (g *gen) seasonalDay(from, to int) int {
	if to <= from {
		return from
	}
	for {
		d := from + g.r.IntN(to-from)
		m := g.start.AddDate(0, 0, d).Month()
		if g.r.Float64()*1.6 < season[m-1] {
			return d
		}
	}
}

func (g *gen) customer(id string) int {
	r := g.r
	typ := r.Float64()
	var rate float64 // relative repeat propensity
	switch {
	case typ < 0.5:
		rate = 0.15
	case typ < 0.85:
		rate = 1
	default:
		rate = 4
	}
	// Acquisition grows over time: later first purchases are a little more likely.
	first := g.seasonalDay(0, g.days)
	if r.Float64() < 0.3 {
		first = g.seasonalDay(g.days/3, g.days)
	}
	ch := channels[r.IntN(len(channels))]
	repeats := int(math.Round(r.ExpFloat64() * g.meanExtra * rate))
	// Mean gap so that the repeats spread over the customer's remaining time, loyal
	// customers faster.
	remaining := g.days - first
	day := first
	mainCat := pick(r.Float64(), catFurniture, share[int]{0.3, catMattress}, share[int]{0.45, catAC}, share[int]{0.6, catInsurance})
	g.order(id, day, ch, mainCat, true)
	gap := float64(remaining) / float64(repeats+1)
	for k := 0; k < repeats; k++ {
		day += 1 + int(r.ExpFloat64()*gap)
		if day >= g.days {
			break
		}
		var c int
		switch p := r.Float64(); {
		case mainCat == catMattress && k == 0 && p < 0.5:
			c = catCover // half of mattress buyers come back for a cover
		case mainCat == catAC && p < 0.3:
			c = catService
		case mainCat == catInsurance && p < 0.4:
			c = catInsurance
		default:
			c = pick(p, catFurniture, share[int]{0.55, catLinen}, share[int]{0.7, catPillow}, share[int]{0.85, catBlanket})
		}
		g.order(id, day, ch, c, false)
	}
	return first
}

func (g *gen) price(c int) float64 {
	ct := cats[c]
	p := ct.minPrice + g.r.Float64()*(ct.maxPrice-ct.minPrice)
	return math.Round(p) // whole roubles, like most Russian shops
}

func (g *gen) order(cust string, day int, ch string, mainCat int, first bool) {
	r := g.r
	g.orderSeq++
	id := "O" + strconv.Itoa(10000000+g.orderSeq)
	t := g.start.AddDate(0, 0, day).Add(time.Duration(8*3600+r.IntN(14*3600)) * time.Second)
	nl := 1 + r.IntN(3)
	total := 0.0
	for l := 0; l < nl; l++ {
		c := mainCat
		if l > 0 {
			c = []int{catLinen, catPillow, catBlanket, catCover}[r.IntN(4)]
			if c == catCover && mainCat != catMattress {
				c = catLinen
			}
		}
		q := 1
		if c == catLinen || c == catPillow {
			q = 1 + r.IntN(3)
		}
		amt := g.price(c) * float64(q)
		total += amt
		b := g.buf[:0]
		b = append(b, id...)
		b = append(b, ",P"...)
		b = strconv.AppendInt(b, int64(c*100+r.IntN(cats[c].products)), 10)
		b = append(b, ',')
		b = append(b, cats[c].name...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(q), 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, amt, 'f', 2, 64)
		b = append(b, '\n')
		g.lines.Write(b)
		g.buf = b
		g.nLines++
	}
	status := pick(r.Float64(), "completed", share[string]{0.04, "cancelled"}, share[string]{0.07, "refunded"}, share[string]{0.10, "partially_refunded"})
	if status == "partially_refunded" {
		total = math.Round(total * (0.5 + 0.4*r.Float64()))
	}
	b := g.buf[:0]
	b = append(b, id...)
	b = append(b, ',')
	b = append(b, cust...)
	b = append(b, ',')
	if r.IntN(4) == 0 {
		b = t.AppendFormat(b, "2006-01-02")
	} else {
		b = t.In(g.zone).AppendFormat(b, time.RFC3339)
	}
	b = append(b, ',')
	b = append(b, status...)
	b = append(b, ',')
	b = strconv.AppendFloat(b, total, 'f', 2, 64)
	b = append(b, ",RUB,"...)
	if first || r.IntN(3) == 0 {
		b = append(b, ch...)
	}
	b = append(b, '\n')
	g.orders.Write(b)
	g.buf = b
	g.nOrders++
}

var firstNames = []string{"ivan", "maria", "alexey", "olga", "dmitry", "anna", "sergey", "elena", "pavel", "natalia", "john", "kate"}
var domains = []string{"yandex.ru", "mail.ru", "gmail.com", "example.com", "bk.ru", "googlemail.com"}

func (g *gen) writeCustomer(w *bufio.Writer, i int, id string, first int) {
	r := g.r
	name := firstNames[r.IntN(len(firstNames))]
	dom := domains[r.IntN(len(domains))]
	local := name + "." + strconv.Itoa(i)
	email := local + "@" + dom
	switch p := r.Float64(); {
	case p < 0.1:
		email = "  " + email + " "
	case p < 0.2:
		email = capitalize(email)
	case p < 0.25 && (dom == "gmail.com" || dom == "googlemail.com"):
		email = name + "." + strconv.Itoa(i) + "+shop@" + dom
	case p < 0.28:
		email = "" // no e-mail
	case p < 0.29:
		email = name + strconv.Itoa(i) + "-at-" + dom // invalid
	}
	country := pick(r.Float64(), "RU", share[string]{0.05, "KZ"}, share[string]{0.08, "BY"}, share[string]{0.10, "GB"}, share[string]{0.12, ""})
	digits := fmt.Sprintf("9%02d%03d%02d%02d", r.IntN(100), r.IntN(1000), r.IntN(100), r.IntN(100))
	var phone string
	switch country {
	case "GB":
		phone = fmt.Sprintf("+44 20 7%03d %04d", r.IntN(1000), r.IntN(10000))
	case "BY":
		phone = fmt.Sprintf("+375 29 %03d-%02d-%02d", r.IntN(1000), r.IntN(100), r.IntN(100))
	case "KZ":
		phone = fmt.Sprintf("+7 701 %03d %02d %02d", r.IntN(1000), r.IntN(100), r.IntN(100))
	default:
		switch p := r.Float64(); {
		case p < 0.3:
			phone = "8 (" + digits[:3] + ") " + digits[3:6] + "-" + digits[6:8] + "-" + digits[8:]
		case p < 0.6:
			phone = "+7 " + digits[:3] + " " + digits[3:6] + "-" + digits[6:8] + "-" + digits[8:]
		case p < 0.8:
			phone = digits
		case p < 0.9:
			phone = "7" + digits
		case p < 0.97:
			phone = ""
		default:
			phone = "12-34" // invalid
		}
	}
	consent := "true"
	if r.Float64() < 0.2 {
		consent = "false"
	}
	created := g.start.AddDate(0, 0, first-r.IntN(30)).Format("2006-01-02")
	tier := []string{"bronze", "silver", "gold"}[r.IntN(3)]
	fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s,%s\n", id, csvQuote(email), csvQuote(phone), country, consent, created, tier)
}

func capitalize(s string) string {
	b := []byte(s)
	for i := range b {
		if i%2 == 0 && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 32
		}
	}
	return string(b)
}

func csvQuote(s string) string {
	for _, c := range s {
		if c == ',' || c == '"' || c == '\n' || c == ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}

// brokenRows appends rows the pipeline must dead-letter, one per reason.
func (g *gen) brokenRows(wo, wl, wc *bufio.Writer) {
	wo.WriteString("B0000001,C0000001,2024-13-45,completed,100.00,RUB,ads\n")              // bad_date
	wo.WriteString("B0000002,C0000002,2024-05-01,completed,12,3x,RUB,ads\n")               // long_row: the unquoted "12,3x" shifts the columns
	wo.WriteString("B0000003,,2024-05-01,completed,100.00,RUB,ads\n")                      // empty_customer_id
	wo.WriteString("B0000004,C0000004,2024-05-01,shipped,100.00,RUB,ads\n")                // unknown_status
	wo.WriteString(",C0000005,2024-05-01,completed,100.00,RUB,ads\n")                      // empty_order_id
	wo.WriteString("B0000006,C0000006,2024-05-01,completed,-5.00,RUB,ads\n")               // bad_amount (negative)
	wo.WriteString("B0000007,C0000007,2024-05-01,completed,100.00,rubles,ads\n")           // bad_currency
	wl.WriteString("O10000001,P1,bed linen,two,1000.00\n")                                 // bad_quantity
	wl.WriteString("B9999999,P1,bed linen,1,1000.00\n")                                    // line_of_unknown_order
	wc.WriteString("C9999991,someone@example.com,+79990000000,RU,maybe,2024-01-01,gold\n") // bad_marketing_consent
	wc.WriteString(",nobody@example.com,,RU,true,2024-01-01,gold\n")                       // empty_customer_id
}

func (g *gen) writeSpend(dir string) error {
	f, w, err := create(dir, "spend.csv")
	if err != nil {
		return err
	}
	w.WriteString("period,channel,amount,currency\n")
	for m := g.start; m.Before(g.start.AddDate(0, 0, g.days)); m = m.AddDate(0, 1, 0) {
		for i, ch := range channels {
			if ch == "direct" {
				continue
			}
			base := []float64{400000, 150000, 60000, 80000}[i]
			fmt.Fprintf(w, "%s,%s,%.2f,RUB\n", m.Format("2006-01"), ch, base*season[m.Month()-1])
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// share is one value of a cumulative distribution: v when the draw is below the threshold
// and not below the previous one.
type share[V any] struct {
	below float64
	v     V
}

// pick returns the value of the first share whose threshold p is below (shares ascend), or
// def when p is above them all.
func pick[V any](p float64, def V, shares ...share[V]) V {
	for _, s := range shares {
		if p < s.below {
			return s.v
		}
	}
	return def
}
