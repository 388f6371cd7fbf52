package audience

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// State is what a platform last confirmed for one audience: its remote id, the run date of
// that sync, the identifiers confirmed present and those whose presence is unknown (sent,
// never confirmed). Both lists are normalised and disjoint. Hashes only.
type State struct {
	RemoteID string
	RunDate  value.Day // 0 before the first sync
	// Generation counts the saves of this state: the same sets reached again later (added,
	// removed, added again) are another generation, so a change planned on them gets
	// new request ids instead of replaying an old, finished upload.
	Generation int64
	// Value is the value column the remote audience was made for ("" for a plain audience):
	// a value-based audience on Meta stays value-based, a plain one stays plain.
	Value     string
	Confirmed []Identifier
	Pending   []Identifier
}

// hashIdentifier writes id to h as type:hash, then =value when withValue: the form request
// ids and state digests take. num is scratch space, returned for the next call.
func hashIdentifier(h io.Writer, id Identifier, withValue bool, num []byte) []byte {
	h.Write([]byte(id.Type))
	h.Write([]byte{':'})
	h.Write([]byte(id.Hash))
	if withValue {
		num = strconv.AppendFloat(append(num[:0], '='), id.Value, 'g', -1, 64)
		h.Write(num)
	}
	return num
}

// digest identifies the state (generation, remote id and both sets): request ids derive from it.
func (s *State) digest() string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(s.Generation, 10) + "\x00" + s.RemoteID))
	if s.Value != "" {
		h.Write([]byte("\x00value=" + s.Value))
	}
	var num []byte
	for _, l := range [2][]Identifier{s.Confirmed, s.Pending} {
		h.Write([]byte{1})
		for _, id := range l {
			num = hashIdentifier(h, id, s.Value != "", num)
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// apply returns the state after the platform answered as in a. Confirmed additions become
// confirmed, confirmed removals leave both sets, a confirmed replace sets the audience; what
// was sent without confirmation becomes pending (unknown), whatever it was before; steps
// that were not sent or only validated change nothing.
func (s State) apply(a []Applied) State {
	for _, x := range coalesce(a) {
		switch {
		case x.Outcome == Confirmed && x.Op == OpAdd:
			s.Confirmed, s.Pending = union(s.Confirmed, x.IDs), minus(s.Pending, x.IDs)
		case x.Outcome == Confirmed && x.Op == OpRemove:
			s.Confirmed, s.Pending = minus(s.Confirmed, x.IDs), minus(s.Pending, x.IDs)
		case x.Outcome == Confirmed && x.Op == OpReplace:
			s.Confirmed, s.Pending = slices.Clone(x.IDs), nil
		case x.Outcome == Unconfirmed && x.Op == OpReplace:
			s.Confirmed, s.Pending = nil, union(union(s.Confirmed, s.Pending), x.IDs)
		case x.Outcome == Unconfirmed:
			s.Confirmed, s.Pending = minus(s.Confirmed, x.IDs), union(s.Pending, x.IDs)
		}
	}
	return s
}

// coalesce merges consecutive entries of the same op and outcome (the batches of one step),
// so that a million-identifier step costs one merge instead of one per batch.
func coalesce(a []Applied) []Applied {
	var out []Applied
	for i := 0; i < len(a); {
		j := i + 1
		for j < len(a) && a[j].Op == a[i].Op && a[j].Outcome == a[i].Outcome {
			j++
		}
		if j == i+1 {
			out = append(out, a[i])
		} else {
			var ids []Identifier
			for _, x := range a[i:j] {
				ids = append(ids, x.IDs...)
			}
			out = append(out, Applied{Op: a[i].Op, IDs: NormaliseIdentifiers(ids), Outcome: a[i].Outcome})
		}
		i = j
	}
	return out
}

// StateStore keeps one State (and one Journal) per audience and platform.
type StateStore interface {
	// Load returns the state; found is false (and err nil) only when there is none yet: any
	// other failure to read is an error, never "no state".
	Load(ctx context.Context, audience, platform string) (st State, found bool, err error)
	// Save replaces the state atomically.
	Save(ctx context.Context, audience, platform string, st State) error
	// Journal returns the journal of the audience on the platform.
	Journal(audience, platform string) Journal
}

// FileStore is the default StateStore: one Parquet file per audience and platform under Dir
// (a local folder or a gs:// URL), Dir/<audience>/<platform>.parquet, and the journal next to
// it, Dir/<audience>/<platform>.journal.json.
type FileStore struct {
	Dir string
}

var _ StateStore = (*FileStore)(nil)

// stateRow is one identifier in the state file (version 3): version 2 plus the value of a
// value-based audience's identifiers (null elsewhere).
type stateRow struct {
	Type    string   `parquet:"type,dict"`
	Hash    string   `parquet:"hash"`
	Pending bool     `parquet:"pending"`
	Value   *float64 `parquet:"value,optional"`
}

// stateRowV2 is one identifier in a version 2 state file (before values).
type stateRowV2 struct {
	Type    string `parquet:"type,dict"`
	Hash    string `parquet:"hash"`
	Pending bool   `parquet:"pending"`
}

// stateRowV1 is a member row of the version 1 state file (before identifier-level state):
// its e-mail and phone are read as confirmed identifiers.
type stateRowV1 struct {
	Key      string `parquet:"key"`
	Email    string `parquet:"email"`
	Phone    string `parquet:"phone"`
	ExternID string `parquet:"extern_id"`
}

// Key/value metadata names in the state file.
const (
	metaRemoteID = "audiencesync.remote_id"
	metaRunDate  = "audiencesync.run_date"
	metaGen      = "audiencesync.generation"
	metaValue    = "audiencesync.value"
	metaVersion  = "audiencesync.state_version"
	stateVersion = "3"
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
	if d, ok := f.Lookup(metaRunDate); ok && d != "" {
		if st.RunDate, err = value.ParseDay(d); err != nil {
			return State{}, false, fmt.Errorf("audience state %s: run date: %w", path, err)
		}
	}
	if g, ok := f.Lookup(metaGen); ok && g != "" {
		if st.Generation, err = strconv.ParseInt(g, 10, 64); err != nil {
			return State{}, false, fmt.Errorf("audience state %s: generation %q: %w", path, g, err)
		}
	}
	switch v, _ := f.Lookup(metaVersion); v {
	case "1":
		rows, err := readRows[stateRowV1](f)
		if err != nil {
			return State{}, false, fmt.Errorf("audience state %s: %w", path, err)
		}
		for _, r := range rows {
			if r.Email != "" {
				st.Confirmed = append(st.Confirmed, Identifier{Type: TypeEmail, Hash: r.Email})
			}
			if r.Phone != "" {
				st.Confirmed = append(st.Confirmed, Identifier{Type: TypePhone, Hash: r.Phone})
			}
		}
	case "2":
		rows, err := readRows[stateRowV2](f)
		if err != nil {
			return State{}, false, fmt.Errorf("audience state %s: %w", path, err)
		}
		for _, r := range rows {
			st.add(Identifier{Type: r.Type, Hash: r.Hash}, r.Pending)
		}
	case stateVersion:
		rows, err := readRows[stateRow](f)
		if err != nil {
			return State{}, false, fmt.Errorf("audience state %s: %w", path, err)
		}
		st.Value, _ = f.Lookup(metaValue)
		for _, r := range rows {
			id := Identifier{Type: r.Type, Hash: r.Hash}
			if r.Value != nil {
				id.Value = *r.Value
			}
			if (r.Value != nil) != (st.Value != "") {
				return State{}, false, fmt.Errorf("audience state %s: an identifier's value does not match the audience's value column %q: the file is damaged; restore it from a backup, or delete it to start over with a new remote audience", path, st.Value)
			}
			st.add(id, r.Pending)
		}
	default:
		return State{}, false, fmt.Errorf("audience state %s: unknown state version %q (written by a newer audiencesync?)", path, v)
	}
	st.Confirmed = NormaliseIdentifiers(st.Confirmed)
	st.Pending = minus(NormaliseIdentifiers(st.Pending), st.Confirmed)
	return st, true, nil
}

func (s *State) add(id Identifier, pending bool) {
	if pending {
		s.Pending = append(s.Pending, id)
	} else {
		s.Confirmed = append(s.Confirmed, id)
	}
}

func readRows[T any](f *parquet.File) ([]T, error) {
	rows := make([]T, f.NumRows())
	rd := parquet.NewGenericReader[T](f)
	defer rd.Close()
	n, err := rd.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return rows[:n], nil
}

// Save writes the state atomically: a temporary file in the same folder, fsync, rename.
func (s *FileStore) Save(ctx context.Context, audience, platform string, st State) error {
	path := s.Path(audience, platform)
	runDate := ""
	if st.RunDate != 0 {
		runDate = st.RunDate.String()
	}
	err := fileio.WriteAtomic(ctx, path, func(w io.Writer) error {
		pw := parquet.NewGenericWriter[stateRow](w,
			parquet.KeyValueMetadata(metaRemoteID, st.RemoteID),
			parquet.KeyValueMetadata(metaRunDate, runDate),
			parquet.KeyValueMetadata(metaGen, strconv.FormatInt(st.Generation, 10)),
			parquet.KeyValueMetadata(metaValue, st.Value),
			parquet.KeyValueMetadata(metaVersion, stateVersion),
		)
		const batch = 4096
		rows := make([]stateRow, 0, batch)
		for _, l := range []struct {
			ids     []Identifier
			pending bool
		}{{st.Confirmed, false}, {st.Pending, true}} {
			for i, id := range l.ids {
				row := stateRow{Type: id.Type, Hash: id.Hash, Pending: l.pending}
				if st.Value != "" {
					row.Value = &l.ids[i].Value
				}
				rows = append(rows, row)
				if len(rows) == batch {
					if _, err := pw.Write(rows); err != nil {
						return err
					}
					rows = rows[:0]
				}
			}
		}
		if _, err := pw.Write(rows); err != nil {
			return err
		}
		return pw.Close()
	})
	if err != nil {
		return fmt.Errorf("audience state %s: save failed: %w", path, err)
	}
	return nil
}

// Journal returns the journal file of an audience on a platform.
func (s *FileStore) Journal(audience, platform string) Journal {
	return fileJournal(fileio.Join(s.Dir, audience, platform+".journal.json"))
}

type fileJournal string

func (j fileJournal) Read(ctx context.Context) ([]byte, error) {
	found, err := fileio.Lookup(ctx, string(j))
	if err != nil || !found {
		return nil, err
	}
	return fileio.ReadFile(ctx, string(j))
}

func (j fileJournal) Write(ctx context.Context, note []byte) error {
	return fileio.WriteFile(ctx, string(j), note)
}

func (j fileJournal) Clear(ctx context.Context) error {
	return fileio.RemoveGlob(ctx, string(j))
}
