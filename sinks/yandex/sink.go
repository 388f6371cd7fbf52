package yandex

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// Platform is this sink's platform name.
const Platform = "yandex"

// Account is the Yandex account of one sinks.yandex config: the HTTP clients and their token
// buckets. Build one per process and make every audience's Destination from it, so that all
// audiences share the account's write quota.
type Account struct {
	sinkutil.Account[Config, *Client]
}

// Destination syncs one audience with one Yandex segment.
type Destination struct {
	acct   *Account
	target Target
}

// NewAccount checks cfg. The token is resolved on the first Apply, so that dry runs need no
// credentials.
func NewAccount(cfg Config, opts ...sinkutil.Option) (*Account, error) {
	return sinkutil.NewAccount[Account]("sinks.yandex", cfg, opts)
}

// Destination binds the account to one audience's segment.
func (a *Account) Destination(target Target) (*Destination, error) {
	return sinkutil.Bind("destinations.yandex", target, func() *Destination { return &Destination{acct: a, target: target} })
}

func (a *Account) api() (*Client, error) {
	return a.API(Platform, func() (*Client, error) {
		tok, err := a.Cfg.Token.Resolve()
		if err != nil {
			return nil, fmt.Errorf("yandex: sinks.yandex.token: %w", err)
		}
		return NewClient(a.Cfg.BaseURL, tok, a.Cfg.HTTP, a.Cfg.WritesPerMinute, a.Opts.HTTP...)
	})
}

func (d *Destination) segmentName(req audience.Request) string {
	return cmp.Or(d.target.Name, req.Audience)
}

// Apply brings the segment to req. Without a segment on record it finds one (the configured
// id, an upload of an interrupted run, or a segment of the audience's name) or creates one
// with today's identifiers; a found segment's contents are unknown, so it is replaced. An
// existing segment gets the additions, then the removals (replace mode: a replace). Each
// change counts as confirmed once Yandex has processed it; one still processing when the
// poll budget runs out is unconfirmed, and the changes after it wait for the next run.
func (d *Destination) Apply(ctx context.Context, req audience.Request) (res audience.Result, err error) {
	c, done, err := sinkutil.Begin(req.Check(64), d.acct.api, &res.Requests)
	if err != nil {
		return res, err
	}
	defer done()

	id, err := parseID(req.RemoteID)
	if err != nil {
		return res, err
	}
	if d.target.ID != 0 && id != d.target.ID {
		// The config names another segment than the state: its contents are unknown.
		req.Create = true
	}
	if req.Create {
		id = d.target.ID
		if id == 0 {
			var created bool
			if id, created, err = d.findOrCreate(ctx, c, req, &res); err != nil || id == 0 {
				return res, err
			}
			res.RemoteID = strconv.FormatInt(id, 10)
			if created {
				res.Created = true
				o, err := d.settle(ctx, c, id, len(req.All), &res)
				res.Add(audience.OpReplace, req.All, o)
				return res, err
			}
		}
		// Found by name or configured: its contents are unknown, make it exactly today's.
		res.RemoteID = strconv.FormatInt(id, 10)
		return res, d.change(ctx, c, id, ModReplace, audience.OpReplace, req.All, &res)
	}
	res.RemoteID = req.RemoteID
	if req.Mode == audience.ModeReplace && len(req.All) > 0 {
		return res, d.change(ctx, c, id, ModReplace, audience.OpReplace, req.All, &res)
	}
	// Yandex cannot replace with an empty file: an emptied audience is a subtraction.
	if err := d.change(ctx, c, id, ModAddition, audience.OpAdd, req.Add, &res); err != nil || unsettled(res) {
		return res, err // a change still processing: the next one waits for the next run
	}
	return res, d.change(ctx, c, id, ModSubtraction, audience.OpRemove, req.Remove, &res)
}

// change sends one modify_data once the segment is processed, and records its outcome once
// Yandex has processed it. Nothing is sent while an earlier change is still processing.
func (d *Destination) change(ctx context.Context, c *Client, id int64, kind string, op audience.Op, ids []audience.Identifier, res *audience.Result) error {
	if len(ids) == 0 {
		return nil
	}
	csv, rows, err := BuildCSV(ids)
	if err != nil {
		return err
	}
	if st, err := d.waitProcessed(ctx, c, id); err != nil {
		res.Status = st
		return err
	}
	if _, err := c.ModifyData(ctx, id, kind, csv); err != nil {
		res.Add(op, ids, sinkutil.Outcome(err))
		return err
	}
	res.Sent += int64(rows)
	o, err := d.settle(ctx, c, id, rows, res)
	res.Add(op, ids, o)
	return err
}

func unsettled(res audience.Result) bool {
	return len(res.Applied) > 0 && res.Applied[len(res.Applied)-1].Outcome == audience.Unconfirmed
}

// settle waits for the change just sent: processed (or few_data) confirms it; still
// processing after the poll budget leaves it unconfirmed without an error.
func (d *Destination) settle(ctx context.Context, c *Client, id int64, rows int, res *audience.Result) (audience.Outcome, error) {
	st, err := d.waitProcessed(ctx, c, id)
	res.Status = st
	switch {
	case errors.Is(err, errStillProcessing):
		d.acct.Opts.Log.Warn("yandex segment still processing: the change is confirmed on a later run", "segment", id, "status", st)
		return audience.Unconfirmed, nil
	case err != nil:
		return audience.Unconfirmed, err
	case st == StatusFewData:
		res.BelowMinimum = true
		d.acct.Opts.Log.Warn("yandex segment has too few matched records to be used in ads (few_data)", "segment", id, "min_rows", MinSegmentRows)
	}
	res.Accepted += int64(rows)
	return audience.Confirmed, nil
}

// note is the journal entry written before an upload: which segments existed, and the
// request the upload carries, so that a later run recognises what an interrupted one left.
type note struct {
	RequestID string  `json:"request_id"`
	Before    []int64 `json:"segments_before"`
}

// findOrCreate returns the segment of this audience: an upload an interrupted run left
// (confirmed now when it carries exactly this plan, deleted otherwise), the one segment of
// this name, or a new one. id 0 without an error means below the minimum: nothing sent.
func (d *Destination) findOrCreate(ctx context.Context, c *Client, req audience.Request, res *audience.Result) (id int64, created bool, err error) {
	if req.Journal == nil {
		return 0, false, errors.New("yandex: a creation needs the request's journal (audience.Sync gives one)")
	}
	name := d.segmentName(req)
	reqID := req.RequestID(audience.OpReplace, req.All)
	segs, err := c.ListSegments(ctx)
	if err != nil {
		return 0, false, err
	}
	if id, created, err = d.resolveJournal(ctx, c, req, name, reqID, segs); err != nil || id != 0 {
		return id, created, err
	}
	var found []Segment
	for _, s := range segs {
		if s.Name == name && s.Status != StatusUploaded {
			found = append(found, s)
		}
	}
	one, err := sinkutil.Only(found, segmentID, func(n int, ids string) error {
		return fmt.Errorf("yandex: %d segments are named %q (ids %s): set destinations.yandex.id to the one to keep", n, name, ids)
	})
	if err != nil {
		return 0, false, err
	}
	if one != nil {
		return one.ID, false, nil
	}
	if len(req.All) < MinSegmentRows {
		res.BelowMinimum = true
		return 0, false, nil
	}
	csv, rows, err := BuildCSV(req.All)
	if err != nil {
		return 0, false, err
	}
	n := note{RequestID: reqID}
	for _, s := range segs {
		n.Before = append(n.Before, s.ID)
	}
	if err := writeNote(ctx, req.Journal, n); err != nil {
		return 0, false, err
	}
	seg, err := c.UploadCSVFile(httpx.Once(ctx), csv)
	for attempt := 0; httpx.MaybeServed(err) && attempt < 2; attempt++ {
		// The answer was lost: list before uploading again.
		var fresh []Segment
		if fresh, err = c.ListSegments(ctx); err != nil {
			return 0, false, err
		}
		if up := newUploads(fresh, n.Before); len(up) == 1 {
			seg, err = up[0], nil
		} else if len(up) == 0 {
			seg, err = c.UploadCSVFile(httpx.Once(ctx), csv)
		} else {
			return 0, false, fmt.Errorf("yandex: %d new uploaded segments appeared during one upload: cannot tell which is ours; delete them in the Audiences UI and rerun", len(up))
		}
	}
	if err != nil {
		return 0, false, err
	}
	if seg.ID == 0 {
		return 0, false, errors.New("yandex: upload_csv_file: the answer has no segment id")
	}
	res.Sent += int64(rows)
	if err := d.confirm(ctx, c, seg.ID, name); err != nil {
		return 0, false, fmt.Errorf("%w (segment %d is uploaded but not confirmed: the next run confirms or deletes it)", err, seg.ID)
	}
	return seg.ID, true, req.Journal.Clear(ctx)
}

// resolveJournal settles what an interrupted run left: an upload never confirmed is confirmed
// when it carries today's exact plan and deleted otherwise; a segment it created and named
// carries that plan too. id is 0 when nothing of it is usable.
func (d *Destination) resolveJournal(ctx context.Context, c *Client, req audience.Request, name, reqID string, segs []Segment) (id int64, created bool, err error) {
	b, err := req.Journal.Read(ctx)
	if err != nil || b == nil {
		return 0, false, err
	}
	var n note
	if err := json.Unmarshal(b, &n); err != nil {
		return 0, false, fmt.Errorf("yandex: journal of audience %q is not readable (%v): delete it after checking the segments in the Audiences UI", req.Audience, err)
	}
	same := n.RequestID == reqID
	for _, s := range newSegments(segs, n.Before) {
		switch {
		case s.Status == StatusUploaded && same && id == 0:
			if err := d.confirm(ctx, c, s.ID, name); err != nil {
				return 0, false, err
			}
			id, created = s.ID, true
		case s.Status == StatusUploaded:
			if err := c.DeleteSegment(ctx, s.ID); err != nil {
				return 0, false, fmt.Errorf("%w (an upload left by an interrupted run)", err)
			}
		case s.Name == name && same && id == 0:
			id, created = s.ID, true // confirmed before the interruption
		}
	}
	return id, created, req.Journal.Clear(ctx)
}

func newSegments(segs []Segment, before []int64) []Segment {
	old := make(map[int64]bool, len(before))
	for _, id := range before {
		old[id] = true
	}
	var out []Segment
	for _, s := range segs {
		if !old[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

// segmentID is s's id as text, for messages.
func segmentID(s Segment) string { return strconv.FormatInt(s.ID, 10) }

func newUploads(segs []Segment, before []int64) []Segment {
	var out []Segment
	for _, s := range newSegments(segs, before) {
		if s.Status == StatusUploaded {
			out = append(out, s)
		}
	}
	return out
}

// confirm names the uploaded segment. A confirm whose answer was lost is retried by the HTTP
// layer and then answered "already confirmed": that is success once the segment has our name.
func (d *Destination) confirm(ctx context.Context, c *Client, id int64, name string) error {
	_, err := c.Confirm(ctx, confirmFor(id, name))
	var ae *APIError
	if !errors.As(err, &ae) || !ae.AlreadyConfirmed() {
		return err
	}
	segs, lerr := c.ListSegments(ctx)
	if lerr != nil {
		return lerr
	}
	for _, s := range segs {
		if s.ID == id && s.Name == name {
			return nil
		}
	}
	return fmt.Errorf("%w (and it does not carry the name %q)", err, name)
}

func writeNote(ctx context.Context, j audience.Journal, n note) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return j.Write(ctx, b)
}

func confirmFor(id int64, name string) ConfirmSegment {
	return ConfirmSegment{ID: id, Name: name, Hashed: true, HashingAlg: "SHA256", ContentType: "crm"}
}

// errStillProcessing is returned by waitProcessed when the poll budget ran out.
var errStillProcessing = errors.New("still processing")

// waitProcessed polls GET segments until the segment is processed (or few_data), at most
// PollTimeout/PollInterval times after the first look.
func (d *Destination) waitProcessed(ctx context.Context, c *Client, id int64) (string, error) {
	polls := int(d.acct.Cfg.PollTimeout / max(d.acct.Cfg.PollInterval, time.Millisecond))
	for i := 0; ; i++ {
		segs, err := c.ListSegments(ctx)
		if err != nil {
			return "", err
		}
		st := ""
		for _, s := range segs {
			if s.ID == id {
				st = s.Status
				break
			}
		}
		switch st {
		case "":
			return "", fmt.Errorf("yandex: segment %d not found in GET segments: it was deleted on Yandex; delete the audience's yandex state file (or destinations.yandex.id) to create it again", id)
		case StatusProcessed, StatusFewData:
			return st, nil
		case StatusProcessingFailed:
			return st, fmt.Errorf("yandex: segment %d: processing_failed: Yandex could not process the file; check the segment in the Audiences UI and rerun", id)
		case StatusUploaded:
			return st, fmt.Errorf("yandex: segment %d is uploaded but not confirmed; delete it in the Audiences UI and rerun", id)
		}
		if i >= polls {
			return st, fmt.Errorf("yandex: segment %d: %w after %s (status %q): raise sinks.yandex.poll_timeout or rerun later", id, errStillProcessing, d.acct.Cfg.PollTimeout, st)
		}
		if err := d.acct.Opts.Sleep(ctx, d.acct.Cfg.PollInterval); err != nil {
			return st, fmt.Errorf("yandex: waiting for segment %d: %w", id, err)
		}
	}
}

// WritePayloads writes the bodies Apply would send, numbered in sending order: for a new
// segment the CSV file of segments/upload_csv_file and the confirm JSON (its id is assigned
// by the upload, written as 0); otherwise the CSV file of each modify_data call. Apply would
// look for a segment of the same name first and replace it instead; a dry run cannot know.
func (d *Destination) WritePayloads(ctx context.Context, req audience.Request, dir string) (audience.Result, error) {
	res := audience.Result{RemoteID: req.RemoteID, Status: "dry_run"}
	if err := req.Check(64); err != nil {
		return res, err
	}
	n := 0
	write := func(name string, ids []audience.Identifier) error {
		if len(ids) == 0 {
			return nil
		}
		csv, rows, err := BuildCSV(ids)
		if err != nil {
			return err
		}
		n++
		res.Sent += int64(rows)
		return audience.WritePayloadFile(ctx, dir, fmt.Sprintf("%d-%s", n, name), csv)
	}
	switch {
	case req.Create && d.target.ID == 0:
		if len(req.All) < MinSegmentRows {
			res.BelowMinimum = true
			return res, nil
		}
		if err := write("segments_upload_csv_file.csv", req.All); err != nil {
			return res, err
		}
		body, err := json.MarshalIndent(confirmEnvelope{Segment: confirmFor(0, d.segmentName(req))}, "", "  ")
		if err != nil {
			return res, err
		}
		return res, audience.WritePayloadFile(ctx, dir, "2-segment_confirm.json", append(body, '\n'))
	case req.Create, req.Mode == audience.ModeReplace && len(req.All) > 0:
		return res, write("segment_modify_data_replace.csv", req.All)
	}
	if err := write("segment_modify_data_addition.csv", req.Add); err != nil {
		return res, err
	}
	return res, write("segment_modify_data_subtraction.csv", req.Remove)
}

// BuildCSV renders identifiers as the CRM file: a header naming the columns present (email,
// phone) and one row per identifier, the other column empty: Yandex matches every identifier
// on its own, so a row never ties two together. It refuses anything that is not a lowercase
// SHA-256 hex, so a raw value can never be uploaded by mistake; the error names the position,
// never the value.
func BuildCSV(ids []audience.Identifier) ([]byte, int, error) {
	emails, phones := audience.CountTypes(ids)
	if emails+phones == 0 {
		return nil, 0, errors.New("yandex: no e-mail or phone hash to upload")
	}
	var buf bytes.Buffer
	buf.Grow(len(ids) * 66)
	switch {
	case emails > 0 && phones > 0:
		buf.WriteString("email,phone\n")
	case emails > 0:
		buf.WriteString("email\n")
	default:
		buf.WriteString("phone\n")
	}
	both := emails > 0 && phones > 0
	for i, id := range ids {
		if !audience.IsHexHash(id.Hash, 64) {
			return nil, 0, fmt.Errorf("yandex: identifier %d: not a lowercase SHA-256 hex (Yandex takes SHA-256 only; check transforms/contacts)", i)
		}
		switch {
		case both && id.Type == audience.TypePhone:
			buf.WriteByte(',')
			buf.WriteString(id.Hash)
		case both:
			buf.WriteString(id.Hash)
			buf.WriteByte(',')
		default:
			buf.WriteString(id.Hash)
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes(), emails + phones, nil
}

func parseID(s string) (int64, error) { return sinkutil.ParseID(Platform, "segment", s) }
