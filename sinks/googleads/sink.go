package googleads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/oauth2"
	datamanager "google.golang.org/api/datamanager/v1"

	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// Account is the Data Manager credentials of one sinks.google config. Build one per process and
// make every audience's Destination from it, so that all audiences share the rate limit. The
// credentials are loaded on the first Apply: dry runs need none.
type Account struct {
	sinkutil.Account[Config, *Client]
	ts oauth2.TokenSource // tests; nil = from the config
}

// NewAccount checks cfg's settings.
func NewAccount(cfg Config, opts ...sinkutil.Option) (*Account, error) {
	return sinkutil.NewAccount[Account]("sinks.google", cfg, opts)
}

// WithTokenSource makes the account authenticate with ts instead of the configured
// credentials (tests, or a caller with its own auth).
func (a *Account) WithTokenSource(ts oauth2.TokenSource) *Account { a.ts = ts; return a }

func (a *Account) api(ctx context.Context) (*Client, error) {
	return a.API(Platform, func() (*Client, error) {
		opts := []Option{WithHTTPOptions(a.Opts.HTTP...)}
		if a.ts != nil {
			opts = append(opts, WithTokenSource(a.ts))
		}
		return NewClient(ctx, a.Cfg, opts...)
	})
}

// Destination is one Customer Match user list.
type Destination struct {
	acct *Account
	t    Target
}

// Destination binds target t (validated here) to the account.
func (a *Account) Destination(t Target) (*Destination, error) {
	if err := t.Validate("destinations.google"); err != nil {
		return nil, err
	}
	t.OperatingAccountID = customerID(t.OperatingAccountID)
	t.LoginAccountID = customerID(t.LoginAccountID)
	if t.LoginAccountID == "" {
		t.LoginAccountID = customerID(a.Cfg.LoginAccountID)
	}
	return &Destination{acct: a, t: t}, nil
}

type op string

const (
	opIngest op = "ingest"
	opRemove op = "remove"
)

type step struct {
	call op
	as   audience.Op // what it does to the list, for Result.Applied
	ids  []audience.Identifier
}

// plan decides the calls. A list without state for it (a new audience, or the config now
// names another list) gets today's whole audience ingested: the Data Manager API can neither
// list nor replace members, so what such a list held before stays. Otherwise additions are
// ingested, then removals removed (replace mode too: there is no replace call).
func (d *Destination) plan(req audience.Request) []step {
	if req.Create || req.RemoteID != d.t.UserListID {
		return []step{{opIngest, audience.OpReplace, req.All}}
	}
	return []step{{opIngest, audience.OpAdd, req.Add}, {opRemove, audience.OpRemove, req.Remove}}
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

// audienceMembers converts identifiers to audience members, one identifier each (Google matches each
// identifier on its own, so a member never ties two together).
func audienceMembers(ids []audience.Identifier) []*datamanager.AudienceMember {
	out := make([]*datamanager.AudienceMember, len(ids))
	for i, id := range ids {
		ui := &datamanager.UserIdentifier{EmailAddress: id.Hash}
		if id.Type == audience.TypePhone {
			ui = &datamanager.UserIdentifier{PhoneNumber: id.Hash}
		}
		out[i] = &datamanager.AudienceMember{UserData: &datamanager.UserData{UserIdentifiers: []*datamanager.UserIdentifier{ui}}}
	}
	return out
}

// request builds the body of one call; exactly one of the results is set.
func (d *Destination) request(call op, ids []audience.Identifier) (*datamanager.IngestAudienceMembersRequest, *datamanager.RemoveAudienceMembersRequest) {
	if call == opIngest {
		return &datamanager.IngestAudienceMembersRequest{
			Destinations:    d.destinations(),
			AudienceMembers: audienceMembers(ids),
			Consent:         &datamanager.Consent{AdUserData: "CONSENT_GRANTED", AdPersonalization: "CONSENT_GRANTED"},
			Encoding:        "HEX",
			TermsOfService:  &datamanager.TermsOfService{CustomerMatchTermsOfServiceStatus: "ACCEPTED"},
			ValidateOnly:    d.acct.Cfg.ValidateOnly,
		}, nil
	}
	return nil, &datamanager.RemoveAudienceMembersRequest{
		Destinations:    d.destinations(),
		AudienceMembers: audienceMembers(ids),
		Encoding:        "HEX",
		ValidateOnly:    d.acct.Cfg.ValidateOnly,
	}
}

// Apply ingests and removes the identifiers of req in requests of at most BatchSize, up to
// ParallelRequests at a time within a step (all ingests end before the first removal). An
// answered request confirms its batch; with validate_only it is only validated: Google
// checked it and changed nothing, and the state must not move.
func (d *Destination) Apply(ctx context.Context, req audience.Request) (res audience.Result, err error) {
	if err := req.Check(64); err != nil {
		return res, err
	}
	c, err := d.acct.api(ctx)
	if err != nil {
		return res, err
	}
	res.RemoteID = d.t.UserListID
	ok := audience.Confirmed
	if d.acct.Cfg.ValidateOnly {
		ok = audience.Validated
	}
	for _, s := range d.plan(req) {
		if len(s.ids) == 0 {
			continue
		}
		batches := sinkutil.Batches(s.ids, d.acct.Cfg.BatchSize)
		outcomes := make([]audience.Outcome, len(batches))
		var mu sync.Mutex
		err := runParallel(ctx, len(batches), d.acct.Cfg.ParallelRequests, func(ctx context.Context, i int) error {
			in, rm := d.request(s.call, batches[i])
			var err error
			if in != nil {
				_, err = c.Ingest(ctx, in)
			} else {
				_, err = c.Remove(ctx, rm)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Requests++
			if err != nil {
				outcomes[i] = sinkutil.Outcome(err)
				return fmt.Errorf("google: audience %q (user list %s of %s): %s of %d identifiers, request %d of %d: %w",
					req.Audience, d.t.UserListID, d.t.OperatingAccountID, s.call, len(s.ids), i+1, len(batches), err)
			}
			outcomes[i] = ok
			res.Sent += int64(len(batches[i]))
			if ok == audience.Confirmed {
				res.Accepted += int64(len(batches[i]))
			}
			return nil
		})
		record(&res, s, batches, outcomes)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// record adds the step's outcomes: per batch for additions and removals; for a whole-list
// ingest (OpReplace) one outcome, confirmed only when every batch is.
func record(res *audience.Result, s step, batches [][]audience.Identifier, outcomes []audience.Outcome) {
	if s.as != audience.OpReplace {
		for i, b := range batches {
			res.Add(s.as, b, outcomes[i])
		}
		return
	}
	all := outcomes[0]
	for _, o := range outcomes[1:] {
		if o != all {
			all = audience.Unconfirmed // part of the list is in, part unknown or refused
		}
	}
	res.Add(s.as, s.ids, all)
}

// runParallel calls f for i in 0..n-1 with at most parallel calls at a time, handing out i in
// order, and returns the first real error (not the cancellations it caused in siblings).
// Batches not reached after an error keep their zero outcome, NotSent.
func runParallel(ctx context.Context, n, parallel int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := 0; w < min(max(parallel, 1), n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := f(ctx, i); err != nil {
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
	for i := 0; i < n; i++ {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// WritePayloads writes under dir, one file a request, exactly the JSON bodies Apply would send
// (google-NNNN-ingest.json, google-NNNN-remove.json) and sends nothing.
func (d *Destination) WritePayloads(ctx context.Context, req audience.Request, dir string) (audience.Result, error) {
	res := audience.Result{RemoteID: d.t.UserListID, Status: "dry_run"}
	if err := req.Check(64); err != nil {
		return res, err
	}
	for _, s := range d.plan(req) {
		for _, b := range sinkutil.Batches(s.ids, d.acct.Cfg.BatchSize) {
			in, rm := d.request(s.call, b)
			var body []byte
			var err error
			if in != nil {
				body, err = json.Marshal(in)
			} else {
				body, err = json.Marshal(rm)
			}
			if err != nil {
				return res, err
			}
			res.Requests++
			if err := audience.WritePayloadFile(ctx, dir, fmt.Sprintf("google-%04d-%s.json", res.Requests, s.call), append(body, '\n')); err != nil {
				return res, fmt.Errorf("google: dry run of audience %q: %w", req.Audience, err)
			}
			res.Sent += int64(len(b))
		}
	}
	return res, nil
}
