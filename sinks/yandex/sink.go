package yandex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// Platform is this sink's platform name.
const Platform = "yandex"

// Account is the Yandex account of one sinks.yandex config: the HTTP clients and their token
// buckets. Build one per process and make every audience's Destination from it, so that all
// audiences share the account's write quota.
type Account struct {
	cfg  Config
	opts options

	once   sync.Once
	client *Client
	err    error
}

// Destination syncs one audience with one Yandex segment.
type Destination struct {
	acct   *Account
	target Target
}

var _ audience.Destination = (*Destination)(nil)

type options struct {
	http  []httpx.Option
	sleep func(context.Context, time.Duration) error
	log   *slog.Logger
}

// Option configures an Account.
type Option func(*options)

// WithHTTPOptions passes options to the HTTP layer (tests: transport, clock, jitter).
func WithHTTPOptions(o ...httpx.Option) Option {
	return func(op *options) { op.http = append(op.http, o...) }
}

// WithSleep replaces the sleep between status polls (tests record it instead).
func WithSleep(f func(context.Context, time.Duration) error) Option {
	return func(op *options) { op.sleep = f }
}

// WithLogger sets the logger for warnings (few_data) and retries.
func WithLogger(l *slog.Logger) Option {
	return func(op *options) { op.log = l; op.http = append(op.http, httpx.WithLogger(l)) }
}

// NewAccount checks cfg (all but the token, which is resolved on the first Sync so that dry
// runs need no credentials).
func NewAccount(cfg Config, opts ...Option) (*Account, error) {
	if err := cfg.validateShape("sinks.yandex"); err != nil {
		return nil, err
	}
	a := &Account{cfg: cfg.Defaults(), opts: options{sleep: httpx.Sleep, log: slog.New(slog.DiscardHandler)}}
	for _, o := range opts {
		o(&a.opts)
	}
	return a, nil
}

// Destination binds the account to one audience's segment.
func (a *Account) Destination(target Target) (*Destination, error) {
	if err := target.Validate("destinations.yandex"); err != nil {
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

// Platform returns "yandex".
func (d *Destination) Platform() string { return Platform }

func (a *Account) api() (*Client, error) {
	a.once.Do(func() {
		tok, err := a.cfg.Token.Resolve()
		if err != nil {
			a.err = fmt.Errorf("yandex: sinks.yandex.token: %w", err)
			return
		}
		a.client, a.err = NewClient(a.cfg.BaseURL, tok, a.cfg.HTTP, a.cfg.WritesPerMinute, a.opts.http...)
	})
	return a.client, a.err
}

func (d *Destination) segmentName(req audience.SyncRequest) string {
	if d.target.Name != "" {
		return d.target.Name
	}
	return req.Audience
}

// Sync applies req to the segment. Creation uses req.All (req.Add when All is empty); a
// segment found by name without a state id is replaced with the whole audience, because its
// contents are unknown; otherwise removals go first, then additions, so that a member whose
// row changed ends up present. An empty change sends nothing.
func (d *Destination) Sync(ctx context.Context, req audience.SyncRequest) (res audience.Result, err error) {
	started := time.Now()
	c, err := d.acct.api()
	if err != nil {
		return res, err
	}
	before := c.Requests()
	defer func() {
		res.Requests = c.Requests() - before
		res.Duration = time.Since(started)
	}()

	id, err := parseID(req.RemoteID)
	if err != nil {
		return res, err
	}
	if id == 0 {
		id = d.target.ID
	}
	incremental := req.Mode != audience.ModeReplace
	if id != 0 && req.RemoteID != "" && incremental && len(req.Add) == 0 && len(req.Remove) == 0 {
		res.RemoteID, res.Status = req.RemoteID, "unchanged"
		return res, nil
	}
	all := req.All
	if len(all) == 0 && req.RemoteID == "" {
		all = req.Add
	}
	name := d.segmentName(req)
	if id == 0 {
		// No id anywhere: look for a segment of this name first, so that a run that crashed
		// after creating it does not create a second one.
		segs, err := c.ListSegments(ctx)
		if err != nil {
			return res, err
		}
		var found []Segment
		for _, s := range segs {
			if s.Name == name {
				found = append(found, s)
			}
		}
		switch len(found) {
		case 0:
			return d.create(ctx, c, name, all, res)
		case 1:
			id = found[0].ID
		default:
			ids := make([]string, len(found))
			for i, s := range found {
				ids[i] = strconv.FormatInt(s.ID, 10)
			}
			return res, fmt.Errorf("yandex: %d segments are named %q (ids %s): set destinations.yandex.id to the one to keep", len(found), name, strings.Join(ids, ", "))
		}
	}
	res.RemoteID = strconv.FormatInt(id, 10)
	if req.RemoteID == "" || !incremental {
		// Unknown remote contents (found by name or configured id) or replace mode.
		if len(all) == 0 {
			return res, fmt.Errorf("yandex: segment %d: replace with no members is not possible (Yandex rejects an empty file); remove the destination or use mode incremental", id)
		}
		if err := d.modify(ctx, c, id, ModReplace, all, &res); err != nil {
			return res, err
		}
	} else {
		if len(req.Remove) > 0 {
			if err := d.modify(ctx, c, id, ModSubtraction, req.Remove, &res); err != nil {
				return res, err
			}
		}
		if len(req.Add) > 0 {
			if err := d.modify(ctx, c, id, ModAddition, req.Add, &res); err != nil {
				return res, err
			}
		}
	}
	return res, d.finish(ctx, c, id, &res)
}

func (d *Destination) create(ctx context.Context, c *Client, name string, members []audience.Member, res audience.Result) (audience.Result, error) {
	if len(members) == 0 {
		return res, fmt.Errorf("yandex: segment %q: no members to create it with (Yandex rejects an empty file)", name)
	}
	csv, rows, err := BuildCSV(members)
	if err != nil {
		return res, err
	}
	seg, err := c.UploadCSVFile(ctx, csv)
	if err != nil {
		return res, err
	}
	if seg.ID == 0 {
		return res, errors.New("yandex: upload_csv_file: the answer has no segment id")
	}
	res.RemoteID = strconv.FormatInt(seg.ID, 10)
	res.Sent += int64(rows)
	if _, err := c.Confirm(ctx, confirmFor(seg.ID, name)); err != nil {
		return res, fmt.Errorf("%w (segment %d was uploaded but not confirmed; Yandex drops unconfirmed uploads, the next run uploads again)", err, seg.ID)
	}
	res.Created = true
	res.Accepted += int64(rows)
	return res, d.finish(ctx, c, seg.ID, &res)
}

func confirmFor(id int64, name string) ConfirmSegment {
	return ConfirmSegment{ID: id, Name: name, Hashed: true, HashingAlg: "SHA256", ContentType: "crm"}
}

// modify waits until the segment can take a change (Yandex refuses changes while it
// processes the previous one), then sends it.
func (d *Destination) modify(ctx context.Context, c *Client, id int64, kind string, members []audience.Member, res *audience.Result) error {
	csv, rows, err := BuildCSV(members)
	if err != nil {
		return err
	}
	if _, err := d.waitProcessed(ctx, c, id); err != nil {
		return err
	}
	if _, err := c.ModifyData(ctx, id, kind, csv); err != nil {
		return err
	}
	res.Sent += int64(rows)
	res.Accepted += int64(rows)
	return nil
}

// errStillProcessing is returned by waitProcessed when the poll budget ran out.
var errStillProcessing = errors.New("still processing")

// waitProcessed polls GET segments until the segment is processed (or few_data), at most
// PollTimeout/PollInterval times after the first look.
func (d *Destination) waitProcessed(ctx context.Context, c *Client, id int64) (string, error) {
	polls := int(d.acct.cfg.PollTimeout / max(d.acct.cfg.PollInterval, time.Millisecond))
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
			return st, fmt.Errorf("yandex: segment %d: %w after %s (status %q): raise sinks.yandex.poll_timeout or rerun later", id, errStillProcessing, d.acct.cfg.PollTimeout, st)
		}
		if err := d.acct.opts.sleep(ctx, d.acct.cfg.PollInterval); err != nil {
			return st, fmt.Errorf("yandex: waiting for segment %d: %w", id, err)
		}
	}
}

// finish waits for the last change. A change that Yandex accepted but has not finished
// processing within the poll budget is not an error: the data is there, and the next run
// waits for it before its own change.
func (d *Destination) finish(ctx context.Context, c *Client, id int64, res *audience.Result) error {
	st, err := d.waitProcessed(ctx, c, id)
	res.Status = st
	if errors.Is(err, errStillProcessing) {
		d.acct.opts.log.Warn("yandex segment still processing", "segment", id, "status", st)
		return nil
	}
	if err != nil {
		return err
	}
	if st == StatusFewData {
		if res.Extra == nil {
			res.Extra = map[string]int64{}
		}
		res.Extra["few_data"] = 1
		d.acct.opts.log.Warn("yandex segment has too few matched records to be used in ads (few_data)",
			"segment", id, "min_rows", MinSegmentRows)
	}
	return nil
}

// WritePayloads writes the bodies Sync would send: for a creation the CSV file of
// segments/upload_csv_file and the confirm JSON (its id is assigned by the upload, written
// as 0); for a change the CSV file of each modify_data call. Sync would look for a segment
// of the same name first and replace it instead of creating one; a dry run cannot know.
func (d *Destination) WritePayloads(req audience.SyncRequest, dir string) (audience.Result, error) {
	res := audience.Result{RemoteID: req.RemoteID, Status: "dry_run"}
	id, err := parseID(req.RemoteID)
	if err != nil {
		return res, err
	}
	if id == 0 {
		id = d.target.ID
	}
	all := req.All
	if len(all) == 0 && req.RemoteID == "" {
		all = req.Add
	}
	write := func(name string, members []audience.Member) error {
		csv, rows, err := BuildCSV(members)
		if err != nil {
			return err
		}
		res.Sent += int64(rows)
		return audience.WritePayloadFile(dir, name, csv)
	}
	switch {
	case id == 0:
		if len(all) == 0 {
			return res, nil
		}
		if err := write("segments_upload_csv_file.csv", all); err != nil {
			return res, err
		}
		body, err := json.MarshalIndent(confirmEnvelope{Segment: confirmFor(0, d.segmentName(req))}, "", "  ")
		if err != nil {
			return res, err
		}
		return res, audience.WritePayloadFile(dir, "segment_confirm.json", append(body, '\n'))
	case req.RemoteID == "" || req.Mode == audience.ModeReplace:
		if len(all) == 0 {
			return res, nil
		}
		return res, write("segment_modify_data_replace.csv", all)
	}
	if len(req.Remove) > 0 {
		if err := write("segment_modify_data_subtraction.csv", req.Remove); err != nil {
			return res, err
		}
	}
	if len(req.Add) > 0 {
		if err := write("segment_modify_data_addition.csv", req.Add); err != nil {
			return res, err
		}
	}
	return res, nil
}

// BuildCSV renders members as the CRM file: a header naming the columns present (email,
// phone) and one row per member with its SHA-256 hashes. It refuses anything that is not a
// lowercase SHA-256 hex, so a raw value can never be uploaded by mistake; the error names
// the member's key, never the value.
func BuildCSV(members []audience.Member) ([]byte, int, error) {
	hasEmail, hasPhone := false, false
	for _, m := range members {
		hasEmail = hasEmail || m.Email != ""
		hasPhone = hasPhone || m.Phone != ""
	}
	var cols []string
	if hasEmail {
		cols = append(cols, "email")
	}
	if hasPhone {
		cols = append(cols, "phone")
	}
	if len(cols) == 0 {
		return nil, 0, errors.New("yandex: no member has an e-mail or phone hash")
	}
	var buf bytes.Buffer
	buf.Grow(len(members) * 130)
	buf.WriteString(strings.Join(cols, ","))
	buf.WriteByte('\n')
	rows := 0
	for _, m := range members {
		if m.Email == "" && m.Phone == "" {
			continue
		}
		for _, h := range [2]string{m.Email, m.Phone} {
			if h != "" && !audience.IsSHA256Hex(h) {
				return nil, 0, fmt.Errorf("yandex: member %s: identifier is not a lowercase SHA-256 hex (Yandex takes SHA-256 only; check transforms/contacts)", m.Key)
			}
		}
		if hasEmail {
			buf.WriteString(m.Email)
		}
		if hasEmail && hasPhone {
			buf.WriteByte(',')
		}
		if hasPhone {
			buf.WriteString(m.Phone)
		}
		buf.WriteByte('\n')
		rows++
	}
	return buf.Bytes(), rows, nil
}

func parseID(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("yandex: remote id %q from state is not a segment id: fix or delete the audience's yandex state file", s)
	}
	return id, nil
}
