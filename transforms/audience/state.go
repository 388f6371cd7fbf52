package audience

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go"

	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// State is what a platform last confirmed for one audience: its remote id, the run date of
// that sync and the members, sorted by Key (hashes only).
type State struct {
	RemoteID string
	RunDate  string
	Members  []Member
}

// StateStore keeps one State per audience and platform.
type StateStore interface {
	// Load returns the state; found is false (and err nil) when there is none yet.
	Load(ctx context.Context, audience, platform string) (st State, found bool, err error)
	// Save replaces the state atomically.
	Save(ctx context.Context, audience, platform string, st State) error
}

// FileStore is the default StateStore: one Parquet file per audience and platform under Dir
// (a local folder or a gs:// URL): Dir/<audience>/<platform>.parquet.
type FileStore struct {
	Dir string
}

var _ StateStore = (*FileStore)(nil)

// stateRow is one member in the state file.
type stateRow struct {
	Key      string `parquet:"key"`
	Email    string `parquet:"email"`
	Phone    string `parquet:"phone"`
	ExternID string `parquet:"extern_id"`
}

// Key/value metadata names in the state file.
const (
	metaRemoteID = "audiencesync.remote_id"
	metaRunDate  = "audiencesync.run_date"
	metaVersion  = "audiencesync.state_version"
	stateVersion = "1"
)

// Path returns the state file of an audience on a platform.
func (s *FileStore) Path(audience, platform string) string {
	return fileio.Join(s.Dir, audience, platform+".parquet")
}

// Load reads the state file. A missing file means no state; any other error is returned,
// never taken for "no state" (that would create a second remote audience).
func (s *FileStore) Load(ctx context.Context, audience, platform string) (State, bool, error) {
	path := s.Path(audience, platform)
	found, err := fileio.Lookup(ctx, path)
	if err != nil {
		return State{}, false, fmt.Errorf("audience state %s: %w (check the state_dir and its permissions)", path, err)
	}
	if !found {
		return State{}, false, nil
	}
	r, err := fileio.OpenReaderAt(ctx, path)
	if err != nil {
		return State{}, false, fmt.Errorf("audience state %s: %w", path, err)
	}
	defer r.Close()
	f, err := parquet.OpenFile(r, r.Size())
	if err != nil {
		return State{}, false, fmt.Errorf("audience state %s: not a readable Parquet file: %w (restore it from a backup, or delete it to start over with a new remote audience)", path, err)
	}
	var st State
	st.RemoteID, _ = f.Lookup(metaRemoteID)
	st.RunDate, _ = f.Lookup(metaRunDate)
	rows := make([]stateRow, f.NumRows())
	rd := parquet.NewGenericReader[stateRow](f)
	n, err := rd.Read(rows)
	rd.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return State{}, false, fmt.Errorf("audience state %s: %w", path, err)
	}
	st.Members = make([]Member, n)
	for i, r := range rows[:n] {
		st.Members[i] = Member{Key: r.Key, Email: r.Email, Phone: r.Phone, ExternID: r.ExternID}
	}
	st.Members = NormaliseMembers(st.Members)
	return st, true, nil
}

// Save writes the state atomically: a temporary file in the same folder, fsync, rename.
func (s *FileStore) Save(ctx context.Context, audience, platform string, st State) error {
	path := s.Path(audience, platform)
	members := NormaliseMembers(slices.Clone(st.Members))
	err := fileio.WriteAtomic(ctx, path, func(w io.Writer) error {
		pw := parquet.NewGenericWriter[stateRow](w,
			parquet.KeyValueMetadata(metaRemoteID, st.RemoteID),
			parquet.KeyValueMetadata(metaRunDate, st.RunDate),
			parquet.KeyValueMetadata(metaVersion, stateVersion),
		)
		const batch = 4096
		rows := make([]stateRow, 0, batch)
		for i, m := range members {
			rows = append(rows, stateRow{Key: m.Key, Email: m.Email, Phone: m.Phone, ExternID: m.ExternID})
			if len(rows) == batch || i == len(members)-1 {
				if _, err := pw.Write(rows); err != nil {
					return err
				}
				rows = rows[:0]
			}
		}
		return pw.Close()
	})
	if err != nil {
		return fmt.Errorf("audience state %s: save failed: %w", path, err)
	}
	return nil
}

// NormaliseMembers sorts ms by Key (then ExternID) and drops repeated Keys, in place, and
// returns the shortened slice. Two customer records with the same contacts have the same
// Key and are one member on the platform.
func NormaliseMembers(ms []Member) []Member {
	less := func(a, b Member) int {
		if c := cmp.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.ExternID, b.ExternID)
	}
	if !slices.IsSortedFunc(ms, less) {
		slices.SortFunc(ms, less)
	}
	return slices.CompactFunc(ms, func(a, b Member) bool { return a.Key == b.Key })
}

// Diff compares the previous members with today's, both sorted by Key without repeats
// (NormaliseMembers), and returns who to add and who to remove, sorted by Key.
func Diff(prev, today []Member) (add, remove []Member) {
	i, j := 0, 0
	for i < len(prev) && j < len(today) {
		switch c := cmp.Compare(prev[i].Key, today[j].Key); {
		case c < 0:
			remove = append(remove, prev[i])
			i++
		case c > 0:
			add = append(add, today[j])
			j++
		default:
			i++
			j++
		}
	}
	remove = append(remove, prev[i:]...)
	add = append(add, today[j:]...)
	return add, remove
}
