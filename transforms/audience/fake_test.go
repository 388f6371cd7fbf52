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

// fakeDest is an in-memory platform whose audiences are sets of identifiers. It records every
// request, checks its shape, and keeps the contract of a real sink: with Create it looks the
// audience up by name (a crashed earlier creation is reused, not duplicated) and makes it
// hold All; otherwise it applies Add then Remove, or All in replace mode. Knobs make it fail
// before or after applying a step, answer "processing" (applied, not confirmed), or
// validate only.
type fakeDest struct {
	platform string

	mu        sync.Mutex
	audiences map[string]map[[2]string]audience.Identifier // by remote id, then (type, hash)
	byName    map[string]string
	nextID    int
	created   int
	calls     []audience.Request
	steps     []string // "op:requestID" of every step sent
	dryRuns   []audience.Request
	bad       []string // contract violations seen

	failRate   float64 // each step fails with this probability, half before applying, half after
	rng        *rand.Rand
	failures   int
	failStep   int  // when > 0, the failStep-th step of the next Apply fails after applying
	processing bool // every step is applied but answered Unconfirmed
	validate   bool // nothing is applied; every step answers Validated
	tooSmall   int  // a Create with fewer identifiers is below the minimum: nothing sent
}

func newFake(platform string) *fakeDest {
	return &fakeDest{platform: platform, audiences: map[string]map[[2]string]audience.Identifier{}, byName: map[string]string{}}
}

var _ audience.Destination = (*fakeDest)(nil)

var errTransient = errors.New("fake: 503 backend_error")

func copyReq(r audience.Request) audience.Request {
	r.Add, r.Remove, r.All = slices.Clone(r.Add), slices.Clone(r.Remove), slices.Clone(r.All)
	return r
}

func isSet(ids []audience.Identifier) bool {
	return slices.Equal(audience.NormaliseIdentifiers(slices.Clone(ids)), ids)
}

func (f *fakeDest) check(req audience.Request) {
	for name, list := range map[string][]audience.Identifier{"add": req.Add, "remove": req.Remove, "all": req.All} {
		if !isSet(list) {
			f.bad = append(f.bad, name+" is not sorted without repeats")
		}
	}
	all := map[[2]string]audience.Identifier{}
	for _, id := range req.All {
		all[key(id)] = id
	}
	for _, id := range req.Add {
		if all[key(id)] != id {
			f.bad = append(f.bad, "added identifier (or value) not in today's audience")
		}
	}
	for _, id := range req.Remove {
		if _, ok := all[key(id)]; ok {
			f.bad = append(f.bad, "removed identifier that a member of today carries")
		}
	}
	if req.Platform != f.platform || req.Journal == nil {
		f.bad = append(f.bad, "request without platform or journal")
	}
}

func (f *fakeDest) Apply(ctx context.Context, req audience.Request) (audience.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, copyReq(req))
	f.check(req)
	var res audience.Result
	id := req.RemoteID
	type step struct {
		op  audience.Op
		ids []audience.Identifier
	}
	var steps []step
	if req.Create {
		if existing, ok := f.byName[req.Audience]; ok {
			id = existing
		} else if f.validate { // nothing is created in validate-only mode
			res.Add(audience.OpReplace, req.All, audience.Validated)
			return res, nil
		} else {
			if len(req.All) < f.tooSmall {
				res.BelowMinimum = true
				return res, nil
			}
			f.nextID++
			f.created++
			id = fmt.Sprintf("seg-%d", f.nextID)
			f.byName[req.Audience] = id
			f.audiences[id] = map[[2]string]audience.Identifier{}
			res.Created = true
		}
		steps = append(steps, step{audience.OpReplace, req.All})
	} else if f.audiences[id] == nil {
		return res, fmt.Errorf("fake: unknown audience id %s", id)
	} else if req.Mode == audience.ModeReplace {
		steps = append(steps, step{audience.OpReplace, req.All})
	} else {
		steps = append(steps, step{audience.OpAdd, req.Add}, step{audience.OpRemove, req.Remove})
	}
	res.RemoteID = id
	aud := f.audiences[id]
	for i, s := range steps {
		if len(s.ids) == 0 && s.op != audience.OpReplace {
			continue
		}
		f.steps = append(f.steps, string(s.op)+":"+req.RequestID(s.op, s.ids))
		res.Requests++
		before, after := f.fail()
		if f.failStep == i+1 {
			f.failStep, after = 0, true
		}
		if before {
			return res, errTransient
		}
		if f.validate {
			res.Add(s.op, s.ids, audience.Validated)
			continue
		}
		switch s.op {
		case audience.OpReplace:
			clear(aud)
			fallthrough
		case audience.OpAdd:
			for _, x := range s.ids {
				aud[key(x)] = x
			}
		case audience.OpRemove:
			for _, x := range s.ids {
				delete(aud, key(x))
			}
		}
		res.Sent += int64(len(s.ids))
		if after {
			res.Add(s.op, s.ids, audience.Unconfirmed)
			return res, errTransient
		}
		if f.processing {
			res.Add(s.op, s.ids, audience.Unconfirmed)
			continue
		}
		res.Add(s.op, s.ids, audience.Confirmed)
		res.Accepted += int64(len(s.ids))
	}
	return res, nil
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

// WritePayloads writes one "type,hash" line per identifier, as a simple sink would.
func (f *fakeDest) WritePayloads(ctx context.Context, req audience.Request, dir string) (audience.Result, error) {
	f.mu.Lock()
	f.dryRuns = append(f.dryRuns, copyReq(req))
	f.mu.Unlock()
	var res audience.Result
	for name, list := range map[string][]audience.Identifier{"add.csv": req.Add, "remove.csv": req.Remove, "all.csv": req.All} {
		if len(list) == 0 {
			continue
		}
		var b strings.Builder
		for _, id := range list {
			b.WriteString(id.Type + "," + id.Hash + "\n")
			res.Sent++
		}
		if err := audience.WritePayloadFile(ctx, dir, name, []byte(b.String())); err != nil {
			return res, err
		}
	}
	return res, nil
}

// remote returns the sorted identifiers of the audience with that name.
func (f *fakeDest) remote(name string) []audience.Identifier {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byName[name]
	if !ok {
		return nil
	}
	var out []audience.Identifier
	for _, x := range f.audiences[id] {
		out = append(out, x)
	}
	return audience.NormaliseIdentifiers(out)
}

// key is an identifier's identity: the platform holds it once, with its latest value.
func key(id audience.Identifier) [2]string { return [2]string{id.Type, id.Hash} }
