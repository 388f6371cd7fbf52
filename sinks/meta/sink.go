package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"time"

	"github.com/audiencesync/audiencesync/transforms/audience"
)

// Destination is one custom audience on Meta, bound to a Client.
type Destination struct {
	c *Client
	t Target
}

var _ audience.Destination = (*Destination)(nil)

// NewDestination binds target t (validated here) to client c.
func NewDestination(c *Client, t Target) (*Destination, error) {
	if err := t.Validate("meta target"); err != nil {
		return nil, err
	}
	return &Destination{c: c, t: t}, nil
}

// Platform returns "meta".
func (d *Destination) Platform() string { return Platform }

// step is one logical upload: all its batches share one session.
type step struct {
	op      Operation
	from    string // which list of the SyncRequest the rows come from, for messages
	members []audience.Member
}

// plan is what Sync will send once the audience id is known.
type plan struct {
	steps   []step
	skipped int64 // members with no identifier to send
}

// planFor decides the uploads. fresh means the remote audience is known to be empty (just
// created); unknown means it exists but this pipeline has no state for it, so only a replace
// is safe.
func (d *Destination) planFor(req audience.SyncRequest, fresh, unknown bool) plan {
	var p plan
	switch {
	case fresh:
		src, name := req.Add, "Add"
		if len(req.All) > 0 || req.Mode == audience.ModeReplace {
			src, name = req.All, "All"
		}
		p.steps = append(p.steps, step{OpAdd, name, src})
	case (unknown || req.Mode == audience.ModeReplace) && len(req.All) > 0:
		p.steps = append(p.steps, step{OpReplace, "All", req.All})
	case req.Mode == audience.ModeReplace:
		// Meta cannot replace with an empty set: remove the members that left instead.
		p.steps = append(p.steps, step{OpRemove, "Remove", req.Remove})
	default:
		// Add first, then remove, so that a member whose identifiers changed is never absent;
		// identifiers still used by today's members are kept out of the removal.
		p.steps = append(p.steps,
			step{OpAdd, "Add", req.Add},
			// true: EXTERN_ID is an identifier Meta matches on, so a kept one is not removed.
			step{OpRemove, "Remove", audience.StripKept(req.Remove, true, req.Add, req.All)})
	}
	withExtern := d.c.cfg.SendExternID
	kept := p.steps[:0]
	for _, s := range p.steps {
		n := countRows(s.members, withExtern)
		p.skipped += int64(len(s.members) - n)
		if n > 0 {
			kept = append(kept, s)
		}
	}
	p.steps = kept
	return p
}

// Sync finds or creates the custom audience, then uploads the rows of req in sessions of at
// most BatchSize rows per request. Nothing is sent when a member carries a malformed hash.
func (d *Destination) Sync(ctx context.Context, req audience.SyncRequest) (audience.Result, error) {
	start := time.Now()
	res := audience.Result{Extra: map[string]int64{}, RejectReasons: map[string]int64{}}
	defer func() { res.Duration = time.Since(start) }()
	if err := audience.CheckHashes(Platform, req); err != nil {
		return res, err
	}
	name := d.name(req)
	id, fresh, unknown := req.RemoteID, false, false
	if d.t.ID != "" && id != d.t.ID {
		// The config now names another audience than the state: its content is unknown.
		id = ""
	}
	if id == "" {
		list, err := d.c.ListCustomAudiences(ctx, d.t.account())
		res.Requests++
		if err != nil {
			return res, fmt.Errorf("meta: audience %q: finding it in act_%s: %w", req.Audience, d.t.account(), err)
		}
		for _, a := range list {
			if (d.t.ID != "" && a.ID == d.t.ID) || (d.t.ID == "" && a.Name == name) {
				id, unknown = a.ID, true
				break
			}
		}
		switch {
		case id == "" && d.t.ID != "":
			return res, fmt.Errorf("meta: audience %q: custom audience %s is not in ad account act_%s: check destinations.meta.id and that the token can see the account", req.Audience, d.t.ID, d.t.account())
		case id == "":
			id, err = d.c.CreateCustomAudience(ctx, d.t.account(), d.createRequest(name))
			res.Requests++
			if err != nil {
				return res, fmt.Errorf("meta: audience %q: creating custom audience %q: %w", req.Audience, name, err)
			}
			fresh, unknown, res.Created = true, false, true
		}
	}
	res.RemoteID = id
	p := d.planFor(req, fresh, unknown)
	d.countSkipped(&res, p)
	var buf []byte
	for _, s := range p.steps {
		total := countRows(s.members, d.c.cfg.SendExternID)
		batches := (total + d.c.cfg.BatchSize - 1) / d.c.cfg.BatchSize
		sid := sessionID(req, s.op)
		next := 0
		for seq := 1; seq <= batches; seq++ {
			var rows int
			buf, next, rows = d.appendPayload(buf[:0], s.members, next)
			ur := UsersRequest{Payload: buf, Session: Session{SessionID: sid, BatchSeq: seq, LastBatchFlag: seq == batches, EstimatedNumTotal: total}}
			out, err := d.c.users(ctx, s.op, id, ur)
			res.Requests++
			if err != nil {
				res.Status = "failed"
				return res, fmt.Errorf("meta: audience %q (%s): %s of %d rows from %s, batch %d of %d: %w", req.Audience, id, s.op, total, s.from, seq, batches, err)
			}
			res.Sent += int64(rows)
			res.Extra["num_received"] += out.NumReceived
			res.Extra["num_invalid_entries"] += out.NumInvalidEntries
			res.Extra["rows_"+string(s.op)] += int64(rows)
			res.Accepted += out.NumReceived - out.NumInvalidEntries
			res.Rejected += out.NumInvalidEntries
			if out.NumInvalidEntries > 0 {
				res.RejectReasons["invalid_entry"] += out.NumInvalidEntries
			}
		}
	}
	res.Status = "ok"
	if len(p.steps) == 0 {
		res.Status = "unchanged"
	}
	return res, nil
}

// countSkipped records the members that had nothing to send.
func (d *Destination) countSkipped(res *audience.Result, p plan) {
	if p.skipped > 0 {
		res.Rejected += p.skipped
		res.RejectReasons["no_identifier"] += p.skipped
	}
}

// WritePayloads writes under dir, one file a request, the parameters Sync would send for req
// (without access_token and appsecret_proof), and sends nothing. Without a remote id the
// audience is assumed absent, so the first file is its creation and paths name
// "{new_audience_id}".
func (d *Destination) WritePayloads(req audience.SyncRequest, dir string) (audience.Result, error) {
	start := time.Now()
	res := audience.Result{Extra: map[string]int64{}, RejectReasons: map[string]int64{}}
	defer func() { res.Duration = time.Since(start) }()
	if err := audience.CheckHashes(Platform, req); err != nil {
		return res, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("meta: dry run of audience %q: %w", req.Audience, err)
	}
	n := 0
	write := func(op string, body []byte) error {
		n++
		res.Requests++
		path := filepath.Join(dir, fmt.Sprintf("meta-%04d-%s.json", n, op))
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return fmt.Errorf("meta: dry run of audience %q: %w", req.Audience, err)
		}
		return nil
	}
	// Mirror Sync: a configured id without matching state means unknown content (replace).
	id, fresh, unknown := req.RemoteID, false, d.t.ID != "" && req.RemoteID != d.t.ID
	if d.t.ID != "" {
		id = d.t.ID
	}
	if id == "" {
		id, fresh, res.Created = "{new_audience_id}", true, true
		cr := d.createRequest(d.name(req))
		params := map[string]string{}
		for k, v := range cr.form() {
			params[k] = v[0]
		}
		body, _ := json.Marshal(map[string]any{
			"method": "POST", "path": "/" + d.c.cfg.APIVersion + "/act_" + d.t.account() + "/customaudiences", "params": params,
		})
		if err := write("create", body); err != nil {
			return res, err
		}
	}
	res.RemoteID = id
	p := d.planFor(req, fresh, unknown)
	d.countSkipped(&res, p)
	var buf []byte
	for _, s := range p.steps {
		total := countRows(s.members, d.c.cfg.SendExternID)
		batches := (total + d.c.cfg.BatchSize - 1) / d.c.cfg.BatchSize
		sid := sessionID(req, s.op)
		method, path := s.op.route(id)
		next := 0
		for seq := 1; seq <= batches; seq++ {
			var rows int
			buf, next, rows = d.appendPayload(buf[:0], s.members, next)
			session, _ := json.Marshal(Session{SessionID: sid, BatchSeq: seq, LastBatchFlag: seq == batches, EstimatedNumTotal: total})
			head, _ := json.Marshal(map[string]string{"method": method, "path": "/" + d.c.cfg.APIVersion + path})
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
			res.Sent += int64(rows)
			res.Extra["rows_"+string(s.op)] += int64(rows)
		}
	}
	res.Status = "dry_run"
	return res, nil
}

func (d *Destination) name(req audience.SyncRequest) string {
	if d.t.Name != "" {
		return d.t.Name
	}
	return req.Audience
}

func (d *Destination) createRequest(name string) CreateAudienceRequest {
	return CreateAudienceRequest{Name: name, Subtype: "CUSTOM", CustomerFileSource: d.c.cfg.CustomerFileSource, Description: d.t.Description}
}

// schema returns the payload columns. EMAIL and PHONE are always both sent (an empty string
// where a member lacks one): Meta matches a multi-key row on any of its keys.
func (d *Destination) schema() string {
	if d.c.cfg.SendExternID {
		return `{"schema":["EMAIL","PHONE","EXTERN_ID"],"data":[`
	}
	return `{"schema":["EMAIL","PHONE"],"data":[`
}

// appendPayload appends the payload JSON of the next batch, starting at members[from] and
// skipping members with nothing to send; it returns the index after the last member used and
// the number of rows written. Hashes are checked hex, so only the extern id needs escaping.
func (d *Destination) appendPayload(buf []byte, members []audience.Member, from int) ([]byte, int, int) {
	withExtern := d.c.cfg.SendExternID
	buf = append(buf, d.schema()...)
	rows := 0
	i := from
	for ; i < len(members) && rows < d.c.cfg.BatchSize; i++ {
		m := &members[i]
		if !hasIdentifier(m, withExtern) {
			continue
		}
		if rows > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `["`...)
		buf = append(buf, m.Email...)
		buf = append(buf, `","`...)
		buf = append(buf, m.Phone...)
		buf = append(buf, '"')
		if withExtern {
			buf = append(buf, ',')
			ext, _ := json.Marshal(m.ExternID)
			buf = append(buf, ext...)
		}
		buf = append(buf, ']')
		rows++
	}
	buf = append(buf, "]}"...)
	return buf, i, rows
}

func hasIdentifier(m *audience.Member, withExtern bool) bool {
	return m.Email != "" || m.Phone != "" || (withExtern && m.ExternID != "")
}

func countRows(members []audience.Member, withExtern bool) int {
	n := 0
	for i := range members {
		if hasIdentifier(&members[i], withExtern) {
			n++
		}
	}
	return n
}

// sessionID derives the upload session from the request's BatchID, so that a retried run of
// the same night continues the same logical upload instead of starting a second one. It is kept
// below 2^53 so that no JSON reader on the way rounds it.
func sessionID(req audience.SyncRequest, op Operation) int64 {
	h := fnv.New64a()
	key := req.BatchID
	if key == "" {
		key = req.RunDate + "\x00" + req.Audience
	}
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(op))
	id := int64(h.Sum64() & (1<<53 - 1))
	if id == 0 {
		id = 1
	}
	return id
}

// IsSHA256Hex reports whether s looks like a SHA-256 digest in lowercase hex; it is
// audience.IsSHA256Hex, kept here for callers of this package.
func IsSHA256Hex(s string) bool { return audience.IsSHA256Hex(s) }
