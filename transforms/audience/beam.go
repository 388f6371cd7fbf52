package audience

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"

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
}

func init() {
	beam.RegisterType(reflect.TypeOf((*Target)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Identifier)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*Batch)(nil)).Elem(), EncodeBatch, DecodeBatch)
	register.DoFn3x1[context.Context, string, func(*Batch) bool, error](&writeMembersFn{})
	register.Iter1[Batch]()
	register.Emitter2[string, Batch]()
}

// Identifier types in the batch encoding; rawFlag marks a hash kept as text (not lowercase hex).
const (
	codeEmail byte = 1
	codePhone byte = 2
	rawFlag   byte = 0x80
)

// EncodeBatch is Batch's Beam coder: a count, then per identifier a type byte, a length and
// the hash as bytes (hex-decoded when it is lowercase hex, as every hash the pipeline makes).
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
		if len(id.Hash) <= 2*len(raw) && len(id.Hash)%2 == 0 && IsHexHash(id.Hash, len(id.Hash)) {
			n, _ := hex.Decode(raw[:], []byte(id.Hash))
			out = append(out, code, byte(n))
			out = append(out, raw[:n]...)
			continue
		}
		out = append(out, code|rawFlag)
		out = binary.AppendUvarint(out, uint64(len(id.Hash)))
		out = append(out, id.Hash...)
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
		switch code &^ rawFlag {
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
		b.IDs = append(b.IDs, id)
	}
	if len(data) != 0 {
		return Batch{}, errors.New("audience: batch: trailing bytes")
	}
	return b, nil
}

// EmitBatches emits, for every target with members in this bucket, one batch of the
// identifiers of the customers in segments (customer id → "source:segment" names) as
// KV<target key, Batch>. hashed returns a customer's hashed contacts, nil for a customer
// without a customers record (no contacts, no consent).
func (m *Members) EmitBatches(segments map[string][]string, hashed func(id string) *contacts.Hashed, emit func(string, Batch)) {
	per := make([][]Identifier, len(m.targets))
	for id, segs := range segments {
		h := hashed(id)
		if h == nil {
			continue
		}
		m.Add(h, segs, func(i int, x Identifier) { per[i] = append(per[i], x) })
	}
	for i, ids := range per {
		if len(ids) > 0 {
			emit(m.targets[i].Key(), Batch{IDs: NormaliseIdentifiers(ids)})
		}
	}
}

// WriteMembers writes the audience_members table of the run date: one part file per target
// (parts numbered by the target's place in targets, so a retried bundle rewrites its own
// part), holding the distinct identifiers of its audience on its platform sorted by type and
// hash. It counts rows_written.audience_members and audience_identifiers.<audience>/<platform>.
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
	for it(&b) {
		ids = append(ids, b.IDs...)
	}
	ids = NormaliseIdentifiers(ids)
	rows := make([]tables.AudienceMember, len(ids))
	for i, id := range ids {
		rows[i] = tables.AudienceMember{RunDate: f.RunDate, Audience: t.Audience, Platform: t.Platform, IdentifierType: id.Type, Hash: id.Hash}
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
		out[k] = append(out[k], Identifier{r.IdentifierType, r.Hash})
	}
	for k, ids := range out {
		out[k] = NormaliseIdentifiers(ids)
	}
	return out, value.Day(day), nil
}
