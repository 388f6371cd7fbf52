// Package audience keeps ad-platform audiences in sync with the shop's segments, in plain Go
// (no Beam: the nightly pipeline wraps it).
//
// Data flow for one audience and one platform:
//
//	Config (name, source segments minus exclusions, identifiers, mode, destinations)
//	  │  (*Config).Compile().Match(customer's segments)   per customer, no allocation
//	  ▼
//	contacts.Hashed.Member(profile, cfg.IDs())            hashes only, Member.Key for diffing
//	  ▼  all of today's members for (audience, platform)
//	Sync(ctx, dest, store, Job, Options)
//	  1. StateStore.Load: the members the platform confirmed last time (sorted by Key)
//	  2. Diff: today vs state → sorted add and remove lists (deterministic)
//	  3. guards (unless Options.Force): more than max_remove_share (default 0.5) of the
//	     previous audience removed in one run, or state from a later run date than this
//	     one → status "guarded", nothing sent, state kept, error wrapping ErrGuarded
//	  4. nothing changed → status "unchanged", nothing sent
//	  5. Destination.Sync (or, in a dry run, Destination.WritePayloads into
//	     <out>/dry_run/<platform>/<audience>/ plus diff.json with the sizes)
//	  6. StateStore.Save only after the platform confirmed (never in a dry run)
//	  ▼
//	tables.SyncLog row for the sync_log table and the run summary
//
// Convergence: state is written only after the platform confirmed, so a failure or a crash
// anywhere before the state write leaves the old state, and the next run computes and sends
// the same diff again. The platforms' add and remove operations are idempotent and the
// request's BatchID is the same for a rerun of the same night, so a resend cannot duplicate
// members. A customer who withdrew consent is simply missing from today's members and is
// therefore removed.
//
// State lives in one Parquet file per audience and platform,
// <state_dir>/<audience>/<platform>.parquet (columns key, email, phone, extern_id: hashes
// only), with the platform's audience id and the run date in the file's key/value metadata,
// so one atomic rename (tmp file, fsync, rename) replaces all of it. The state dir may be a
// local path or any URL scheme that transforms/fileio supports (gs://).
//
// WritePayloadFile and WritePayloadStream are the one atomic way for sinks to write dry-run
// payload files. IsSHA256Hex / IsHexHash, CheckHashes and StripKept are the sinks' shared
// last checks before sending: every identifier a lowercase hex digest (nothing raw leaves), and
// no removal by an identifier that one of today's members still uses.
package audience
