package delivery

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audiencesync/audiencesync/transforms/tables"
)

// Every field of a sync_log row survives the coder: each is set to a distinct non-zero value
// through reflection, so a field the coder does not carry comes back zero and fails here.
func TestSyncLogCoderRoundTrip(t *testing.T) {
	var full tables.SyncLog
	v := reflect.ValueOf(&full).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("s" + v.Type().Field(i).Name)
		case reflect.Int32, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Pointer: // PlatformSize
			n := int64(-7)
			f.Set(reflect.ValueOf(&n))
		case reflect.Struct: // StartedAt, with nanoseconds the table would round away
			f.Set(reflect.ValueOf(time.Date(2026, 12, 7, 3, 4, 5, 123456789, time.UTC)))
		default:
			t.Fatalf("field %s of kind %s: teach this test and the coder", v.Type().Field(i).Name, f.Kind())
		}
	}
	for _, want := range []tables.SyncLog{full, {}, {Audience: "only", Status: "ok"}} {
		b, err := encodeSyncLog(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeSyncLog(b)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("round trip: error %v, (-want +got):\n%s", err, diff)
		}
		if _, err := decodeSyncLog(b[:len(b)-1]); err == nil {
			t.Error("a truncated element decoded without error")
		}
		if _, err := decodeSyncLog(append(b, 0)); err == nil {
			t.Error("trailing bytes decoded without error")
		}
	}
}
