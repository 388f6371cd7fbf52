package metatest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
)

// Value-based audiences and lookalikes, as in docs/ad-platforms.md ("Lookalike and
// value-based audiences") and the research notes: a value-based audience takes uploads only
// with LOOKALIKE_VALUE (a JSON number >= 0 per row); a lookalike names an origin custom
// audience of the same account with at least MinSeed people, a spec with a ratio of 0.01 to
// 0.20 in steps of 0.01 (or a legacy type) and a country; the same origin, country and ratio
// twice is refused; both refusals are error 2654, told apart only by their message.

// LookalikeSpec is a lookalike's lookalike_spec as the fake keeps it.
type LookalikeSpec struct {
	Type          string  // custom_ratio, similarity or reach
	Ratio         float64 // 0 with a similarity/reach type
	StartingRatio float64
	Country       string
}

// Graph's messages for error 2654 (from Meta's SDK examples and issue threads).
const (
	MsgTooSmall  = "(#2654) Source Audience is Too Small: There aren't enough people in your source in the country you chose. Please choose a country that includes at least 100 people in your source."
	MsgDuplicate = "(#2654) Can't Create a Duplicate Lookalike: You've already created a lookalike audience with the same source, country and size."
)

// listFields are the custom audience fields the fake can list.
var listFields = map[string]bool{"id": true, "name": true, "subtype": true, "lookalike_spec": true,
	"approximate_count_lower_bound": true, "is_value_based": true, "description": true}

// LookalikeSize is the approximate_count_lower_bound the fake reports for a lookalike: its
// ratio of a 100,000,000-people country (0.02 → 2,000,000).
func LookalikeSize(ratio float64) int64 { return int64(math.Round(ratio * 100_000_000)) }

// fields renders the listed fields of one audience.
func (s *Server) fields(a *Audience, fields []string) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		switch f {
		case "id":
			out["id"] = a.ID
		case "name":
			out["name"] = a.Name
		case "subtype":
			out["subtype"] = a.Subtype
		case "description":
			if a.Description != "" {
				out["description"] = a.Description
			}
		case "is_value_based":
			out["is_value_based"] = a.ValueBased
		case "approximate_count_lower_bound":
			if a.Subtype == "LOOKALIKE" {
				out[f] = LookalikeSize(a.Spec.Ratio)
			} else {
				out[f] = len(a.emails) + len(a.phones)
			}
		case "lookalike_spec":
			if a.Subtype != "LOOKALIKE" {
				continue
			}
			spec := map[string]any{"type": a.Spec.Type, "country": a.Spec.Country}
			if a.Spec.Ratio > 0 {
				spec["ratio"] = a.Spec.Ratio
			}
			if o := s.audiences[a.OriginID]; o != nil {
				spec["origin"] = []map[string]string{{"id": o.ID, "name": o.Name, "type": "custom_audience"}}
			}
			out[f] = spec
		}
	}
	return out
}

var reCountry = regexp.MustCompile(`^[A-Z]{2}$`)

type specParam struct {
	Type                    *string  `json:"type"`
	Ratio                   *float64 `json:"ratio"`
	StartingRatio           *float64 `json:"starting_ratio"`
	Country                 *string  `json:"country"`
	AllowInternationalSeeds *bool    `json:"allow_international_seeds"`
	LocationSpec            *struct {
		GeoLocations struct {
			Countries     []string `json:"countries"`
			CountryGroups []string `json:"country_groups"`
		} `json:"geo_locations"`
	} `json:"location_spec"`
}

// onGrid reports a ratio in 0.01..0.20 on Meta's steps of 0.01.
func onGrid(r float64) bool {
	pct := r * 100
	return r >= 0.01-1e-12 && r <= 0.20+1e-12 && math.Abs(pct-math.Round(pct)) < 1e-9
}

// createLookalike is POST /act_{id}/customaudiences with subtype=LOOKALIKE.
func (s *Server) createLookalike(account, name string, p url.Values) (any, *graphError, string) {
	if name == "" {
		return nil, &graphError{400, 100, "name is required"}, ""
	}
	origin := s.audiences[p.Get("origin_audience_id")]
	if origin == nil || origin.AccountID != account || origin.Subtype != "CUSTOM" {
		return nil, &graphError{400, 100, fmt.Sprintf("(#100) origin_audience_id %q is not a custom audience of act_%s", p.Get("origin_audience_id"), account)}, ""
	}
	var sp specParam
	dec := json.NewDecoder(strings.NewReader(p.Get("lookalike_spec")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sp); err != nil {
		return nil, &graphError{400, 100, "(#100) lookalike_spec is not a valid JSON object: " + err.Error()}, ""
	}
	var spec LookalikeSpec
	switch {
	case sp.Type == nil && sp.Ratio == nil:
		return nil, &graphError{400, 100, "(#100) lookalike_spec: set either type or ratio"}, ""
	case sp.Type != nil && (*sp.Type == "similarity" || *sp.Type == "reach"):
		if sp.Ratio != nil {
			return nil, &graphError{400, 100, "(#100) lookalike_spec: set either type or ratio, not both"}, ""
		}
		spec.Type = *sp.Type
	case sp.Type != nil && *sp.Type != "custom_ratio":
		return nil, &graphError{400, 100, "(#100) lookalike_spec.type must be similarity, reach or custom_ratio"}, ""
	case sp.Ratio == nil:
		return nil, &graphError{400, 100, "(#100) lookalike_spec: custom_ratio needs a ratio"}, ""
	case !onGrid(*sp.Ratio):
		return nil, &graphError{400, 100, fmt.Sprintf("(#100) lookalike_spec.ratio %v: must be between 0.01 and 0.20, in steps of 0.01", *sp.Ratio)}, ""
	default:
		spec.Type, spec.Ratio = "custom_ratio", *sp.Ratio
	}
	if sp.StartingRatio != nil {
		if spec.Ratio == 0 || *sp.StartingRatio >= spec.Ratio || !onGrid(*sp.StartingRatio) && *sp.StartingRatio != 0 {
			return nil, &graphError{400, 100, "(#100) lookalike_spec.starting_ratio must be below ratio, on the 0.01 grid"}, ""
		}
		spec.StartingRatio = *sp.StartingRatio
	}
	switch {
	case sp.Country != nil && sp.LocationSpec != nil:
		return nil, &graphError{400, 100, "(#100) lookalike_spec: set either country or location_spec"}, ""
	case sp.Country != nil && reCountry.MatchString(*sp.Country):
		spec.Country = *sp.Country
	case sp.LocationSpec != nil && len(sp.LocationSpec.GeoLocations.Countries)+len(sp.LocationSpec.GeoLocations.CountryGroups) > 0:
		spec.Country = strings.Join(append(sp.LocationSpec.GeoLocations.Countries, sp.LocationSpec.GeoLocations.CountryGroups...), ",")
	default:
		return nil, &graphError{400, 100, "(#100) lookalike_spec needs a country (ISO 3166-1 alpha-2) or location_spec.geo_locations"}, ""
	}
	if n := len(origin.emails) + len(origin.phones); n < s.MinSeed {
		return nil, &graphError{400, 2654, MsgTooSmall}, ""
	}
	for _, x := range s.audiences {
		if x.Subtype == "LOOKALIKE" && x.AccountID == account && x.OriginID == origin.ID && x.Spec.Country == spec.Country && x.Spec.Ratio == spec.Ratio && x.Spec.Type == spec.Type {
			return nil, &graphError{400, 2654, MsgDuplicate}, ""
		}
	}
	a := s.create(account, name, "LOOKALIKE", "", p.Get("description"))
	a.OriginID, a.Spec = origin.ID, spec
	return map[string]string{"id": a.ID}, nil, ""
}

// AddLookalike creates a lookalike directly (as if made in Ads Manager) and returns its id.
func (s *Server) AddLookalike(accountID, name, originID string, ratio float64, country string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.create(accountID, name, "LOOKALIKE", "", "")
	a.OriginID, a.Spec = originID, LookalikeSpec{Type: "custom_ratio", Ratio: ratio, Country: country}
	return a.ID
}

// decodeRows checks a payload's rows: hashed keys are JSON strings holding a lowercase
// SHA-256 hex (or empty), unhashed keys strings, LOOKALIKE_VALUE a JSON number >= 0. It
// returns each row's strings (the value column left empty) and, when the schema has
// LOOKALIKE_VALUE, each row's value.
func decodeRows(pl payload) ([][]string, []float64, *graphError) {
	vcol := -1
	for j, k := range pl.Schema {
		if k == "LOOKALIKE_VALUE" {
			vcol = j
		}
	}
	cells := make([][]string, len(pl.Data))
	var values []float64
	if vcol >= 0 {
		values = make([]float64, len(pl.Data))
	}
	for i, row := range pl.Data {
		if len(row) != len(pl.Schema) {
			return nil, nil, &graphError{400, 100, fmt.Sprintf("payload.data[%d] has %d values for %d schema keys", i, len(row), len(pl.Schema))}
		}
		cells[i] = make([]string, len(row))
		for j, raw := range row {
			raw = bytes.TrimSpace(raw)
			if j == vcol {
				// A number, not a string: "12.5" or "NaN" is refused.
				if len(raw) == 0 || raw[0] == '"' {
					return nil, nil, &graphError{400, 100, fmt.Sprintf("payload.data[%d][%d] (LOOKALIKE_VALUE) must be a JSON number", i, j)}
				}
				v, err := strconv.ParseFloat(string(raw), 64)
				if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
					return nil, nil, &graphError{400, 100, fmt.Sprintf("payload.data[%d][%d] (LOOKALIKE_VALUE) %s: must be a non-negative number", i, j, raw)}
				}
				values[i] = v
				continue
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, nil, &graphError{400, 100, fmt.Sprintf("payload.data[%d][%d] (%s) must be a JSON string", i, j, pl.Schema[j])}
			}
			if v != "" && !unhashed[pl.Schema[j]] && !httpxtest.IsHexHash(v, 64) {
				// Raw PII must never arrive: refuse the request rather than count it.
				return nil, nil, &graphError{400, 100, fmt.Sprintf("payload.data[%d][%d] (%s) is not a lowercase SHA-256 hex hash", i, j, pl.Schema[j])}
			}
			cells[i][j] = v
		}
	}
	return cells, values, nil
}

// Values returns the LOOKALIKE_VALUE of each e-mail and phone hash of a value-based audience.
func (s *Server) Values(audienceID string) map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]float64{}
	if a := s.audiences[audienceID]; a != nil {
		for k, v := range a.values {
			out[hex.EncodeToString(k[:])] = v
		}
	}
	return out
}
