package vkads

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// Platform is this sink's platform name.
const Platform = "vk"

// Account is the VK Ads account of one sinks.vk config: the token cache and the HTTP clients
// with their rate limits. Build one per process and make every audience's Destination from it,
// so that all audiences share one token and one upload budget.
type Account struct {
	cfg  Config
	opts options

	once   sync.Once
	client *Client
	err    error
}

// Destination syncs one audience with one VK users list.
type Destination struct {
	acct   *Account
	target Target
}

var _ audience.Destination = (*Destination)(nil)

type options struct {
	http     []httpx.Option
	now      func() time.Time
	log      *slog.Logger
	stateDir string
}

// Option configures an Account.
type Option func(*options)

// WithHTTPOptions passes options to the HTTP layer (tests: transport, clock, jitter).
func WithHTTPOptions(o ...httpx.Option) Option {
	return func(op *options) { op.http = append(op.http, o...) }
}

// WithClock sets the clock for token expiry (tests).
func WithClock(now func() time.Time) Option { return func(op *options) { op.now = now } }

// WithLogger sets the logger for warnings and retries.
func WithLogger(l *slog.Logger) Option {
	return func(op *options) { op.log = l; op.http = append(op.http, httpx.WithLogger(l)) }
}

// WithStateDir puts the token cache at <dir>/vk/token-<client_id>[-<agency client>].json unless
// sinks.vk.token_cache names a file. dir may be local or gs://.
func WithStateDir(dir string) Option { return func(op *options) { op.stateDir = dir } }

// NewAccount checks cfg (all but the client secret, which is resolved on the first Sync so
// that dry runs need no credentials).
func NewAccount(cfg Config, opts ...Option) (*Account, error) {
	if err := cfg.validateShape("sinks.vk"); err != nil {
		return nil, err
	}
	a := &Account{cfg: cfg.Defaults(), opts: options{now: time.Now, log: slog.New(slog.DiscardHandler)}}
	for _, o := range opts {
		o(&a.opts)
	}
	return a, nil
}

// Destination binds the account to one audience's list.
func (a *Account) Destination(target Target) (*Destination, error) {
	if err := target.Validate("destinations.vk"); err != nil {
		return nil, err
	}
	return &Destination{acct: a, target: target}, nil
}

// New is NewAccount(cfg, opts...).Destination(target), for a single audience.
func New(cfg Config, target Target, opts ...Option) (*Destination, error) {
	a, err := NewAccount(cfg, opts...)
	if err != nil {
		return nil, err
	}
	return a.Destination(target)
}

// TokenCachePath is where the account keeps its token ("" = memory only).
func (a *Account) TokenCachePath() string {
	switch {
	case a.cfg.TokenCache != "":
		return a.cfg.TokenCache
	case a.opts.stateDir != "":
		name := "token-" + safeName(a.cfg.ClientID)
		if a.cfg.AgencyClientName != "" {
			name += "-" + safeName(a.cfg.AgencyClientName)
		}
		return fileio.Join(a.opts.stateDir, "vk", name+".json")
	}
	return ""
}

// API returns the account's client, resolving the client secret on first use.
func (a *Account) API() (*Client, error) {
	a.once.Do(func() {
		sec, err := a.cfg.ClientSecret.Resolve()
		if err != nil {
			a.err = fmt.Errorf("vk: sinks.vk.client_secret: %w", err)
			return
		}
		path := a.TokenCachePath()
		if path == "" {
			a.opts.log.Warn("vk token cache disabled: every run mints a new token (the account allows 5); set sinks.vk.token_cache or pass the state dir")
		}
		a.client = NewClient(a.cfg, sec, path, a.opts.now, a.opts.log, a.opts.http...)
	})
	return a.client, a.err
}

// Platform returns "vk".
func (d *Destination) Platform() string { return Platform }

func (d *Destination) listName(req audience.SyncRequest) string {
	if d.target.Name != "" {
		return d.target.Name
	}
	return req.Audience
}

// hashes picks the identifier of the list's type from each member, checks its shape against
// the configured algorithm, and drops repeats (two members may share an e-mail). Members
// without that identifier are counted in skipped.
func (d *Destination) hashes(ms []audience.Member) (out []string, skipped int64, err error) {
	n := hexLen(d.acct.cfg.Hash)
	seen := make(map[string]struct{}, len(ms))
	for _, m := range ms {
		h := m.Email
		if d.target.Type == TypePhones {
			h = m.Phone
		}
		if h == "" {
			skipped++
			continue
		}
		if !audience.IsHexHash(h, n) {
			return nil, 0, fmt.Errorf("vk: member %s: identifier is not a lowercase %s hex (%d digits): set contacts.vk_hash and sinks.vk.hash to the same algorithm", m.Key, d.acct.cfg.Hash, n)
		}
		if _, dup := seen[h]; dup {
			continue
		}
		seen[h] = struct{}{}
		out = append(out, h)
	}
	return out, skipped, nil
}

// plan is what Sync sends: a new list from create, or diffs.
type plan struct {
	create         []string
	add, remove    []string
	skipped        int64
	replaceUnknown bool // list found by name without state: contents unknown
}

func (d *Destination) plan(req audience.SyncRequest) (plan, error) {
	var p plan
	if req.RemoteID == "" {
		all := req.All
		if len(all) == 0 {
			all = req.Add
		}
		h, skipped, err := d.hashes(all)
		if err != nil {
			return p, err
		}
		p.create, p.skipped = h, skipped
		return p, nil
	}
	// VK has no "replace": replace mode sends the diff the audience package computed too.
	add, s1, err := d.hashes(req.Add)
	if err != nil {
		return p, err
	}
	remove, s2, err := d.hashes(req.Remove)
	if err != nil {
		return p, err
	}
	// A hash both removed and added (a member whose phone changed keeps the e-mail) stays:
	// don't send it at all.
	inAdd := make(map[string]struct{}, len(add))
	for _, h := range add {
		inAdd[h] = struct{}{}
	}
	kept := remove[:0]
	for _, h := range remove {
		if _, ok := inAdd[h]; !ok {
			kept = append(kept, h)
		}
	}
	p.add, p.remove, p.skipped = add, kept, s1+s2
	return p, nil
}

// Sync applies req to the list. Creation needs at least MinListRows identifiers
// (ErrTooSmall otherwise, nothing sent). A list found by name without a state id gets today's
// members added (VK cannot replace a list; members it held before stay until they show up in a
// later diff's removals). Removals are sent before additions. An empty change sends nothing.
func (d *Destination) Sync(ctx context.Context, req audience.SyncRequest) (res audience.Result, err error) {
	started := time.Now()
	p, err := d.plan(req)
	if err != nil {
		return res, err
	}
	if p.skipped > 0 {
		res.Rejected = p.skipped
		res.RejectReasons = map[string]int64{"no_" + strings.TrimSuffix(d.target.Type, "s"): p.skipped}
	}
	if req.RemoteID != "" && len(p.add) == 0 && len(p.remove) == 0 {
		res.RemoteID, res.Status = req.RemoteID, "unchanged"
		return res, nil
	}
	c, err := d.acct.API()
	if err != nil {
		return res, err
	}
	before := c.Requests()
	defer func() {
		res.Requests = c.Requests() - before
		res.Duration = time.Since(started)
	}()
	name := d.listName(req)

	id, err := parseID(req.RemoteID)
	if err != nil {
		return res, err
	}
	if id == 0 {
		id = d.target.ID
	}
	if req.RemoteID == "" {
		if id == 0 {
			lists, err := c.ListUsersLists(ctx)
			if err != nil {
				return res, err
			}
			var found []UsersList
			for _, l := range lists {
				if l.Name == name {
					found = append(found, l)
				}
			}
			switch {
			case len(found) == 1 && found[0].Type != d.target.Type:
				return res, fmt.Errorf("vk: list %q (id %d) has type %s, the target wants %s: rename one of them", name, found[0].ID, found[0].Type, d.target.Type)
			case len(found) == 1:
				id = found[0].ID
			case len(found) > 1:
				ids := make([]string, len(found))
				for i, l := range found {
					ids[i] = strconv.FormatInt(l.ID, 10)
				}
				return res, fmt.Errorf("vk: %d users lists are named %q (ids %s): set destinations.vk.id to the one to keep", len(found), name, strings.Join(ids, ", "))
			}
		}
		if id == 0 {
			if len(p.create) < MinListRows {
				return res, fmt.Errorf("%w: list %q would have %d %s, VK needs at least %d; nothing sent, the next run tries again", ErrTooSmall, name, len(p.create), d.target.Type, MinListRows)
			}
			l, err := c.UploadUsersList(ctx, UploadRequest{Name: name, Type: d.target.Type, File: joinLines(p.create)})
			if err != nil {
				return res, err
			}
			if l.ID == 0 {
				return res, fmt.Errorf("vk: users_lists upload: the answer has no list id")
			}
			res.RemoteID, res.Created, res.Status = strconv.FormatInt(l.ID, 10), true, l.Status
			res.Sent += int64(len(p.create))
			res.Accepted += int64(len(p.create))
			return res, d.ensureSegment(ctx, c, l.ID, name, true)
		}
		// Known list, unknown contents: add everyone.
		p.add = p.create
	}
	res.RemoteID = strconv.FormatInt(id, 10)
	if len(p.remove) > 0 {
		l, err := c.UploadUsersList(ctx, UploadRequest{Name: name, Type: d.target.Type, Base: -id, File: joinLines(p.remove)})
		if err != nil {
			return res, err
		}
		res.Sent += int64(len(p.remove))
		res.Accepted += int64(len(p.remove))
		res.Status = l.Status
	}
	if len(p.add) > 0 {
		l, err := c.UploadUsersList(ctx, UploadRequest{Name: name, Type: d.target.Type, Base: id, File: joinLines(p.add)})
		if err != nil {
			return res, err
		}
		res.Sent += int64(len(p.add))
		res.Accepted += int64(len(p.add))
		res.Status = l.Status
	}
	if req.RemoteID == "" {
		return res, d.ensureSegment(ctx, c, id, name, false)
	}
	return res, nil
}

func (d *Destination) segment(listID int64, listName string) Segment {
	name := d.target.Segment.Name
	if name == "" {
		name = listName
	}
	return Segment{Name: name, PassCondition: 1, Relations: []Relation{{
		ObjectType: "remarketing_users_list",
		Params:     RelationParams{SourceID: listID, Type: "positive"},
	}}}
}

// ensureSegment creates the configured segment over the list; for a list that existed
// already it first looks for a segment of that name (an earlier run may have made it).
func (d *Destination) ensureSegment(ctx context.Context, c *Client, listID int64, listName string, fresh bool) error {
	if d.target.Segment == nil {
		return nil
	}
	want := d.segment(listID, listName)
	if !fresh {
		segs, err := c.ListSegments(ctx)
		if err != nil {
			return err
		}
		for _, s := range segs {
			if s.Name == want.Name {
				return nil
			}
		}
	}
	if _, err := c.CreateSegment(ctx, want); err != nil {
		return fmt.Errorf("%w (list %d is in place; the segment is retried on a run without state)", err, listID)
	}
	return nil
}

// WritePayloads writes the files Sync would upload (one hash a line) with the form fields
// next to them as JSON, and the segment body when one would be created. A dry run cannot
// know whether a list of that name exists; it writes the creation.
func (d *Destination) WritePayloads(req audience.SyncRequest, dir string) (audience.Result, error) {
	res := audience.Result{RemoteID: req.RemoteID, Status: "dry_run"}
	p, err := d.plan(req)
	if err != nil {
		return res, err
	}
	res.Rejected = p.skipped
	name := d.listName(req)
	write := func(stem string, r UploadRequest, hashes []string) error {
		fields := map[string]any{"name": r.Name, "type": r.Type, "file": stem + ".txt"}
		if r.Base != 0 {
			fields["base"] = r.Base
		}
		meta, err := jsonIndent(fields)
		if err != nil {
			return err
		}
		if err := audience.WritePayloadFile(dir, stem+".txt", r.File); err != nil {
			return err
		}
		res.Sent += int64(len(hashes))
		return audience.WritePayloadFile(dir, stem+".json", meta)
	}
	id, err := parseID(req.RemoteID)
	if err != nil {
		return res, err
	}
	if id == 0 {
		id = d.target.ID
	}
	if req.RemoteID == "" && id == 0 {
		if len(p.create) == 0 {
			return res, nil
		}
		if err := write("users_lists_create", UploadRequest{Name: name, Type: d.target.Type, File: joinLines(p.create)}, p.create); err != nil {
			return res, err
		}
		if d.target.Segment != nil {
			body, err := jsonIndent(d.segment(0, name))
			if err != nil {
				return res, err
			}
			return res, audience.WritePayloadFile(dir, "segments_create.json", body)
		}
		return res, nil
	}
	if req.RemoteID == "" {
		p.add = p.create
	}
	if len(p.remove) > 0 {
		if err := write("users_lists_remove", UploadRequest{Name: name, Type: d.target.Type, Base: -id, File: joinLines(p.remove)}, p.remove); err != nil {
			return res, err
		}
	}
	if len(p.add) > 0 {
		if err := write("users_lists_add", UploadRequest{Name: name, Type: d.target.Type, Base: id, File: joinLines(p.add)}, p.add); err != nil {
			return res, err
		}
	}
	return res, nil
}

func parseID(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("vk: remote id %q from state is not a list id: fix or delete the audience's vk state file", s)
	}
	return id, nil
}

// safeName keeps a client id usable as a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
