package score

import (
	"github.com/audiencesync/audiencesync/transforms/nightly"
)

// Segmented is one bucket's customers with a customers record (contact hashes only, never
// raw contacts) and the segments they are in today: what the audience stage needs
// (KV<int, Segmented>, key = customer bucket).
type Segmented struct {
	Records  []nightly.CustomerRec
	Segments [][]string // Segments[i]: Records[i]'s "source:segment" names, sorted
}

// MarshalBinary encodes the records (nightly's PutCustomer) and their segments.
func (x Segmented) MarshalBinary() ([]byte, error) {
	e := nightly.NewEnc(nightly.KindCustomers)
	e.Int(int64(len(x.Records)))
	for i := range x.Records {
		e.PutCustomer(&x.Records[i])
		e.Strs(x.Segments[i])
	}
	return e.B, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (x *Segmented) UnmarshalBinary(b []byte) error {
	d := nightly.NewDec(b, nightly.KindCustomers)
	n := d.Count()
	out := Segmented{Records: make([]nightly.CustomerRec, 0, n), Segments: make([][]string, 0, n)}
	for i := 0; i < n && d.Err == nil; i++ {
		out.Records = append(out.Records, d.GetCustomer(true))
		out.Segments = append(out.Segments, d.Strs())
	}
	*x = out
	return d.Done()
}
