package yandex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

var _ audience.Lookalikes = (*Destination)(nil)

// lookalikeName is the lookalike segment's name: the configured one, or "<source segment
// name> lookalike <similarity>".
func (d *Destination) lookalikeName(aud string) string {
	l := d.target.Lookalike
	if l.Name != "" {
		return l.Name
	}
	name := d.target.Name
	if name == "" {
		name = aud
	}
	return fmt.Sprintf("%s lookalike %d", name, l.Similarity)
}

func (d *Destination) lookalikeSegment(aud string, source int64) LookalikeSegment {
	l := d.target.Lookalike
	on := func(b *bool) bool { return b == nil || *b }
	return LookalikeSegment{Name: d.lookalikeName(aud), LookalikeLink: source, LookalikeValue: l.Similarity,
		MaintainDeviceDistribution: on(l.KeepDeviceDistribution), MaintainGeoDistribution: on(l.KeepGeoDistribution)}
}

// Lookalike makes sure the lookalike segment of the source segment req.SourceID exists: a
// segment of type lookalike, of this name, built from the source, is kept; otherwise one is
// created once the source is processed (Yandex refuses any other source), through the write
// quota, and never sent again after a lost answer before listing. A source still processing
// is waiting, one Yandex marked few_data below_minimum: a later run creates the lookalike.
// So is a creation the quota refused to the end of the retries: the quota frees up by the
// next run.
func (d *Destination) Lookalike(ctx context.Context, req audience.LookalikeRequest) (res audience.LookalikeResult, err error) {
	if d.target.Lookalike == nil {
		return res, fmt.Errorf("yandex: audience %q has no lookalikes.yandex block", req.Audience)
	}
	source, err := parseID(req.SourceID)
	if err != nil || source == 0 {
		return res, fmt.Errorf("yandex: lookalike of audience %q: source segment %q: %v", req.Audience, req.SourceID, err)
	}
	c, err := d.acct.api()
	if err != nil {
		return res, err
	}
	defer sinkutil.CountRequests(c.Requests, &res.Requests)()
	want := d.lookalikeSegment(req.Audience, source)
	segs, err := c.ListSegments(ctx)
	if err != nil {
		return res, err
	}
	if s, err := findLookalike(segs, want); err != nil || s != nil {
		if err != nil {
			return res, err
		}
		res.RemoteID, res.Status, res.PlatformStatus = strconv.FormatInt(s.ID, 10), audience.StatusUnchanged, s.Status
		return res, nil
	}
	st := ""
	for _, s := range segs {
		if s.ID == source {
			st = s.Status
		}
	}
	switch st {
	case "":
		return res, fmt.Errorf("yandex: lookalike of audience %q: source segment %d is not in GET segments (deleted on Yandex?)", req.Audience, source)
	case StatusProcessed:
	case StatusFewData:
		res.Status, res.Note = audience.StatusBelowMinimum, fmt.Sprintf("source segment %d is few_data (fewer than %d matched records): the lookalike is created on a later run, once it is processed with enough data", source, MinSegmentRows)
		return res, nil
	default:
		res.Status, res.Note = audience.StatusWaiting, fmt.Sprintf("source segment %d is %s, not processed yet: the lookalike is created on a later run", source, st)
		return res, nil
	}
	seg, err := c.CreateLookalike(httpx.Once(ctx), want)
	for attempt := 0; httpx.MaybeServed(err) && attempt < 2; attempt++ {
		// The answer was lost: Yandex may have made it. List before creating again.
		var fresh []Segment
		if fresh, err = c.ListSegments(ctx); err != nil {
			return res, err
		}
		found, ferr := findLookalike(fresh, want)
		if ferr != nil {
			return res, ferr
		}
		if found != nil {
			seg, err = *found, nil
			break
		}
		seg, err = c.CreateLookalike(httpx.Once(ctx), want)
	}
	var ae *APIError
	switch {
	case err == nil && seg.ID == 0:
		return res, errors.New("yandex: create_lookalike: the answer has no segment id")
	case err == nil:
		res.RemoteID, res.Status, res.PlatformStatus = strconv.FormatInt(seg.ID, 10), audience.StatusOK, seg.Status
		return res, nil
	case errors.As(err, &ae) && ae.StatusCode == http.StatusTooManyRequests:
		res.Status, res.Note = audience.StatusWaiting, fmt.Sprintf("Yandex's segment quota is used up (%v): the lookalike is created on a later run", err)
		return res, nil
	case errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest && strings.Contains(ae.Error(), "must be processed"):
		res.Status, res.Note = audience.StatusWaiting, fmt.Sprintf("source segment %d is not processed any more (%v): the lookalike is created on a later run", source, err)
		return res, nil
	}
	return res, fmt.Errorf("yandex: creating lookalike segment %q of segment %d: %w", want.Name, source, err)
}

// findLookalike returns the lookalike segment of want's name built from want's source.
func findLookalike(segs []Segment, want LookalikeSegment) (*Segment, error) {
	var found []Segment
	for _, s := range segs {
		if s.Type == TypeLookalike && s.LookalikeLink == want.LookalikeLink && s.Name == want.Name {
			found = append(found, s)
		}
	}
	return sinkutil.Only(found, segmentID, func(n int, ids string) error {
		return fmt.Errorf("yandex: %d lookalike segments of segment %d are named %q (ids %s): delete the extra ones in the Audiences UI", n, want.LookalikeLink, want.Name, ids)
	})
}

// WriteLookalikePayload writes the body of the segments/create_lookalike call Lookalike
// would make (its source id 0 when the source does not exist yet, as in the source's own dry
// run) and sends nothing. Lookalike would look for a lookalike of this name first.
func (d *Destination) WriteLookalikePayload(ctx context.Context, req audience.LookalikeRequest, dir string) (audience.LookalikeResult, error) {
	res := audience.LookalikeResult{Status: audience.StatusDryRun, Requests: 1}
	if d.target.Lookalike == nil {
		return res, fmt.Errorf("yandex: audience %q has no lookalikes.yandex block", req.Audience)
	}
	source, err := parseID(req.SourceID)
	if err != nil {
		return res, err
	}
	body, err := json.MarshalIndent(lookalikeEnvelope{Segment: d.lookalikeSegment(req.Audience, source)}, "", "  ")
	if err != nil {
		return res, err
	}
	return res, audience.WritePayloadFile(ctx, dir, "segments_create_lookalike.json", append(body, '\n'))
}
