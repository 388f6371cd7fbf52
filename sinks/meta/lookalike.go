package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinkutil"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// MinLookalikeSource is Meta's minimum of people in a lookalike's source ("Origin audiences
// must have at least 100 members"). A source with fewer confirmed identifiers has fewer
// people too (one person may have an e-mail and a phone), so no creation is tried below it.
const MinLookalikeSource = 100

var _ audience.Lookalikes = (*Destination)(nil)

// lookalikeName is the lookalike's name: the configured one, or "<seed> lookalike 2% RU".
func (d *Destination) lookalikeName(aud string) string {
	l := d.t.Lookalike
	if l.Name != "" {
		return l.Name
	}
	return fmt.Sprintf("%s lookalike %d%% %s", d.nameOf(aud), int(math.Round(l.Ratio*100)), l.Country)
}

func (d *Destination) lookalikeRequest(req audience.LookalikeRequest, origin string) CreateLookalikeRequest {
	l := d.t.Lookalike
	return CreateLookalikeRequest{Name: d.lookalikeName(req.Audience), OriginID: origin,
		Spec: LookalikeSpec{Type: "custom_ratio", Ratio: l.Ratio, Country: l.Country}}
}

// Lookalike makes sure the lookalike of the seed req.SourceID exists: it lists the ad
// account's audiences and keeps the lookalike of this name built from the seed; otherwise it
// creates one (never sent again after a lost answer before listing). Meta answers error 2654
// both for a seed too small in the country and for a duplicate (a lookalike of the same
// seed, country and ratio under another name): the first is below_minimum (tried again on
// later runs), the second adopts the existing lookalike.
func (d *Destination) Lookalike(ctx context.Context, req audience.LookalikeRequest) (res audience.LookalikeResult, err error) {
	if d.t.Lookalike == nil {
		return res, fmt.Errorf("meta: audience %q has no lookalikes.meta block", req.Audience)
	}
	c, err := d.acct.api()
	if err != nil {
		return res, err
	}
	defer sinkutil.CountRequests(c.Requests, &res.Requests)()
	want := d.lookalikeRequest(req, req.SourceID)
	// find returns the lookalike of the seed by name, or (anyName) by spec.
	find := func(anyName bool) (*CustomAudience, error) {
		list, err := c.ListCustomAudiences(ctx, d.t.account())
		if err != nil {
			return nil, fmt.Errorf("meta: lookalike of audience %q: listing act_%s: %w", req.Audience, d.t.account(), err)
		}
		var found []CustomAudience
		for _, a := range list {
			if a.Subtype != "LOOKALIKE" || a.LookalikeSpec == nil || !fromOrigin(a, req.SourceID) {
				continue
			}
			sameSpec := a.LookalikeSpec.Country == want.Spec.Country && math.Abs(a.LookalikeSpec.Ratio-want.Spec.Ratio) < 1e-9
			if a.Name == want.Name || anyName && sameSpec {
				found = append(found, a)
			}
		}
		return sinkutil.Only(found, func(a CustomAudience) string { return a.ID }, func(n int, ids string) error {
			return fmt.Errorf("meta: %d lookalikes of custom audience %s are named %q (ids %s): delete the extra ones in Ads Manager", n, req.SourceID, want.Name, ids)
		})
	}
	done := func(a *CustomAudience, status, note string) (audience.LookalikeResult, error) {
		res.RemoteID, res.Status, res.Note, res.Size = a.ID, status, note, a.ApproximateCount
		return res, nil
	}
	a, err := find(false)
	if err != nil || a != nil {
		if err != nil {
			return res, err
		}
		return done(a, audience.StatusUnchanged, "")
	}
	if req.SourceSize < MinLookalikeSource {
		res.Status = audience.StatusBelowMinimum
		res.Note = fmt.Sprintf("the source custom audience %s holds %d identifiers; Meta builds a lookalike from at least %d people: it is created on a later run, once the audience is large enough", req.SourceID, req.SourceSize, MinLookalikeSource)
		return res, nil
	}
	id, err := c.CreateLookalike(httpx.Once(ctx), d.t.account(), want)
	for attempt := 0; httpx.MaybeServed(err) && attempt < 2; attempt++ {
		// The answer was lost: Meta may have made it. List before creating again.
		if a, err := find(false); err != nil || a != nil {
			if err != nil {
				return res, err
			}
			return done(a, audience.StatusOK, "")
		}
		id, err = c.CreateLookalike(httpx.Once(ctx), d.t.account(), want)
	}
	var ae *APIError
	switch {
	case err == nil:
		res.RemoteID, res.Status = id, audience.StatusOK
		return res, nil
	case errors.As(err, &ae) && ae.Code == 2654 && strings.Contains(strings.ToLower(ae.Message), "too small"):
		// Also the answer while a fresh seed is still being matched: not yet, not a failure.
		res.Status, res.Note = audience.StatusBelowMinimum, "Meta: "+ae.Message+" (the lookalike is created on a later run)"
		return res, nil
	case errors.As(err, &ae) && ae.Code == 2654 && strings.Contains(strings.ToLower(ae.Message), "duplicate"):
		a, ferr := find(true)
		if ferr != nil {
			return res, ferr
		}
		if a != nil {
			return done(a, audience.StatusUnchanged, fmt.Sprintf("Meta already has a lookalike of this source, country and ratio, named %q (id %s): kept; name it %q (or set lookalikes.meta.name) so that later runs find it by name", a.Name, a.ID, want.Name))
		}
	}
	return res, fmt.Errorf("meta: creating lookalike %q of custom audience %s: %w", want.Name, req.SourceID, err)
}

func fromOrigin(a CustomAudience, origin string) bool {
	for _, o := range a.LookalikeSpec.Origin {
		if o.ID == origin {
			return true
		}
	}
	return false
}

// WriteLookalikePayload writes the creation call Lookalike would make (meta-lookalike.json;
// without access_token and appsecret_proof) and sends nothing. Without a source on record
// its id is "{new_audience_id}", as in the source's own dry run; Lookalike would look for a
// lookalike of this name first and create nothing when it finds one.
func (d *Destination) WriteLookalikePayload(ctx context.Context, req audience.LookalikeRequest, dir string) (audience.LookalikeResult, error) {
	res := audience.LookalikeResult{Status: audience.StatusDryRun, Requests: 1}
	if d.t.Lookalike == nil {
		return res, fmt.Errorf("meta: audience %q has no lookalikes.meta block", req.Audience)
	}
	origin := req.SourceID
	if origin == "" {
		origin = "{new_audience_id}"
	}
	params := map[string]string{}
	for k, v := range d.lookalikeRequest(req, origin).form() {
		params[k] = v[0]
	}
	body, err := json.Marshal(map[string]any{"method": "POST", "path": "/" + d.acct.Cfg.APIVersion + "/act_" + d.t.account() + "/customaudiences", "params": params})
	if err != nil {
		return res, err
	}
	return res, audience.WritePayloadFile(ctx, dir, "meta-lookalike.json", append(body, '\n'))
}
