package delivery

import (
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// encodeSyncLog and decodeSyncLog are the Beam coder of a sync_log row between DoFns, in the
// pipeline's one binary encoding (transforms/wire). Every field of tables.SyncLog is listed
// here; TestSyncLogCoderRoundTrip fills each field through reflection, so a field added to
// the table and not to the coder fails it.
func encodeSyncLog(r tables.SyncLog) ([]byte, error) {
	started, err := r.StartedAt.MarshalBinary()
	if err != nil {
		return nil, err
	}
	e := wire.NewEnc(256 + len(r.Error) + len(r.RejectReasons))
	e.Int(int64(r.RunDate))
	for _, p := range syncLogStrings(&r) {
		e.Str(*p)
	}
	e.Bool(r.DryRun)
	e.IntFields(syncLogInts(&r)...)
	e.Bytes(started)
	e.Bool(r.PlatformSize != nil)
	if r.PlatformSize != nil {
		e.Int(*r.PlatformSize)
	}
	return e.B, nil
}

func decodeSyncLog(b []byte) (tables.SyncLog, error) {
	var r tables.SyncLog
	d := wire.NewDec(b)
	r.RunDate = int32(d.Int())
	for _, p := range syncLogStrings(&r) {
		*p = d.Str()
	}
	r.DryRun = d.Bool()
	d.IntFields(syncLogInts(&r)...)
	if err := r.StartedAt.UnmarshalBinary(d.Bytes()); err != nil && d.Err == nil {
		return r, err
	}
	if d.Bool() {
		n := d.Int()
		r.PlatformSize = &n
	}
	return r, d.Done()
}

// syncLogStrings are the string fields of r, in encoding order.
func syncLogStrings(r *tables.SyncLog) []*string {
	return []*string{&r.Audience, &r.Platform, &r.Mode, &r.RejectReasons, &r.Status, &r.Error, &r.Kind, &r.RemoteID, &r.SourceID}
}

// syncLogInts are the int64 fields of r, in encoding order.
func syncLogInts(r *tables.SyncLog) []*int64 {
	return []*int64{&r.Members, &r.Added, &r.Removed, &r.Sent, &r.Accepted, &r.Rejected, &r.Requests, &r.DurationMs}
}
