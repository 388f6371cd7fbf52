package audience_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/audiencesync/audiencesync/transforms/audience"
)

// fakeDest is an in-memory platform. It records every request exactly as received, checks
// the request's shape, and follows the contract a real sink keeps: with no RemoteID it looks
// the audience up by name (so a crashed earlier creation is reused, not duplicated) and
// sets its members to req.All; otherwise it applies Add/Remove, or All in replace mode.
type fakeDest struct {
	platform string

	mu        sync.Mutex
	audiences map[string]*remoteAudience // by remote id
	byName    map[string]string
	nextID    int
	created   int
	calls     []audience.SyncRequest
	dryRuns   []audience.SyncRequest
	bad       []string // contract violations seen

	// failure injection: each Sync fails with probability failRate, half before applying,
	// half after (the platform applied it but the answer was lost).
	failRate float64
	rng      *rand.Rand
	failures int
}

type remoteAudience struct {
	name    string
	members map[string]audience.Member
}

func newFake(platform string) *fakeDest {
	return &fakeDest{platform: platform, audiences: map[string]*remoteAudience{}, byName: map[string]string{}}
}

var _ audience.Destination = (*fakeDest)(nil)

var errTransient = errors.New("fake: 503 backend_error")

func (f *fakeDest) Platform() string { return f.platform }

func copyReq(r audience.SyncRequest) audience.SyncRequest {
	r.Add, r.Remove, r.All = slices.Clone(r.Add), slices.Clone(r.Remove), slices.Clone(r.All)
	return r
}

func (f *fakeDest) check(req audience.SyncRequest) {
	for name, list := range map[string][]audience.Member{"add": req.Add, "remove": req.Remove, "all": req.All} {
		seen := map[string]bool{}
		for _, m := range list {
			if seen[m.Key] {
				f.bad = append(f.bad, fmt.Sprintf("duplicate key in %s", name))
			}
			seen[m.Key] = true
		}
		if !slices.IsSortedFunc(list, func(a, b audience.Member) int { return strings.Compare(a.Key, b.Key) }) {
			f.bad = append(f.bad, name+" not sorted")
		}
	}
	rm := map[string]bool{}
	for _, m := range req.Remove {
		rm[m.Key] = true
	}
	for _, m := range req.Add {
		if rm[m.Key] {
			f.bad = append(f.bad, "key both added and removed")
		}
	}
	if req.BatchID != audience.BatchID(req.RunDate, req.Audience, f.platform) {
		f.bad = append(f.bad, "unexpected batch id")
	}
}

func (f *fakeDest) fail() (before, after bool) {
	if f.rng == nil || f.rng.Float64() >= f.failRate {
		return false, false
	}
	f.failures++
	if f.rng.IntN(2) == 0 {
		return true, false
	}
	return false, true
}

func (f *fakeDest) Sync(ctx context.Context, req audience.SyncRequest) (audience.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, copyReq(req))
	f.check(req)
	before, after := f.fail()
	if before {
		return audience.Result{Requests: 1}, errTransient
	}
	var res audience.Result
	id := req.RemoteID
	var aud *remoteAudience
	if id == "" {
		if existing, ok := f.byName[req.Audience]; ok {
			id = existing
		} else {
			f.nextID++
			f.created++
			id = fmt.Sprintf("seg-%d", f.nextID)
			f.byName[req.Audience] = id
			f.audiences[id] = &remoteAudience{name: req.Audience, members: map[string]audience.Member{}}
			res.Created = true
		}
		aud = f.audiences[id]
		aud.members = map[string]audience.Member{}
		for _, m := range req.All {
			aud.members[m.Key] = m
		}
		res.Sent = int64(len(req.All))
	} else {
		aud = f.audiences[id]
		if aud == nil {
			return audience.Result{}, fmt.Errorf("fake: unknown audience id %s", id)
		}
		if req.Mode == audience.ModeReplace {
			aud.members = map[string]audience.Member{}
			for _, m := range req.All {
				aud.members[m.Key] = m
			}
			res.Sent = int64(len(req.All))
		} else {
			for _, m := range req.Add {
				aud.members[m.Key] = m
			}
			for _, m := range req.Remove {
				delete(aud.members, m.Key)
			}
			res.Sent = int64(len(req.Add) + len(req.Remove))
		}
	}
	if after {
		return audience.Result{Requests: 1}, errTransient
	}
	res.RemoteID, res.Accepted, res.Status, res.Requests = id, res.Sent, "processed", 1
	return res, nil
}

// WritePayloads writes one hash per line, as a simple sink would.
func (f *fakeDest) WritePayloads(req audience.SyncRequest, dir string) (audience.Result, error) {
	f.mu.Lock()
	f.dryRuns = append(f.dryRuns, copyReq(req))
	f.mu.Unlock()
	var n int64
	for name, list := range map[string][]audience.Member{"add.csv": req.Add, "remove.csv": req.Remove, "all.csv": req.All} {
		if len(list) == 0 {
			continue
		}
		var b strings.Builder
		b.WriteString("email,phone\n")
		for _, m := range list {
			b.WriteString(m.Email + "," + m.Phone + "\n")
			n++
		}
		if err := audience.WritePayloadFile(dir, name, []byte(b.String())); err != nil {
			return audience.Result{}, err
		}
	}
	return audience.Result{Sent: n}, nil
}

// remoteKeys returns the sorted member keys of the audience with that name.
func (f *fakeDest) remoteKeys(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byName[name]
	if !ok {
		return nil
	}
	var keys []string
	for k := range f.audiences[id].members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
