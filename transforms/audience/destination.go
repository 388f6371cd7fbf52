package audience

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// Mode says how an audience is kept in sync.
type Mode string

const (
	// ModeIncremental sends only the identifiers added and removed since the last
	// confirmed sync.
	ModeIncremental Mode = "incremental"
	// ModeReplace replaces the whole remote audience with today's identifiers where the
	// platform can (Yandex, Meta); elsewhere it sends the same diff as incremental.
	ModeReplace Mode = "replace"
)

// Op is what one step does to the remote audience.
type Op string

const (
	OpAdd     Op = "add"     // add the identifiers
	OpRemove  Op = "remove"  // remove the identifiers
	OpReplace Op = "replace" // make the audience exactly the identifiers
)

func (o Op) String() string { return string(o) }

// Outcome is what the platform answered for the identifiers of one step (or one batch of it).
type Outcome uint8

const (
	// NotSent: the platform never received them (refused with a 4xx, or not reached).
	NotSent Outcome = iota
	// Confirmed: the platform confirmed it applied them.
	Confirmed
	// Unconfirmed: sent, but not confirmed: a timeout, an error after sending, "still
	// processing", or a batch the platform accepted only in part. Whether they are on the
	// platform is unknown; the next run sends them again.
	Unconfirmed
	// Validated: checked by the platform in validate-only mode; nothing was applied.
	Validated
)

func (o Outcome) String() string {
	switch o {
	case Confirmed:
		return "confirmed"
	case Unconfirmed:
		return "unconfirmed"
	case Validated:
		return "validated"
	}
	return "not_sent"
}

// Applied is the outcome of one step, or of one batch of a step, as the sink saw it.
type Applied struct {
	Op      Op
	IDs     []Identifier // normalised (a slice of the request's lists)
	Outcome Outcome
}

// Request is the change of one audience on one platform, planned by Sync against the last
// confirmed state. The sink applies it and reports, step by step, what the platform confirmed.
type Request struct {
	Audience string    // audience name from the config
	Platform string    // yandex, vk, meta, google
	RunDate  value.Day // the run's run date
	Mode     Mode
	// Value is the value column of a value-based audience (Target.Value): every identifier
	// sent carries its Value. "" for every other audience.
	Value string
	// RemoteID is the platform's id of the audience from state; "" when there is no
	// confirmed remote audience yet (Create is then true).
	RemoteID string
	// Create: no remote audience on record. The sink looks for one of this name (a crashed
	// run may have made it) before creating one, and then makes it hold exactly All.
	Create bool
	// Add and Remove are the identifier-level diff against the confirmed state: Add holds
	// today's identifiers not confirmed present, Remove the identifiers confirmed or possibly
	// present that no member of today carries. Disjoint; both normalised.
	Add, Remove []Identifier
	// All is today's audience: every identifier of today's members, normalised.
	All []Identifier
	// Journal keeps a note across runs for the sink (see Journal); never nil from Sync.
	Journal Journal

	base string // digest of the state the plan starts from
}

// RequestID is the content-derived id of one logical upload: the same audience, platform,
// remote audience, starting state, operation, extra parameters (e.g. a batch size) and exact
// identifiers (and, in a value-based audience, their values) give the same id, any
// difference a new one. A retried bundle or a rerun of the same plan therefore sends the
// same id (the platform treats it as a replay), while a different change, or the same change
// on top of a different confirmed state (added, removed, added again), is a new request. 32
// lowercase hex digits.
func (r *Request) RequestID(op Op, ids []Identifier, extra ...string) string {
	h := sha256.New()
	for _, s := range []string{"audiencesync-request-v2", r.Platform, r.Audience, r.RemoteID, r.base, string(op)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, s := range extra {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if r.Value != "" {
		// A value-based upload is other content than the same identifiers without values
		// or with other ones (the ids of audiences without values stay what they were).
		h.Write([]byte("value=" + r.Value + "\x00"))
	}
	h.Write([]byte(strconv.Itoa(len(ids))))
	var num []byte
	for _, id := range ids {
		h.Write([]byte{0})
		num = hashIdentifier(h, id, r.Value != "", num)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Result is what a sink reports for a Request.
type Result struct {
	RemoteID string // the platform's id of the audience (set on creation or when found)
	Created  bool   // the sink created the remote audience in this call
	// Applied lists the steps (or batches) in the order they were sent and what the platform
	// answered for each: the only input to the next state.
	Applied []Applied
	// BelowMinimum: the audience is too small for the platform (VK: 2,000 rows for a new
	// list; Yandex: 100, or a segment Yandex marked few_data). Not a failure: a new audience
	// is created on a later run once it is large enough.
	BelowMinimum  bool
	Sent          int64 // identifier rows sent
	Accepted      int64
	Rejected      int64
	RejectReasons map[string]int64
	Status        string           // the platform's own status, e.g. "processed"; informative
	Requests      int64            // HTTP requests made
	Extra         map[string]int64 // platform counters, e.g. num_received, num_invalid_entries
}

// Add records the outcome of a step or batch.
func (r *Result) Add(op Op, ids []Identifier, o Outcome) {
	if len(ids) > 0 {
		r.Applied = append(r.Applied, Applied{Op: op, IDs: ids, Outcome: o})
	}
}

// Reject counts identifiers the platform refused, by reason.
func (r *Result) Reject(reason string, n int64) {
	if n <= 0 {
		return
	}
	r.Rejected += n
	if r.RejectReasons == nil {
		r.RejectReasons = map[string]int64{}
	}
	r.RejectReasons[reason] += n
}

// Destination is one platform's audience API bound to one audience's target there (a Yandex
// segment, a VK users list, a Meta custom audience, a Google user list). Each
// sinks/<platform> package provides one (`var _ audience.Destination = (*Destination)(nil)`);
// sinks/delivery builds them from the config.
type Destination interface {
	// Apply sends req and reports in Result.Applied what the platform confirmed, step by
	// step. On an error the Result still lists what was confirmed before it: Sync records
	// exactly that, so the next run sends only the rest. Apply never retries a creation
	// blindly: after a timeout it lists what exists first.
	Apply(ctx context.Context, req Request) (Result, error)
	// WritePayloads writes under dir (local or gs://) exactly the request bodies that Apply
	// would send for req (hashes only) and sends nothing. Used by dry runs.
	WritePayloads(ctx context.Context, req Request, dir string) (Result, error)
}

// Journal is a small note per audience and platform that outlives a run, for a sink that must
// find again what an interrupted run left on the platform (a Yandex upload that was never
// confirmed). The sink writes it before the call and clears it once the call is settled.
type Journal interface {
	Read(ctx context.Context) ([]byte, error) // nil, nil when there is none
	Write(ctx context.Context, note []byte) error
	Clear(ctx context.Context) error
}
