// Package audience decides what each ad-platform audience should hold and brings the platform
// there, trusting only what the platform confirmed.
//
// An audience on a platform is a set of identifiers (type, hash): the platforms match users
// on every identifier separately, so two customers who share an e-mail are one identifier,
// and that identifier stays as long as one member of today carries it.
//
// Compute side (in the nightly pipeline, per customer bucket):
//
//	Config (name, source segments minus exclusions, identifiers, mode, destinations)
//	  │  Members.Add(customer's hashed contacts, segments)   per customer, per Target
//	  ▼
//	KV<target key, Batch> ─ WriteMembers ─▶ audience_members table (one part per target:
//	                                         run_date, audience, platform, identifier_type,
//	                                         identifier_hash, value)
//
// A value-based target (Target.Value, a Meta seed for a value-based lookalike) gives each
// identifier the value of its customers in a customer_metrics column (AddCustomer), summed
// over the customers sharing it and rounded to cents (MergeIdentifiers); the value joins the
// identifier's state, its request ids and the plan: a changed value is an addition with the
// new value.
//
// Delivery side (sinks/delivery, its own pipeline phase, reading audience_members):
//
//	Sync(ctx, Destination, StateStore, Job{Target, RunDate, Identifiers}, Options)
//	  1. StateStore.Load: the last state: identifiers Confirmed present, and Pending ones
//	     (sent but never confirmed: their presence is unknown)
//	  2. plan: Add = today \ Confirmed; Remove = (Confirmed ∪ Pending) \ today
//	  3. guards (unless Options.Force): a later run date already synced, or more than
//	     max_remove_share (default 0.5) of the audience removed → "guarded", nothing sent
//	  4. nothing to do → "unchanged"; no remote audience and nobody in it → "empty"
//	  5. Destination.Apply (or, in a dry run, WritePayloads into
//	     <out>/dry_run/<platform>/<audience>/ plus diff.json with the sizes)
//	  6. the next state is the old one with exactly what Result.Applied says the platform
//	     confirmed; anything sent but not confirmed becomes Pending; validate-only answers
//	     change nothing
//	  ▼
//	tables.SyncLog row (status: ok, unchanged, empty, dry_run, validated, processing,
//	partial, below_minimum, guarded, failed)
//
//	SyncLookalike(ctx, Destination, StateStore, Target, run date, Options), for a target
//	  with Lookalike set, after its Sync: the source's remote id and size from its state;
//	  Lookalikes.Lookalike finds the platform's lookalike of it (by name and source) or
//	  creates it once the source is ready (a dry run writes the creation call under
//	  <out>/dry_run/lookalikes/<platform>/<audience>/)
//	  ▼
//	tables.SyncLog row of Kind lookalike (ok, unchanged, waiting, below_minimum, dry_run,
//	failed)
//
// Identity comes from content: Request.RequestID hashes the audience, platform, remote id,
// the state the plan starts from, the operation and the exact identifiers. A retried bundle
// or a rerun of the same plan sends the same ids (Meta treats a known session_id as a
// replay), a different change or the same change on another state sends new ones.
//
// Convergence: a kill anywhere leaves the last saved state, which never claims more than the
// platform confirmed; the next run plans from it and re-sends what is not confirmed. Sinks
// never retry a creation after a timeout without listing first, and find an audience of the
// same name (or an unconfirmed upload recorded in the Journal) before creating one.
//
// State lives in one Parquet file per audience and platform,
// <state_dir>/audiences/<audience>/<platform>.parquet (columns type, hash, pending, value:
// hashes only; the remote id, run date and value column in the key/value metadata), replaced
// by one atomic rename; version 1 files (one row per member) are read as confirmed
// identifiers, version 2 files (no values) as a plain audience's. A lookalike has no state:
// it is found on the platform by name and source every run. The state dir may
// be any path transforms/fileio supports (gs://).
package audience
