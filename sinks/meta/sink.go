package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// Account is the Meta app and token of one sinks.meta config. Build one per process and make
// every audience's Destination from it, so that all audiences share the rate limit. The
// secrets are resolved on the first Apply: dry runs need none.
type Account struct {
	sinkutil.Account[Config, *Client]
}

// NewAccount checks cfg's settings.
func NewAccount(cfg Config, opts ...sinkutil.Option) (*Account, error) {
	return sinkutil.NewAccount[Account]("sinks.meta", cfg, opts)
}

func (a *Account) api() (*Client, error) {
	return a.API(Platform, func() (*Client, error) { return NewClient(a.Cfg, a.Opts.HTTP...) })
}

// Destination is one custom audience on Meta.
type Destination struct {
	acct *Account
	t    Target
}

// Destination binds target t (validated here) to the account.
func (a *Account) Destination(t Target) (*Destination, error) {
	return sinkutil.Bind("destinations.meta", t, func() *Destination { return &Destination{acct: a, t: t} })
}

// step is one logical upload: all its batches share one session.
type step struct {
	op  Operation   // the API call
	as  audience.Op // what it does to the audience, for Result.Applied
	ids []audience.Identifier
}

// plan decides the uploads once the audience id is known. fresh: the audience was just
// created (empty): today's identifiers are added batch by batch. found: it exists but its
// contents are unknown, so only a replace is safe. Otherwise additions, then removals (or a
// replace in replace mode; Meta cannot replace with nothing, so an emptied audience is a
// removal).
func plan(req audience.Request, fresh, found bool) []step {
	switch {
	case fresh:
		return []step{{OpAdd, audience.OpAdd, req.All}}
	case found || req.Mode == audience.ModeReplace && len(req.All) > 0:
		return []step{{OpReplace, audience.OpReplace, req.All}}
	}
	return []step{{OpAdd, audience.OpAdd, req.Add}, {OpRemove, audience.OpRemove, req.Remove}}
}

// Apply finds or creates the custom audience, then sends the steps in sessions of at most
// BatchSize rows per request. Each session id comes from the exact content (Request
// RequestID), so a retried or rerun upload is a replay Meta does not apply twice, and a
// different change is a new session. An addition or removal batch is confirmed by its answer;
// one with invalid entries stays unconfirmed. A replace is confirmed when its last batch is.
func (d *Destination) Apply(ctx context.Context, req audience.Request) (res audience.Result, err error) {
	c, done, err := sinkutil.Begin(req.Check(64), d.acct.api, &res.Requests)
	if err != nil {
		return res, err
	}
	defer done()
	id, fresh, found := req.RemoteID, false, false
	if req.Create || d.t.ID != "" && id != d.t.ID {
		if id, fresh, err = d.findOrCreate(ctx, c, req); err != nil {
			return res, err
		}
		found, res.Created = !fresh, fresh
	}
	res.RemoteID = id
	for _, s := range plan(req, fresh, found) {
		if err := d.send(ctx, c, req, id, s, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// findOrCreate returns the configured audience, the one audience of the target's name, or a
// new one (fresh). A creation whose answer was lost is not sent again before listing.
func (d *Destination) findOrCreate(ctx context.Context, c *Client, req audience.Request) (id string, fresh bool, err error) {
	name := d.name(req)
	find := func() (string, error) {
		list, err := c.ListCustomAudiences(ctx, d.t.account())
		if err != nil {
			return "", fmt.Errorf("meta: audience %q: finding it in act_%s: %w", req.Audience, d.t.account(), err)
		}
		var ids []string
		for _, a := range list {
			if d.t.ID != "" && a.ID == d.t.ID || d.t.ID == "" && a.Name == name && a.Subtype != "LOOKALIKE" {
				if a.IsValueBased != (req.Value != "") {
					return "", kindError(req, a)
				}
				ids = append(ids, a.ID)
			}
		}
		switch {
		case len(ids) > 1:
			return "", fmt.Errorf("meta: %d custom audiences are named %q in act_%s (ids %s): set destinations.meta.id to the one to keep", len(ids), name, d.t.account(), strings.Join(ids, ", "))
		case len(ids) == 0 && d.t.ID != "":
			return "", fmt.Errorf("meta: audience %q: custom audience %s is not in ad account act_%s: check destinations.meta.id and that the token can see the account", req.Audience, d.t.ID, d.t.account())
		case len(ids) == 1:
			return ids[0], nil
		}
		return "", nil
	}
	if id, err = find(); err != nil || id != "" {
		return id, false, err
	}
	id, err = c.CreateCustomAudience(httpx.Once(ctx), d.t.account(), d.createRequest(name, req.Value != ""))
	for attempt := 0; httpx.MaybeServed(err) && attempt < 2; attempt++ {
		if id, err = find(); err != nil || id != "" {
			return id, err == nil, err // a new audience of this name is ours, still empty
		}
		id, err = c.CreateCustomAudience(httpx.Once(ctx), d.t.account(), d.createRequest(name, req.Value != ""))
	}
	if err != nil {
		return "", false, fmt.Errorf("meta: audience %q: creating custom audience %q: %w", req.Audience, name, err)
	}
	return id, true, nil
}

// sessionID derives a session from the content of the upload (kept below 2^53, so that no
// JSON reader on the way rounds it).
func (d *Destination) sessionID(req audience.Request, s step) int64 {
	rid := req.RequestID(audience.Op(s.op), s.ids, "batch_size="+strconv.Itoa(d.acct.Cfg.BatchSize))
	v, _ := strconv.ParseInt(rid[:13], 16, 64) // 52 bits
	return max(v, 1)
}

// send uploads one step in batches of one session and records each batch's outcome (a
// replace as a whole, since Meta applies it at its last batch).
func (d *Destination) send(ctx context.Context, c *Client, req audience.Request, id string, s step, res *audience.Result) error {
	if len(s.ids) == 0 {
		return nil
	}
	batches := sinkutil.Batches(s.ids, d.acct.Cfg.BatchSize)
	sid := d.sessionID(req, s)
	var invalid [][]audience.Identifier
	var buf []byte
	for i, b := range batches {
		buf = appendPayload(buf[:0], b, req.Value != "")
		ur := UsersRequest{Payload: buf, Session: Session{SessionID: sid, BatchSeq: i + 1, LastBatchFlag: i == len(batches)-1, EstimatedNumTotal: len(s.ids)}}
		out, err := c.users(ctx, s.op, id, ur)
		if err != nil {
			switch {
			case s.op != OpReplace:
				res.Add(s.as, b, sinkutil.Outcome(err))
			case i == len(batches)-1:
				res.Add(s.as, s.ids, sinkutil.Outcome(err))
			} // an unfinished replace session is never applied: nothing changed
			return fmt.Errorf("meta: audience %q (%s): %s of %d rows, batch %d of %d: %w", req.Audience, id, s.op, len(s.ids), i+1, len(batches), err)
		}
		res.Sent += int64(len(b))
		res.Accepted += out.NumReceived - out.NumInvalidEntries
		res.Reject("invalid_entry", out.NumInvalidEntries)
		if res.Extra == nil {
			res.Extra = map[string]int64{}
		}
		res.Extra["num_received"] += out.NumReceived
		res.Extra["num_invalid_entries"] += out.NumInvalidEntries
		switch {
		case out.NumInvalidEntries > 0:
			invalid = append(invalid, b) // which rows Meta refused is not said: the batch stays unconfirmed
			if s.op != OpReplace {
				res.Add(s.as, b, audience.Unconfirmed)
			}
		case s.op != OpReplace:
			res.Add(s.as, b, audience.Confirmed)
		}
	}
	if s.op == OpReplace {
		res.Add(audience.OpReplace, s.ids, audience.Confirmed)
		for _, b := range invalid {
			res.Add(audience.OpAdd, b, audience.Unconfirmed)
		}
	}
	return nil
}

// WritePayloads writes under dir, one file a request, the parameters Apply would send for req
// (without access_token and appsecret_proof), and sends nothing. Without a remote id the
// audience is assumed absent, so the first file is its creation and paths name
// "{new_audience_id}".
func (d *Destination) WritePayloads(ctx context.Context, req audience.Request, dir string) (audience.Result, error) {
	res := audience.Result{Status: "dry_run"}
	if err := req.Check(64); err != nil {
		return res, err
	}
	n := 0
	write := func(op string, body []byte) error {
		n++
		res.Requests++
		return audience.WritePayloadFile(ctx, dir, fmt.Sprintf("meta-%04d-%s.json", n, op), body)
	}
	id, fresh, found := req.RemoteID, false, false
	if req.Create || d.t.ID != "" && id != d.t.ID {
		found = d.t.ID != ""
		id = d.t.ID
	}
	if id == "" {
		id, fresh, res.Created = "{new_audience_id}", true, true
		params := map[string]string{}
		for k, v := range d.createRequest(d.name(req), req.Value != "").form() {
			params[k] = v[0]
		}
		body, _ := json.Marshal(map[string]any{"method": "POST", "path": "/" + d.acct.Cfg.APIVersion + "/act_" + d.t.account() + "/customaudiences", "params": params})
		if err := write("create", append(body, '\n')); err != nil {
			return res, err
		}
	}
	res.RemoteID = id
	var buf []byte
	for _, s := range plan(req, fresh, found) {
		if len(s.ids) == 0 {
			continue
		}
		batches := sinkutil.Batches(s.ids, d.acct.Cfg.BatchSize)
		sid := d.sessionID(req, s)
		method, path := s.op.route(id)
		for i, b := range batches {
			buf = appendPayload(buf[:0], b, req.Value != "")
			session, _ := json.Marshal(Session{SessionID: sid, BatchSeq: i + 1, LastBatchFlag: i == len(batches)-1, EstimatedNumTotal: len(s.ids)})
			head, _ := json.Marshal(map[string]string{"method": method, "path": "/" + d.acct.Cfg.APIVersion + path})
			body := make([]byte, 0, len(head)+len(buf)+len(session)+64)
			body = append(body, head[:len(head)-1]...)
			body = append(body, `,"params":{"payload":`...)
			body = append(body, buf...)
			body = append(body, `,"session":`...)
			body = append(body, session...)
			body = append(body, "}}\n"...)
			if err := write(string(s.op), body); err != nil {
				return res, err
			}
			res.Sent += int64(len(b))
		}
	}
	return res, nil
}

func (d *Destination) name(req audience.Request) string { return d.nameOf(req.Audience) }

// nameOf is the custom audience's name: the configured one, else the audience's.
func (d *Destination) nameOf(aud string) string {
	if d.t.Name != "" {
		return d.t.Name
	}
	return aud
}

func (d *Destination) createRequest(name string, valueBased bool) CreateAudienceRequest {
	return CreateAudienceRequest{Name: name, Subtype: "CUSTOM", CustomerFileSource: d.acct.Cfg.CustomerFileSource, Description: d.t.Description, IsValueBased: valueBased}
}

// kindError reports a custom audience of the target's name (or id) that is value-based when
// the audience is not, or the other way round: Meta fixes that at creation.
func kindError(req audience.Request, a CustomAudience) error {
	is, want := "a plain", "value-based"
	if a.IsValueBased {
		is, want = "a value-based", "plain"
	}
	return fmt.Errorf("meta: audience %q: custom audience %q (%s) is %s audience, but the audience is %s now (lookalikes.meta.value): Meta cannot change that; set destinations.meta.name to a new name (a new audience is created; the old one stays as it is on Meta)", req.Audience, a.Name, a.ID, is, want)
}

// appendPayload appends the payload JSON of one batch: schema EMAIL, PHONE and one row per
// identifier with the other column empty (Meta matches each identifier on its own, so a row
// never ties two together); valued adds LOOKALIKE_VALUE, each row's value as a JSON number.
// Hashes are checked hex, so nothing needs escaping.
func appendPayload(buf []byte, ids []audience.Identifier, valued bool) []byte {
	if valued {
		buf = append(buf, `{"schema":["EMAIL","PHONE","LOOKALIKE_VALUE"],"data":[`...)
	} else {
		buf = append(buf, `{"schema":["EMAIL","PHONE"],"data":[`...)
	}
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		if id.Type == audience.TypePhone {
			buf = append(buf, `["","`...)
			buf = append(buf, id.Hash...)
			buf = append(buf, '"')
		} else {
			buf = append(buf, `["`...)
			buf = append(buf, id.Hash...)
			buf = append(buf, `",""`...)
		}
		if valued {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, id.Value, 'f', -1, 64)
		}
		buf = append(buf, ']')
	}
	return append(buf, "]}"...)
}
