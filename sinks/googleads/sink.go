package googleads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	datamanager "google.golang.org/api/datamanager/v1"

	"github.com/audiencesync/audiencesync/transforms/audience"
)

// Destination is one Customer Match user list, bound to a Client.
type Destination struct {
	c *Client
	t Target
}

var _ audience.Destination = (*Destination)(nil)

// NewDestination binds target t (validated here) to client c.
func NewDestination(c *Client, t Target) (*Destination, error) {
	if err := t.Validate("google target"); err != nil {
		return nil, err
	}
	t.OperatingAccountID = customerID(t.OperatingAccountID)
	t.LoginAccountID = customerID(t.LoginAccountID)
	if t.LoginAccountID == "" {
		t.LoginAccountID = customerID(c.cfg.LoginAccountID)
	}
	return &Destination{c: c, t: t}, nil
}

// Platform returns "google".
func (d *Destination) Platform() string { return Platform }

type op string

const (
	opIngest op = "ingest"
	opRemove op = "remove"
)

type step struct {
	op      op
	from    string
	members []audience.Member
}

// planFor decides the calls. Both modes ingest first and remove afterwards, so the list is
// never emptier than it should be: replace ingests today's whole audience (re-ingesting a
// present member changes nothing) and then removes the members that left. The Data Manager API
// cannot list members, so "the members that left" is the diff's Remove. Identifiers still used
// by today's members are kept out of the removal.
func (d *Destination) planFor(req audience.SyncRequest) (steps []step, skipped int64) {
	in, from := req.Add, "Add"
	noState := req.RemoteID == "" || req.RemoteID != d.t.UserListID
	if req.Mode == audience.ModeReplace || (noState && len(req.All) > 0) {
		// Replace, or no state for this list yet: bring the list up to the whole audience.
		in, from = req.All, "All"
	}
	// false: Google is sent e-mail and phone only, so ExternID neither matches nor keeps a member.
	for _, s := range []step{{opIngest, from, in}, {opRemove, "Remove", audience.StripKept(req.Remove, false, req.Add, req.All)}} {
		n := countRows(s.members)
		skipped += int64(len(s.members) - n)
		if n > 0 {
			steps = append(steps, s)
		}
	}
	return steps, skipped
}

func (d *Destination) destinations() []*datamanager.Destination {
	dst := &datamanager.Destination{
		OperatingAccount:     &datamanager.ProductAccount{AccountType: "GOOGLE_ADS", AccountId: d.t.OperatingAccountID},
		ProductDestinationId: d.t.UserListID,
	}
	if d.t.LoginAccountID != "" {
		dst.LoginAccount = &datamanager.ProductAccount{AccountType: "GOOGLE_ADS", AccountId: d.t.LoginAccountID}
	}
	return []*datamanager.Destination{dst}
}

// batch converts the next members (from index from, skipping those without e-mail or phone)
// into at most BatchSize audience members; it returns them and the index after the last used.
func (d *Destination) batch(ms []audience.Member, from int) ([]*datamanager.AudienceMember, int) {
	out := make([]*datamanager.AudienceMember, 0, min(d.c.cfg.BatchSize, len(ms)-from))
	i := from
	for ; i < len(ms) && len(out) < d.c.cfg.BatchSize; i++ {
		m := &ms[i]
		if m.Email == "" && m.Phone == "" {
			continue
		}
		ids := make([]*datamanager.UserIdentifier, 0, 2)
		if m.Email != "" {
			ids = append(ids, &datamanager.UserIdentifier{EmailAddress: m.Email})
		}
		if m.Phone != "" {
			ids = append(ids, &datamanager.UserIdentifier{PhoneNumber: m.Phone})
		}
		out = append(out, &datamanager.AudienceMember{UserData: &datamanager.UserData{UserIdentifiers: ids}})
	}
	return out, i
}

// emitFunc sends or writes one request; in or rm is set.
type emitFunc func(ctx context.Context, s step, seq, of int, in *datamanager.IngestAudienceMembersRequest, rm *datamanager.RemoveAudienceMembersRequest, rows int) error

// requests calls emit with every request of the plan. Steps run one after the other (all
// ingests finish before the first removal); within a step up to parallel requests are in
// flight, because building and encoding a 10,000-member request with the generated client
// costs tens of milliseconds that would otherwise add to every round trip, and the rate
// limit, not our own latency, should bound a large upload. The first error stops the step.
func (d *Destination) requests(ctx context.Context, steps []step, parallel int, emit emitFunc) error {
	for _, s := range steps {
		starts := d.batchStarts(s.members)
		n := len(starts)
		send := func(ctx context.Context, seq int) error {
			ms, _ := d.batch(s.members, starts[seq-1])
			if s.op == opIngest {
				return emit(ctx, s, seq, n, &datamanager.IngestAudienceMembersRequest{
					Destinations:    d.destinations(),
					AudienceMembers: ms,
					Consent:         &datamanager.Consent{AdUserData: "CONSENT_GRANTED", AdPersonalization: "CONSENT_GRANTED"},
					Encoding:        "HEX",
					TermsOfService:  &datamanager.TermsOfService{CustomerMatchTermsOfServiceStatus: "ACCEPTED"},
					ValidateOnly:    d.c.cfg.ValidateOnly,
				}, nil, len(ms))
			}
			return emit(ctx, s, seq, n, nil, &datamanager.RemoveAudienceMembersRequest{
				Destinations:    d.destinations(),
				AudienceMembers: ms,
				Encoding:        "HEX",
				ValidateOnly:    d.c.cfg.ValidateOnly,
			}, len(ms))
		}
		if parallel <= 1 || n == 1 {
			for seq := 1; seq <= n; seq++ {
				if err := send(ctx, seq); err != nil {
					return err
				}
			}
			continue
		}
		if err := runParallel(ctx, n, parallel, send); err != nil {
			return err
		}
	}
	return nil
}

// runParallel calls f for seq 1..n with at most parallel calls at a time, handing out seqs in
// order, and returns the first real error (not the cancellations it caused in siblings).
func runParallel(ctx context.Context, n, parallel int, f func(ctx context.Context, seq int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := 0; w < min(parallel, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range jobs {
				if err := f(ctx, seq); err != nil {
					mu.Lock()
					if firstErr == nil || (errors.Is(firstErr, context.Canceled) && !errors.Is(err, context.Canceled)) {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for seq := 1; seq <= n; seq++ {
		select {
		case jobs <- seq:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// batchStarts returns the index in ms of the first member of each request.
func (d *Destination) batchStarts(ms []audience.Member) []int {
	var starts []int
	rows := 0
	for i := range ms {
		if ms[i].Email == "" && ms[i].Phone == "" {
			continue
		}
		if rows%d.c.cfg.BatchSize == 0 {
			starts = append(starts, i)
		}
		rows++
	}
	return starts
}

// Sync ingests and removes the members of req in requests of at most BatchSize members. With
// validate_only every request is only checked by Google and the list is unchanged. Nothing is
// sent when a member carries a malformed hash.
func (d *Destination) Sync(ctx context.Context, req audience.SyncRequest) (audience.Result, error) {
	start := time.Now()
	res := audience.Result{RemoteID: d.t.UserListID, Extra: map[string]int64{}, RejectReasons: map[string]int64{}}
	defer func() { res.Duration = time.Since(start) }()
	if err := audience.CheckHashes(Platform, req); err != nil {
		return res, err
	}
	steps, skipped := d.planFor(req)
	if skipped > 0 {
		res.Rejected += skipped
		res.RejectReasons["no_identifier"] = skipped
	}
	var mu sync.Mutex
	err := d.requests(ctx, steps, d.c.cfg.ParallelRequests, func(ctx context.Context, s step, seq, of int, in *datamanager.IngestAudienceMembersRequest, rm *datamanager.RemoveAudienceMembersRequest, rows int) error {
		var err error
		if in != nil {
			_, err = d.c.Ingest(ctx, in)
		} else {
			_, err = d.c.Remove(ctx, rm)
		}
		mu.Lock()
		defer mu.Unlock()
		res.Requests++
		if err != nil {
			return fmt.Errorf("google: audience %q (user list %s of %s): %s of %d members from %s, request %d of %d: %w",
				req.Audience, d.t.UserListID, d.t.OperatingAccountID, s.op, countRows(s.members), s.from, seq, of, err)
		}
		res.Sent += int64(rows)
		res.Extra["members_"+string(s.op)] += int64(rows)
		if d.c.cfg.ValidateOnly {
			res.Extra["validated"] += int64(rows)
		} else {
			res.Accepted += int64(rows)
		}
		return nil
	})
	switch {
	case err != nil:
		res.Status = "failed"
		return res, err
	case d.c.cfg.ValidateOnly:
		res.Status = "validated"
	case len(steps) == 0:
		res.Status = "unchanged"
	default:
		// The Data Manager API accepts asynchronously; matching happens within hours.
		res.Status = "accepted"
	}
	return res, nil
}

// WritePayloads writes under dir, one file a request, exactly the JSON bodies Sync would send
// (google-NNNN-ingest.json, google-NNNN-remove.json) and sends nothing.
func (d *Destination) WritePayloads(req audience.SyncRequest, dir string) (audience.Result, error) {
	start := time.Now()
	res := audience.Result{RemoteID: d.t.UserListID, Extra: map[string]int64{}, RejectReasons: map[string]int64{}}
	defer func() { res.Duration = time.Since(start) }()
	if err := audience.CheckHashes(Platform, req); err != nil {
		return res, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("google: dry run of audience %q: %w", req.Audience, err)
	}
	steps, skipped := d.planFor(req)
	if skipped > 0 {
		res.Rejected += skipped
		res.RejectReasons["no_identifier"] = skipped
	}
	err := d.requests(context.Background(), steps, 1, func(_ context.Context, s step, seq, of int, in *datamanager.IngestAudienceMembersRequest, rm *datamanager.RemoveAudienceMembersRequest, rows int) error {
		var body []byte
		var err error
		if in != nil {
			body, err = json.Marshal(in)
		} else {
			body, err = json.Marshal(rm)
		}
		if err != nil {
			return err
		}
		res.Requests++
		path := filepath.Join(dir, fmt.Sprintf("google-%04d-%s.json", res.Requests, s.op))
		if err := os.WriteFile(path, append(body, '\n'), 0o644); err != nil {
			return fmt.Errorf("google: dry run of audience %q: %w", req.Audience, err)
		}
		res.Sent += int64(rows)
		res.Extra["members_"+string(s.op)] += int64(rows)
		return nil
	})
	res.Status = "dry_run"
	return res, err
}

func countRows(ms []audience.Member) int {
	n := 0
	for i := range ms {
		if ms[i].Email != "" || ms[i].Phone != "" {
			n++
		}
	}
	return n
}

// IsSHA256Hex reports whether s looks like a SHA-256 digest in lowercase hex; it is
// audience.IsSHA256Hex, kept here for callers of this package.
func IsSHA256Hex(s string) bool { return audience.IsSHA256Hex(s) }
