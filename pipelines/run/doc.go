// Package run makes a nightly run one unit: one run at a time per state folder and output
// (Lock), every output written under a run-scoped folder (Start), and published as a whole
// at the end (Publish), so that a reader — a person, a BI tool, the BigQuery load, the
// report — only ever sees the outputs of one complete run.
//
// # Layout
//
//	<output>/
//	  current -> runs/<run id>          local disks: a symbolic link, replaced by rename(2)
//	  current.json                      object stores (gs://): the published manifest
//	  runs/<run id>/                    one run's outputs: tables, dead_letters/, dry_run/,
//	    _MANIFEST.json                  run_summary.json, report.html; the manifest last
//	  .audiencesync.lock                the run lock of the output
//	<state>/
//	  segment_membership/ audiences/ report_history.json
//	  .staging/<run id>/                state written by a run, moved into place at publish
//	  .audiencesync.lock                the run lock of the state folder
//
// A run id is the start time and a random suffix, 20260601T021500.123Z-1a2b3c4d: ids sort by
// start time, and every output file carries it in its path.
//
// # Publishing
//
// Publish lists the run folder and writes _MANIFEST.json (run id, run date, every file and
// its size) into it, then switches the pointer: locally `current` is a new symbolic link
// renamed over the old one (atomic: a reader sees the old run or the new one); on object
// stores current.json, one object, is replaced (atomic too). The pointer is the only commit
// point. After it, the state the run staged is moved into place; a run killed between the
// two finishes the move at the next start (a staging folder whose run is the published one
// is rolled forward; any other is deleted). Segment history and report history are
// staged; an audience's state is not — it records what a platform confirmed and advances
// with each confirmed sync.
//
// A run that fails or is killed is never published: `current` keeps pointing at the
// previous complete run. The next start deletes every run folder but the published one and
// the one published before it (kept for readers still reading it), and every temporary
// file a killed write left.
//
// # Lock
//
// Lock takes <dir>/.audiencesync.lock in the state folder and in the output. Locally it is
// an flock(2) on that file, which also holds the holder (run id, host, pid, start time):
// the kernel releases it when the process ends, however it ends, so a local lock is never
// stale. On object stores the lock is an object created only if it does not exist
// (ifGenerationMatch=0), refreshed by its holder every StaleAfter/5 and deleted at the
// end; one not refreshed for StaleAfter is stale, and is broken only when asked
// (LockOptions.BreakStale, the --break_lock flag).
package run
