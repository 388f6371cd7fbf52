package audience

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Namespace of the Beam counters of the audience steps (the pipeline's own namespace).
const Namespace = "audiencesync"

// Batch is a batch of one target's identifiers, the element of the audience shuffles
// (KV<target key, Batch>). Its coder writes each hash as bytes, half the size of its hex.
type Batch struct {
	IDs []Identifier
	// Value-based targets only: the currencies of the values in IDs, and how many member
	// contributions had no value (counted, sent as 0).
	Currencies []string
	NoValue    int64
}

func init() {
	beam.RegisterType(reflect.TypeOf((*Target)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Identifier)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*Batch)(nil)).Elem(), EncodeBatch, DecodeBatch)
	register.DoFn3x1[context.Context, string, func(*Batch) bool, error](&writeMembersFn{})
	register.Iter1[Batch]()
	register.Emitter2[string, Batch]()
}

// Identifier types in the batch encoding; rawFlag marks a hash kept as text (not lowercase
// hex), valueFlag an identifier followed by its Value (8 bytes, IEEE 754 little endian).
const (
	codeEmail byte = 1
	codePhone byte = 2
	valueFlag byte = 0x40
	rawFlag   byte = 0x80
)

// EncodeBatch is Batch's Beam coder: a count, then per identifier a type byte, a length and
// the hash as bytes (hex-decoded when it is lowercase hex, as every hash the pipeline makes)
// and its value when not 0; then, for value-based batches only, NoValue and the currencies.
func EncodeBatch(b Batch) ([]byte, error) {
	out := binary.AppendUvarint(make([]byte, 0, 4+len(b.IDs)*34), uint64(len(b.IDs)))
	var raw [64]byte
	for _, id := range b.IDs {
		var code byte
		switch id.Type {
		case TypeEmail:
			code = codeEmail
		case TypePhone:
			code = codePhone
		default:
			return nil, fmt.Errorf("audience: batch: unknown identifier type %q", id.Type)
		}
		if id.Value != 0 {
			code |= valueFlag
		}
		if len(id.Hash) <= 2*len(raw) && len(id.Hash)%2 == 0 && IsHexHash(id.Hash, len(id.Hash)) {
			n, _ := hex.Decode(raw[:], []byte(id.Hash))
			out = append(out, code, byte(n))
			out = append(out, raw[:n]...)
		} else {
			out = append(out, code|rawFlag)
			out = binary.AppendUvarint(out, uint64(len(id.Hash)))
			out = append(out, id.Hash...)
		}
		if id.Value != 0 {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(id.Value))
		}
	}
	if b.NoValue != 0 || len(b.Currencies) > 0 {
		out = binary.AppendUvarint(out, uint64(b.NoValue))
		out = binary.AppendUvarint(out, uint64(len(b.Currencies)))
		for _, c := range b.Currencies {
			out = binary.AppendUvarint(out, uint64(len(c)))
			out = append(out, c...)
		}
	}
	return out, nil
}

// DecodeBatch decodes EncodeBatch.
func DecodeBatch(data []byte) (Batch, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return Batch{}, errors.New("audience: batch: bad count")
	}
	data = data[k:]
	b := Batch{IDs: make([]Identifier, 0, n)}
	for i := uint64(0); i < n; i++ {
		if len(data) < 2 {
			return Batch{}, errors.New("audience: batch: truncated")
		}
		code := data[0]
		var id Identifier
		switch code &^ (rawFlag | valueFlag) {
		case codeEmail:
			id.Type = TypeEmail
		case codePhone:
			id.Type = TypePhone
		default:
			return Batch{}, fmt.Errorf("audience: batch: unknown type code %d", code)
		}
		if code&rawFlag != 0 {
			l, k := binary.Uvarint(data[1:])
			if k <= 0 || uint64(len(data)-1-k) < l {
				return Batch{}, errors.New("audience: batch: truncated")
			}
			id.Hash = string(data[1+k : 1+k+int(l)])
			data = data[1+k+int(l):]
		} else {
			l := int(data[1])
			if len(data) < 2+l {
				return Batch{}, errors.New("audience: batch: truncated")
			}
			id.Hash = hex.EncodeToString(data[2 : 2+l])
			data = data[2+l:]
		}
		if code&valueFlag != 0 {
			if len(data) < 8 {
				return Batch{}, errors.New("audience: batch: truncated value")
			}
			id.Value = math.Float64frombits(binary.LittleEndian.Uint64(data))
			data = data[8:]
		}
		b.IDs = append(b.IDs, id)
	}
	if len(data) == 0 {
		return b, nil
	}
	nv, k := binary.Uvarint(data)
	if k <= 0 {
		return Batch{}, errors.New("audience: batch: bad trailer")
	}
	data = data[k:]
	nc, k := binary.Uvarint(data)
	if k <= 0 || nc > uint64(len(data)) {
		return Batch{}, errors.New("audience: batch: bad trailer")
	}
	data = data[k:]
	b.NoValue = int64(nv)
	for i := uint64(0); i < nc; i++ {
		l, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < l {
			return Batch{}, errors.New("audience: batch: truncated currency")
		}
		b.Currencies = append(b.Currencies, string(data[k:k+int(l)]))
		data = data[k+int(l):]
	}
	if len(data) != 0 {
		return Batch{}, errors.New("audience: batch: trailing bytes")
	}
	return b, nil
}

// EmitBatches emits, for every target with members in this bucket, one batch of the
// identifiers of the customers in segments (customer id → "source:segment" names) as
// KV<target key, Batch>. hashed returns a customer's hashed contacts, nil for a customer
// without a customers record (no contacts, no consent). metrics are the bucket's
// customer_metrics rows, where value-based targets take their values (nil when there is
// none).
func (m *Members) EmitBatches(segments map[string][]string, hashed func(id string) *contacts.Hashed, metrics []tables.CustomerMetrics, emit func(string, Batch)) {
	var byCustomer map[string][]tables.CustomerMetrics
	for _, t := range m.targets {
		if t.Value != "" {
			byCustomer = make(map[string][]tables.CustomerMetrics, len(metrics))
			for _, r := range metrics {
				byCustomer[r.CustomerID] = append(byCustomer[r.CustomerID], r)
			}
			break
		}
	}
	per := make([]Batch, len(m.targets))
	currencies := make([]map[string]bool, len(m.targets))
	// Per target, for the customer at hand: a value came, and the customer was counted.
	hasValue, counted := make([]bool, len(m.targets)), make([]bool, len(m.targets))
	for id, segs := range segments {
		h := hashed(id)
		if h == nil {
			continue
		}
		if byCustomer != nil {
			clear(hasValue)
			clear(counted)
		}
		m.AddCustomer(h, segs, byCustomer[id], func(i int, x Identifier) {
			if m.targets[i].Value != "" && !counted[i] {
				counted[i] = true
				if !hasValue[i] {
					per[i].NoValue++
				}
			}
			per[i].IDs = append(per[i].IDs, x)
		}, func(i int, cur string) {
			hasValue[i] = true
			if currencies[i] == nil {
				currencies[i] = map[string]bool{}
			}
			currencies[i][cur] = true
		})
	}
	for i := range per {
		b := per[i]
		if len(b.IDs) == 0 {
			continue
		}
		b.IDs = MergeIdentifiers(b.IDs)
		b.Currencies = slices.Sorted(maps.Keys(currencies[i]))
		emit(m.targets[i].Key(), b)
	}
}

// WriteMembers writes the audience_members table of the run date: one part file per target
// (parts numbered by the target's place in targets, so a retried bundle rewrites its own
// part), holding the distinct identifiers of its audience on its platform sorted by type and
// hash. An identifier carried by several customers is one row; in a value-based target its
// value is the sum of theirs (MergeIdentifiers), and the target fails when its values come in
// more than one currency. It counts rows_written.audience_members,
// audience_identifiers.<audience>/<platform> and, for value-based targets,
// audience_value_missing.<audience>/<platform> (members without a value, sent as 0).
// In: KV<string, Batch> (target key → identifiers of one bucket's customers).
func WriteMembers(s beam.Scope, batches beam.PCollection, targets []Target, output string, runDate value.Day) {
	s = s.Scope("audience.WriteMembers")
	beam.ParDo0(s, &writeMembersFn{Targets: targets, Output: output, RunDate: int32(runDate)}, beam.GroupByKey(s, batches))
}

// MembersTable is the folder name of the audience_members table.
const MembersTable = "audience_members"

type writeMembersFn struct {
	Targets []Target
	Output  string
	RunDate int32
}

func (f *writeMembersFn) ProcessElement(ctx context.Context, key string, it func(*Batch) bool) error {
	part := -1
	var t Target
	for i := range f.Targets {
		if f.Targets[i].Key() == key {
			part, t = i, f.Targets[i]
		}
	}
	if part < 0 {
		return fmt.Errorf("audience: members of unknown target %q", key)
	}
	var ids []Identifier
	var b Batch
	currencies := map[string]bool{}
	noValue := int64(0)
	for it(&b) {
		ids = append(ids, b.IDs...)
		for _, c := range b.Currencies {
			currencies[c] = true
		}
		noValue += b.NoValue
	}
	if len(currencies) > 1 {
		// Values of several currencies cannot be ranked against each other: the seed
		// would favour whoever pays in the weaker currency.
		return fmt.Errorf("audience %q on %s: its %s values come in %d currencies (%s): a value-based seed ranks customers by value, which needs one currency; set lookalikes.%s.value_currency, or restrict the audience with a rule on currency",
			t.Audience, t.Platform, t.Value, len(currencies), strings.Join(slices.Sorted(maps.Keys(currencies)), ", "), t.Platform)
	}
	ids = MergeIdentifiers(ids)
	rows := make([]tables.AudienceMember, len(ids))
	for i, id := range ids {
		rows[i] = tables.AudienceMember{RunDate: f.RunDate, Audience: t.Audience, Platform: t.Platform, IdentifierType: id.Type, Hash: id.Hash}
		if t.Value != "" {
			rows[i].Value = &ids[i].Value
		}
	}
	if noValue > 0 {
		beam.NewCounter(Namespace, "audience_value_missing."+key).Inc(ctx, noValue)
	}
	if err := parquetio.WriteFile(ctx, fileio.Join(f.Output, MembersTable, parquetio.PartName(part)), rows); err != nil {
		return err
	}
	beam.NewCounter(Namespace, "rows_written."+MembersTable).Inc(ctx, int64(len(rows)))
	beam.NewCounter(Namespace, "audience_identifiers."+key).Inc(ctx, int64(len(rows)))
	return nil
}

// GroupMembers groups audience_members rows (any order) by target into normalised
// identifier sets, for the delivery phase and for tests. It refuses rows of more than one run
// date: one delivery sends one night's audiences.
func GroupMembers(rows []tables.AudienceMember) (map[string][]Identifier, value.Day, error) {
	out := map[string][]Identifier{}
	var day int32
	for i, r := range rows {
		if i > 0 && r.RunDate != day {
			return nil, 0, fmt.Errorf("audience_members holds run dates %s and %s: deliver one run at a time", value.Day(day), value.Day(r.RunDate))
		}
		day = r.RunDate
		k := Target{Audience: r.Audience, Platform: r.Platform}.Key()
		id := Identifier{Type: r.IdentifierType, Hash: r.Hash}
		if r.Value != nil {
			id.Value = *r.Value
		}
		out[k] = append(out[k], id)
	}
	for k, ids := range out {
		out[k] = NormaliseIdentifiers(ids)
	}
	return out, value.Day(day), nil
}
