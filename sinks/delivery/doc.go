// Package delivery is the audience delivery of a night: the registry of ad platforms, and the
// Beam transforms that bring every audience on every platform to today's audience_members.
//
// The registry (registry.go) is the one place the platforms are listed: each entry ties a
// platform's config block in `sinks:` (Sinks), its block in an audience's `destinations:`
// (Target), its block in an audience's `lookalikes:` (or why it has none: VK, Google) and
// its account (sinks/<platform>.NewAccount) together. NewPlan decodes and
// validates every audience × platform of the config into a Plan (plain data, carried by
// DoFns); Accounts builds each platform's account once per worker and makes the
// audience.Destination of a target.
//
// The delivery phase runs after the compute pipeline, as a pipeline of its own (Run):
//
//	audience_members (Parquet parts)
//	  │ ReadMembers            KV<target key, audience.Batch>
//	  ▼
//	Deliver                    per target: audience.Sync (plan against the confirmed state,
//	  │                        Destination.Apply, record what the platform confirmed), then
//	  │                        for a target with lookalikes.<platform>: audience.SyncLookalike
//	  ▼                        PCollection<tables.SyncLog> (one row per target and lookalike)
//	WriteSyncLog               sync_log/part-00000.parquet
//
// Run with RunOptions.Members set to an earlier run's folder delivers that run again
// (--deliver_only): nothing is recomputed and the run date comes from the table.
package delivery
