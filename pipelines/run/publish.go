package run

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// Manifest names one published run and every file of it.
type Manifest struct {
	RunID       string        `json:"run_id"`
	RunDate     string        `json:"run_date"`
	StartedAt   time.Time     `json:"started_at"`
	PublishedAt time.Time     `json:"published_at"`
	Dir         string        `json:"dir"`   // the run folder, relative to the output: runs/<id>
	Files       []fileio.File `json:"files"` // relative to Dir; the manifest itself not included
}

// Publish makes the run the published one: it writes the run folder's manifest (every
// file and its size), switches the output's pointer to the run (the commit point) and
// moves the staged state into place. lock is checked first: a run that lost its lock
// must not publish.
func Publish(ctx context.Context, r *Run, lock *Lock, now time.Time) (*Manifest, error) {
	if lock != nil {
		if err := lock.Err(); err != nil {
			return nil, err
		}
	}
	files, err := fileio.ListTree(ctx, r.Dir)
	if err != nil {
		return nil, fmt.Errorf("publish: list %s: %w", r.Dir, err)
	}
	m := &Manifest{RunID: r.ID, RunDate: r.RunDate.String(), StartedAt: r.StartedAt, PublishedAt: now.UTC(), Dir: RunsDir + "/" + r.ID}
	for _, f := range files {
		if f.Path == ManifestFile {
			continue
		}
		if fileio.IsTemp(f.Path) {
			// A write that failed and was retried left it; it is no output of the run.
			if err := fileio.RemoveGlob(ctx, fileio.Join(r.Dir, f.Path)); err != nil {
				return nil, err
			}
			continue
		}
		m.Files = append(m.Files, f)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if err := fileio.WriteFile(ctx, fileio.Join(r.Dir, ManifestFile), b); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	fileio.Checkpoint("publish.switch", r.Out)
	if err := switchCurrent(ctx, r.Out, m, b); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	fileio.Checkpoint("publish.switched", r.Out)
	if r.StateStage != "" {
		if err := commitState(ctx, r.State, r.StateStage); err != nil {
			return m, err
		}
	}
	// The run before stays for readers still reading it; older ones go.
	if err := prune(ctx, r.Out, r.keep); err != nil {
		return m, err
	}
	return m, nil
}

// switchCurrent points the output at the run: locally a new symbolic link renamed over
// `current`, on object stores current.json replaced by the manifest.
func switchCurrent(ctx context.Context, out string, m *Manifest, manifest []byte) error {
	if !fileio.IsLocal(out) {
		return fileio.WriteFile(ctx, fileio.Join(out, CurrentFile), manifest)
	}
	tmp := filepath.Join(out, "."+CurrentLink+".tmp-"+m.RunID)
	os.Remove(tmp)
	if err := os.Symlink(filepath.FromSlash(m.Dir), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(out, CurrentLink)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w (is %s a folder? the published run is a symbolic link there)", err, filepath.Join(out, CurrentLink))
	}
	// Make the rename durable before state follows it.
	if d, err := os.Open(out); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Current returns the published run of an output, nil when none was published yet.
// Locally it follows the `current` link to the run folder's manifest; on object stores
// it reads current.json.
func Current(ctx context.Context, out string) (*Manifest, error) {
	var b []byte
	if fileio.IsLocal(out) {
		target, err := os.Readlink(filepath.Join(out, CurrentLink))
		if os.IsNotExist(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("published run: %w", err)
		}
		p := filepath.Join(out, target, ManifestFile)
		if b, err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("published run: %w", err)
		}
	} else {
		var err error
		b, err = fileio.ReadFile(ctx, fileio.Join(out, CurrentFile))
		if fileio.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("published run: %w", err)
		}
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.RunID == "" {
		return nil, fmt.Errorf("published run of %s: not a manifest (%v)", out, err)
	}
	return &m, nil
}

// Path is the path of a published file (a Manifest.Files entry) under the output.
func (m *Manifest) Path(out, file string) string {
	return fileio.Join(out, append(strings.Split(m.Dir, "/"), strings.Split(file, "/")...)...)
}
