package audience

import (
	"context"
	"time"
)

// Member is one audience member as a platform sees it: identifiers already normalised and
// hashed with that platform's rules. Nothing raw is ever in a Member.
type Member struct {
	// Key identifies the member for diffing: a hash over the identifiers below, so that a
	// changed e-mail shows as one removal plus one addition.
	Key      string
	Email    string // hex hash of the normalised e-mail, "" when absent
	Phone    string // hex hash of the normalised phone, "" when absent
	ExternID string // optional extern id (sent unhashed where the platform allows it)
}

// Mode says how an audience is kept in sync.
type Mode string

const (
	// ModeIncremental sends only the members added and removed since the last confirmed sync.
	ModeIncremental Mode = "incremental"
	// ModeReplace replaces the whole remote audience with today's members.
	ModeReplace Mode = "replace"
)

// SyncRequest is one audience's change for one platform.
type SyncRequest struct {
	Audience string // audience name from the config
	RunDate  string // YYYY-MM-DD, the run's --as_of
	// BatchID is deterministic for (run date, audience, platform): a retried bundle or a
	// rerun of the same night sends the same id, so platforms and fakes can de-duplicate.
	BatchID  string
	RemoteID string // the platform's id of the audience from state; "" before the first sync
	Mode     Mode
	Add      []Member // incremental: members to add
	Remove   []Member // incremental: members to remove
	All      []Member // today's whole audience (replace mode, and creation)
	// Creation (RemoteID == ""): Add and All both hold every member. A sink first looks
	// for an audience of this name that an earlier run created but could not record (a
	// crash between upload and state write) and, if one exists, sets its members to All
	// instead of creating a second audience; it returns the id in Result.RemoteID.
	// Add, Remove and All are sorted by Key and hold no repeated Key.
}

// Result is what a platform confirmed.
type Result struct {
	RemoteID      string // id of the audience on the platform (set on creation)
	Created       bool
	Sent          int64 // identifier rows sent
	Accepted      int64
	Rejected      int64
	RejectReasons map[string]int64
	Status        string // platform status, e.g. "processed"
	Requests      int64
	Extra         map[string]int64 // platform counters, e.g. num_received, num_invalid_entries
	Duration      time.Duration
}

// Destination is one platform's audience API bound to one audience's target there (Yandex
// segment, VK list, Meta custom audience, Google user list). Each sinks/<platform> package
// provides one, checked at compile time with `var _ audience.Destination = (*X)(nil)`.
type Destination interface {
	// Platform is the platform's name: yandex, vk, meta or google.
	Platform() string
	// Sync applies req on the platform and returns only after the platform confirmed it.
	// An error means the remote state is unknown for the failed part; the caller keeps the
	// previous state so that the next run sends it again.
	Sync(ctx context.Context, req SyncRequest) (Result, error)
	// WritePayloads writes under dir exactly the request bodies that Sync would send for req
	// (hashes only) and sends nothing. Used by dry runs.
	WritePayloads(req SyncRequest, dir string) (Result, error)
}
