package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Folder and file names of the layout (see the package doc).
const (
	RunsDir      = "runs"
	CurrentLink  = "current"      // local disks: symbolic link to runs/<id>
	CurrentFile  = "current.json" // object stores: the published manifest
	ManifestFile = "_MANIFEST.json"
	StagingDir   = ".staging" // under the state folder
	stagingInfo  = "_RUN.json"
)

// NewID returns a run id: the UTC start time (milliseconds, so ids sort by start) and 8
// random hex digits: 20260601T021500.123Z-1a2b3c4d.
func NewID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// Run is one run's place on disk.
type Run struct {
	ID        string
	RunDate   value.Day
	StartedAt time.Time
	Out       string // the output root
	State     string // the state root ("" without state)
	// Dir is where the run writes every output: Out/runs/<id>.
	Dir string
	// StateStage is where the run writes state that must advance only with a published
	// run (segment history, report history): State/.staging/<id>; "" without state.
	StateStage string

	keep int
}

// StartOptions configure Start.
type StartOptions struct {
	// Legacy names directly under the output that older versions wrote (table folders,
	// run_summary.json, …): removed, so that nobody reads them as current.
	Legacy []string
	// Keep is how many published runs stay: the current one and the ones before it, for
	// readers still reading them (default 2).
	Keep int
	Now  func() time.Time
}

// Start prepares a run under the lock: it finishes or discards what a killed run left
// (state staging, temporary files, unpublished run folders), removes legacy outputs and
// creates the run's folders. The run writes into Run.Dir and Run.StateStage only.
func Start(ctx context.Context, out, state string, runDate value.Day, id string, o StartOptions) (*Run, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Keep < 1 {
		o.Keep = 2
	}
	if err := Recover(ctx, state); err != nil {
		return nil, err
	}
	for _, name := range o.Legacy {
		if err := fileio.RemoveAll(ctx, fileio.Join(out, name)); err != nil {
			return nil, fmt.Errorf("remove the old-layout output %s: %w", fileio.Join(out, name), err)
		}
	}
	if err := prune(ctx, out, o.Keep); err != nil {
		return nil, err
	}
	r := &Run{ID: id, RunDate: runDate, StartedAt: o.Now().UTC(), Out: out, State: state, Dir: fileio.Join(out, RunsDir, id), keep: o.Keep}
	if fileio.IsLocal(r.Dir) {
		if err := os.MkdirAll(r.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	if state != "" {
		r.StateStage = fileio.Join(state, StagingDir, id)
		b, _ := json.MarshalIndent(map[string]string{"run_id": id, "output": out, "run_date": runDate.String()}, "", "  ")
		if err := fileio.WriteFile(ctx, fileio.Join(r.StateStage, stagingInfo), b); err != nil {
			return nil, fmt.Errorf("state staging: %w", err)
		}
	}
	return r, nil
}

// StageStateFile returns where the run writes the state file name (relative to the state
// folder): a copy of the current one in the run's state staging, so that a reader of the
// staged path sees the current state and the change is published with the run. Without
// state it returns "".
func (r *Run) StageStateFile(ctx context.Context, name string) (string, error) {
	if r.State == "" {
		return "", nil
	}
	cur, staged := fileio.Join(r.State, name), fileio.Join(r.StateStage, name)
	ok, err := fileio.Lookup(ctx, cur)
	if err != nil {
		return "", fmt.Errorf("state %s: %w", cur, err)
	}
	if ok {
		b, err := fileio.ReadFile(ctx, cur)
		if err != nil {
			return "", fmt.Errorf("state %s: %w", cur, err)
		}
		if err := fileio.WriteFile(ctx, staged, b); err != nil {
			return "", err
		}
	}
	return staged, nil
}

// Recover settles the state staging folders runs left behind: one whose run is the
// published run of its output is moved into place (the run was killed after publishing),
// any other is deleted (the run never published). Local temporary files of killed writes
// are deleted too. It must run under the lock.
func Recover(ctx context.Context, state string) error {
	if state == "" {
		return nil
	}
	root := fileio.Join(state, StagingDir)
	files, err := fileio.ListTree(ctx, root)
	if err != nil {
		return fmt.Errorf("state staging %s: %w", root, err)
	}
	var ids []string
	for _, f := range files {
		id, _, _ := strings.Cut(f.Path, "/")
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		dir := fileio.Join(root, id)
		var info struct{ Output string }
		b, err := fileio.ReadFile(ctx, fileio.Join(dir, stagingInfo))
		if err != nil && !fileio.IsNotFound(err) {
			return fmt.Errorf("state staging %s: %w", dir, err)
		}
		published := false
		if err == nil && json.Unmarshal(b, &info) == nil && info.Output != "" {
			m, err := Current(ctx, info.Output)
			if err != nil {
				return fmt.Errorf("state staging %s: %w", dir, err)
			}
			published = m != nil && m.RunID == id
		}
		if published {
			if err := commitState(ctx, state, dir); err != nil {
				return err
			}
			continue
		}
		if err := fileio.RemoveAll(ctx, dir); err != nil {
			return fmt.Errorf("state staging %s: %w", dir, err)
		}
	}
	if fileio.IsLocal(state) {
		return removeTemps(state)
	}
	return nil
}

// commitState moves every staged file into the state folder, then deletes the staging
// folder. Each move replaces one file; a repeat after a kill moves what is left.
func commitState(ctx context.Context, state, dir string) error {
	files, err := fileio.ListTree(ctx, dir)
	if err != nil {
		return fmt.Errorf("state staging %s: %w", dir, err)
	}
	for _, f := range files {
		if f.Path == stagingInfo || fileio.IsTemp(f.Path) {
			continue
		}
		if err := fileio.Rename(ctx, fileio.Join(dir, f.Path), fileio.Join(state, f.Path)); err != nil {
			return fmt.Errorf("state: publish %s: %w", f.Path, err)
		}
	}
	// The info file goes last: until then a repeat knows whose staging this is.
	if err := fileio.RemoveAll(ctx, dir); err != nil {
		return fmt.Errorf("state staging %s: %w", dir, err)
	}
	return nil
}

// removeTemps deletes WriteAtomic's temporary files under a local folder.
func removeTemps(root string) error {
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if p == root && os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() && fileio.IsTemp(d.Name()) {
			fileio.Checkpoint("remove", p)
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove temporary files under %s: %w", root, err)
	}
	return nil
}

// runFolders lists the run ids under out/runs, oldest first.
func runFolders(ctx context.Context, out string) ([]string, error) {
	dir := fileio.Join(out, RunsDir)
	var ids []string
	if fileio.IsLocal(dir) {
		ents, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range ents {
			if e.IsDir() {
				ids = append(ids, e.Name())
			}
		}
	} else {
		files, err := fileio.ListTree(ctx, dir)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			id, _, _ := strings.Cut(f.Path, "/")
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// prune deletes every run folder of out except the published one and the keep-1 newest
// published before it (those have a manifest), and local temporary files directly under
// out (a pointer switch a kill interrupted).
func prune(ctx context.Context, out string, keep int) error {
	if keep < 1 {
		keep = 2
	}
	cur, err := Current(ctx, out)
	if err != nil {
		return err
	}
	ids, err := runFolders(ctx, out)
	if err != nil {
		return fmt.Errorf("list runs under %s: %w", out, err)
	}
	kept := 0
	for i := len(ids) - 1; i >= 0; i-- {
		id := ids[i]
		dir := fileio.Join(out, RunsDir, id)
		if cur != nil && id == cur.RunID {
			continue
		}
		if cur != nil && kept < keep-1 && id < cur.RunID {
			ok, err := fileio.Lookup(ctx, fileio.Join(dir, ManifestFile))
			if err != nil {
				return err
			}
			if ok {
				kept++
				continue
			}
		}
		if err := fileio.RemoveAll(ctx, dir); err != nil {
			return fmt.Errorf("remove the run folder %s: %w", dir, err)
		}
	}
	if fileio.IsLocal(out) {
		ents, err := os.ReadDir(out)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range ents {
			if fileio.IsTemp(e.Name()) {
				if err := os.Remove(filepath.Join(out, e.Name())); err != nil && !os.IsNotExist(err) {
					return err
				}
			}
		}
	}
	return nil
}
