package vkads

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// Platform is this sink's platform name.
const Platform = "vk"

// Account is the VK Ads account of one sinks.vk config: the token cache and the HTTP clients
// with their rate limits. Build one per process and make every audience's Destination from it,
// so that all audiences share one token and one upload budget.
type Account struct {
	sinkutil.Account[Config, *Client]
}

// NewAccount checks cfg. The client secret is resolved on the first Apply, so that dry runs
// need no credentials. The token cache goes under the state dir (sinkutil.WithStateDir)
// unless sinks.vk.token_cache names a file.
func NewAccount(cfg Config, opts ...sinkutil.Option) (*Account, error) {
	return sinkutil.NewAccount[Account]("sinks.vk", cfg, opts)
}

// TokenCachePath is where the account keeps its token ("" = memory only).
func (a *Account) TokenCachePath() string {
	switch {
	case a.Cfg.TokenCache != "":
		return a.Cfg.TokenCache
	case a.Opts.StateDir != "":
		name := "token-" + safeName(a.Cfg.ClientID)
		if a.Cfg.AgencyClientName != "" {
			name += "-" + safeName(a.Cfg.AgencyClientName)
		}
		return fileio.Join(a.Opts.StateDir, "vk", name+".json")
	}
	return ""
}

// API returns the account's client, resolving the client secret on first use.
func (a *Account) api() (*Client, error) {
	return a.API(Platform, func() (*Client, error) {
		sec, err := a.Cfg.ClientSecret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("vk: sinks.vk.client_secret: %w", err)
		}
		path := a.TokenCachePath()
		if path == "" {
			a.Opts.Log.Warn("vk token cache disabled: every run mints a new token (the account allows 5); set sinks.vk.token_cache or pass the state dir")
		}
		return NewClient(a.Cfg, sec, path, a.Opts.Now, a.Opts.Log, a.Opts.HTTP...), nil
	})
}

// Destination syncs one audience with one VK users list.
type Destination struct {
	acct   *Account
	target Target
}

// Destination binds the account to one audience's list.
func (a *Account) Destination(target Target) (*Destination, error) {
	return sinkutil.Bind("destinations.vk", target, func() *Destination { return &Destination{acct: a, target: target} })
}

func (d *Destination) listName(req audience.Request) string {
	return cmp.Or(d.target.Name, req.Audience)
}

// idType is the identifier type the list holds.
func (d *Destination) idType() string {
	if d.target.Type == TypePhones {
		return audience.TypePhone
	}
	return audience.TypeEmail
}

// check refuses identifiers of another type than the list's, or not hashed with the
// configured algorithm.
func (d *Destination) check(req audience.Request) error {
	if err := req.Check(hexLen(d.acct.Cfg.Hash)); err != nil {
		return fmt.Errorf("%w (set contacts.vk_hash and sinks.vk.hash to the same algorithm)", err)
	}
	for _, l := range [][]audience.Identifier{req.All, req.Remove} {
		for _, id := range l {
			if id.Type != d.idType() {
				return fmt.Errorf("vk: audience %q: a %s list got a %s identifier: the list holds one type", req.Audience, d.target.Type, id.Type)
			}
		}
	}
	return nil
}

// Apply brings the list to req. Without a list on record it finds one (the configured id, or
// the one list of this name) or creates one, which needs MinListRows identifiers (fewer:
// below the minimum, nothing sent). VK cannot replace a list: a found list gets today's
// identifiers added, and what it held before stays. An existing list gets the additions
// (base=<id>), then the removals (base=-<id>); both are set operations, so a retry is
// harmless. A creation is never re-sent after a lost answer without listing first.
func (d *Destination) Apply(ctx context.Context, req audience.Request) (res audience.Result, err error) {
	c, done, err := sinkutil.Begin(d.check(req), d.acct.api, &res.Requests)
	if err != nil {
		return res, err
	}
	defer done()
	name := d.listName(req)
	id, err := parseID(req.RemoteID)
	if err != nil {
		return res, err
	}
	if d.target.ID != 0 && id != d.target.ID {
		req.Create = true // the config names another list than the state: contents unknown
	}
	if req.Create {
		if id, err = d.find(ctx, c, name); err != nil {
			return res, err
		}
		if id == 0 {
			return d.create(ctx, c, req, name, res)
		}
		res.RemoteID = strconv.FormatInt(id, 10)
		if err := d.upload(ctx, c, name, id, audience.OpReplace, req.All, &res); err != nil {
			return res, err
		}
		return res, d.ensureSegment(ctx, c, id, name, false)
	}
	res.RemoteID = req.RemoteID
	if err := d.upload(ctx, c, name, id, audience.OpAdd, req.Add, &res); err != nil {
		return res, err
	}
	return res, d.upload(ctx, c, name, -id, audience.OpRemove, req.Remove, &res)
}

// find returns the configured list or the one list of this name (0 when there is none).
func (d *Destination) find(ctx context.Context, c *Client, name string) (int64, error) {
	if d.target.ID != 0 {
		return d.target.ID, nil
	}
	lists, err := c.ListUsersLists(ctx)
	if err != nil {
		return 0, err
	}
	var found []UsersList
	for _, l := range lists {
		if l.Name == name {
			found = append(found, l)
		}
	}
	l, err := sinkutil.Only(found, func(l UsersList) string { return strconv.FormatInt(l.ID, 10) }, func(n int, ids string) error {
		return fmt.Errorf("vk: %d users lists are named %q (ids %s): set destinations.vk.id to the one to keep", n, name, ids)
	})
	switch {
	case err != nil || l == nil:
		return 0, err
	case l.Type != d.target.Type:
		return 0, fmt.Errorf("vk: list %q (id %d) has type %s, the target wants %s: rename one of them", name, l.ID, l.Type, d.target.Type)
	}
	return l.ID, nil
}

// create uploads a new list with today's identifiers. After a lost answer it lists: a list of
// this name that appeared is ours (it holds exactly this upload); none means the upload was
// not served, and it is sent once more.
func (d *Destination) create(ctx context.Context, c *Client, req audience.Request, name string, res audience.Result) (audience.Result, error) {
	if len(req.All) < MinListRows {
		res.BelowMinimum = true
		return res, nil
	}
	up := UploadRequest{Name: name, Type: d.target.Type, File: joinLines(req.All)}
	l, err := c.UploadUsersList(httpx.Once(ctx), up)
	for attempt := 0; httpx.MaybeServed(err) && attempt < 2; attempt++ {
		var id int64
		if id, err = d.find(ctx, c, name); err != nil {
			return res, err
		}
		if id != 0 {
			l, err = UsersList{ID: id}, nil
			break
		}
		l, err = c.UploadUsersList(httpx.Once(ctx), up)
	}
	if err != nil {
		return res, err
	}
	if l.ID == 0 {
		return res, fmt.Errorf("vk: users_lists upload: the answer has no list id")
	}
	res.RemoteID, res.Created, res.Status = strconv.FormatInt(l.ID, 10), true, l.Status
	res.Sent += int64(len(req.All))
	res.Accepted += int64(len(req.All))
	res.Add(audience.OpReplace, req.All, audience.Confirmed)
	return res, d.ensureSegment(ctx, c, l.ID, name, true)
}

// upload sends one diff of the list (base > 0 adds, base < 0 removes) and records its
// outcome, a failure's too. VK answers once it has taken the file; its list status then only
// tracks the matching of users, so the answer confirms the change.
func (d *Destination) upload(ctx context.Context, c *Client, name string, base int64, op audience.Op, ids []audience.Identifier, res *audience.Result) error {
	if len(ids) == 0 {
		return nil
	}
	l, err := c.UploadUsersList(ctx, UploadRequest{Name: name, Type: d.target.Type, Base: base, File: joinLines(ids)})
	if err != nil {
		res.Add(op, ids, sinkutil.Outcome(err))
		return err
	}
	res.Sent += int64(len(ids))
	res.Accepted += int64(len(ids))
	res.Status = l.Status
	res.Add(op, ids, audience.Confirmed)
	return nil
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
// already it first looks for a segment of that name (an earlier run may have made it). The
// creation is never re-sent after a lost answer without looking first.
func (d *Destination) ensureSegment(ctx context.Context, c *Client, listID int64, listName string, fresh bool) error {
	if d.target.Segment == nil {
		return nil
	}
	want := d.segment(listID, listName)
	exists := func() (bool, error) {
		segs, err := c.ListSegments(ctx)
		if err != nil {
			return false, err
		}
		for _, s := range segs {
			if s.Name == want.Name {
				return true, nil
			}
		}
		return false, nil
	}
	if !fresh {
		if ok, err := exists(); ok || err != nil {
			return err
		}
	}
	_, err := c.CreateSegment(httpx.Once(ctx), want)
	for attempt := 0; httpx.MaybeServed(err) && attempt < 2; attempt++ {
		var ok bool
		if ok, err = exists(); ok || err != nil {
			break
		}
		_, err = c.CreateSegment(httpx.Once(ctx), want)
	}
	if err != nil {
		return fmt.Errorf("%w (list %d is in place; the segment is created on a later run)", err, listID)
	}
	return nil
}

// WritePayloads writes the files Apply would upload (one hash a line) with the form fields
// next to them as JSON, numbered in sending order, and the segment body when one would be
// created. A dry run cannot know whether a list of that name exists; it writes the creation.
func (d *Destination) WritePayloads(ctx context.Context, req audience.Request, dir string) (audience.Result, error) {
	res := audience.Result{RemoteID: req.RemoteID, Status: "dry_run"}
	if err := d.check(req); err != nil {
		return res, err
	}
	name := d.listName(req)
	n := 0
	write := func(stem string, r UploadRequest, ids []audience.Identifier) error {
		if len(ids) == 0 {
			return nil
		}
		n++
		stem = fmt.Sprintf("%d-%s", n, stem)
		fields := map[string]any{"name": r.Name, "type": r.Type, "file": stem + ".txt"}
		if r.Base != 0 {
			fields["base"] = r.Base
		}
		meta, err := jsonIndent(fields)
		if err != nil {
			return err
		}
		if err := audience.WritePayloadFile(ctx, dir, stem+".txt", r.File); err != nil {
			return err
		}
		res.Sent += int64(len(ids))
		return audience.WritePayloadFile(ctx, dir, stem+".json", meta)
	}
	id, err := parseID(req.RemoteID)
	if err != nil {
		return res, err
	}
	if req.Create && d.target.ID == 0 {
		if len(req.All) < MinListRows {
			res.BelowMinimum = true
			return res, nil
		}
		if err := write("users_lists_create", UploadRequest{Name: name, Type: d.target.Type, File: joinLines(req.All)}, req.All); err != nil {
			return res, err
		}
		if d.target.Segment != nil {
			body, err := jsonIndent(d.segment(0, name))
			if err != nil {
				return res, err
			}
			return res, audience.WritePayloadFile(ctx, dir, fmt.Sprintf("%d-segments_create.json", n+1), body)
		}
		return res, nil
	}
	if req.Create {
		return res, write("users_lists_add", UploadRequest{Name: name, Type: d.target.Type, Base: d.target.ID, File: joinLines(req.All)}, req.All)
	}
	if err := write("users_lists_add", UploadRequest{Name: name, Type: d.target.Type, Base: id, File: joinLines(req.Add)}, req.Add); err != nil {
		return res, err
	}
	return res, write("users_lists_remove", UploadRequest{Name: name, Type: d.target.Type, Base: -id, File: joinLines(req.Remove)}, req.Remove)
}

func parseID(s string) (int64, error) { return sinkutil.ParseID(Platform, "list", s) }

// safeName keeps a client id usable as a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
