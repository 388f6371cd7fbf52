package score

import (
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// Segmented is one bucket's customers with a customers record (contact hashes only, never
// raw contacts) and the segments they are in today: what the audience stage needs
// (KV<int, Segmented>, key = customer bucket).
type Segmented struct {
	Records  []nightly.CustomerRec
	Segments [][]string // Segments[i]: Records[i]'s "source:segment" names, sorted
	// Values[i]: Records[i]'s customer_metrics rows (one per currency) with only the columns
	// a value-based audience may take its values from (audience.ValueColumns) and the
	// currency filled in.
	Values [][]tables.CustomerMetrics
}

// MarshalBinary encodes the records (nightly's PutCustomer), their segments and values.
func (x Segmented) MarshalBinary() ([]byte, error) {
	e := nightly.NewEnc(nightly.KindCustomers)
	e.Int(int64(len(x.Records)))
	for i := range x.Records {
		e.PutCustomer(&x.Records[i])
		e.Strs(x.Segments[i])
		var vals []tables.CustomerMetrics
		if i < len(x.Values) {
			vals = x.Values[i]
		}
		e.Int(int64(len(vals)))
		for j := range vals {
			v := &vals[j]
			e.Sym(v.Currency)
			e.Float(v.Revenue)
			e.Float(v.CLVSimple)
			e.Bool(v.PredCLV != nil)
			if v.PredCLV != nil {
				e.Float(*v.PredCLV)
			}
		}
	}
	return e.B, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (x *Segmented) UnmarshalBinary(b []byte) error {
	d := nightly.NewDec(b, nightly.KindCustomers)
	n := d.Count()
	out := Segmented{Records: make([]nightly.CustomerRec, 0, n), Segments: make([][]string, 0, n), Values: make([][]tables.CustomerMetrics, 0, n)}
	for i := 0; i < n && d.Err == nil; i++ {
		rec := d.GetCustomer(true)
		out.Records = append(out.Records, rec)
		out.Segments = append(out.Segments, d.Strs())
		var vals []tables.CustomerMetrics
		for j, m := 0, d.Count(); j < m && d.Err == nil; j++ {
			v := tables.CustomerMetrics{CustomerID: rec.CustomerID, Currency: d.Sym(), Revenue: d.Float(), CLVSimple: d.Float()}
			if d.Bool() {
				p := d.Float()
				v.PredCLV = &p
			}
			vals = append(vals, v)
		}
		out.Values = append(out.Values, vals)
	}
	*x = out
	return d.Done()
}
