package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/pipelines/config/yamlfield"
	"github.com/audiencesync/audiencesync/sinks/delivery"
	"github.com/audiencesync/audiencesync/sinks/googleads"
	"github.com/audiencesync/audiencesync/sinks/meta"
	"github.com/audiencesync/audiencesync/sinks/yandex"
	"gopkg.in/yaml.v3"
)

// bound is the documented range of one numeric key. Every size-like or count-like value
// the run loops over, allocates by, waits for or sends in a batch has one, so that a typo
// such as `restarts: 1000000000` fails at start-up with the key and its line instead of
// hanging the run or exhausting memory. Pattern segments: a key, `[*]` for any list index,
// `*` for any key (the four sinks).
type bound struct {
	pattern  string
	min, max float64
	// minOpen / maxOpen make an end exclusive (a share must be > 0, a rate < 10).
	minOpen, maxOpen bool
	// zero, when set, says what 0 means (the sink default); 0 is then allowed outside the range.
	zero string
}

// bounds is the table README.md's "Config" section documents; keep the two in step. Checks
// that depend on another key (k-means k = 1, reminder until_days >= after_days, RFM grid
// scores within 1..bins, base_backoff <= max_backoff) stay in the owning package's Validate.
var bounds = []bound{
	{pattern: "metrics.activity_window_days", min: 1, max: 3660, zero: "default 365"},
	{pattern: "metrics.clv_lifetime_days", min: 1, max: 3660, zero: "default 730"},

	{pattern: "rfm.lookback_days", min: 0, max: 3660}, // 0 = all history, within the range

	{pattern: "kmeans.k", min: 0, max: 50}, // 0 = choose 2..8 by silhouette; 1 is refused by kmeans
	{pattern: "kmeans.restarts", min: 1, max: 100},
	{pattern: "kmeans.max_iter", min: 1, max: 1000},
	{pattern: "kmeans.tolerance", min: 0, max: 1},
	{pattern: "kmeans.sample_size", min: 10, max: 1_000_000},
	// The silhouette is quadratic in its sample: 20,000 is ~2·10^8 distances per k tried.
	{pattern: "kmeans.silhouette_sample", min: 10, max: 20_000, zero: "unused when k > 0"},

	{pattern: "segments.rules[*].reminders[*].after_days", min: 0, max: 3660},
	{pattern: "segments.rules[*].reminders[*].until_days", min: 0, max: 3660},

	{pattern: "clv.horizon_days", min: 0, max: 3660, minOpen: true},
	{pattern: "clv.margin", min: 0, max: 1, minOpen: true},
	{pattern: "clv.discount_rate", min: 0, max: 10, maxOpen: true},
	{pattern: "clv.starts", min: 1, max: 100},
	{pattern: "clv.fit_sample_rate", min: 0, max: 1, minOpen: true},

	{pattern: "audiences[*].max_remove_share", min: 0, max: 1},
	{pattern: "audiences[*].lookalikes.yandex.similarity", min: yandex.MinSimilarity, max: yandex.MaxSimilarity},
	{pattern: "audiences[*].lookalikes.meta.ratio", min: meta.MinLookalikeRatio, max: meta.MaxLookalikeRatio},

	{pattern: "inputs.*.max_rejected_share", min: 0, max: 1},

	{pattern: "sinks.yandex.writes_per_minute", min: 0.1, max: 60, zero: "default 10"},
	{pattern: "sinks.yandex.poll_interval", min: float64(time.Second), max: float64(10 * time.Minute), zero: "default 15s"},
	{pattern: "sinks.yandex.poll_timeout", min: float64(10 * time.Second), max: float64(24 * time.Hour), zero: "default 10m"},
	{pattern: "sinks.vk.uploads_per_minute", min: 0.1, max: 60, zero: "default 1"},
	{pattern: "sinks.meta.batch_size", min: 1, max: meta.MaxBatchSize, zero: "default 10000"},
	{pattern: "sinks.google.batch_size", min: 1, max: googleads.MaxBatchSize, zero: "default 10000"},
	{pattern: "sinks.google.parallel_requests", min: 1, max: googleads.MaxParallelRequests, zero: "default 2"},
	{pattern: "sinks.*.http.timeout", min: float64(time.Second), max: float64(10 * time.Minute), zero: "default 30s"},
	{pattern: "sinks.*.http.max_attempts", min: 1, max: 20, zero: "default 5"},
	{pattern: "sinks.*.http.base_backoff", min: float64(10 * time.Millisecond), max: float64(time.Minute), zero: "default 500ms"},
	{pattern: "sinks.*.http.max_backoff", min: float64(100 * time.Millisecond), max: float64(10 * time.Minute), zero: "default 30s"},
	{pattern: "sinks.*.http.max_wait", min: float64(time.Second), max: float64(time.Hour), zero: "default 5m"},
	{pattern: "sinks.*.http.rate_per_sec", min: 0.01, max: 100, zero: "the sink's default"},
	{pattern: "sinks.*.http.burst", min: 1, max: 100, zero: "default 1"},

	{pattern: "bigquery.read_streams", min: 1, max: 1000, zero: "default 4"},
	{pattern: "bigquery.timeout", min: float64(time.Second), max: float64(24 * time.Hour), zero: "default 30m"},
	{pattern: "bigquery.upload_chunk_mb", min: -1, max: 1024, zero: "the client's default, 16"}, // -1 = one streamed request
}

// unbounded lists the numeric keys that are not sizes or counts, with the reason; a test
// fails when a numeric key is in neither list.
var unbounded = map[string]string{
	"version":                             "checked against the supported version",
	"kmeans.seed":                         "any seed is valid",
	"rfm.bins":                            "3 or 5, checked by rfm",
	"rfm.segments[*].r[*]":                "a score within 1..bins, checked by rfm",
	"rfm.segments[*].f[*]":                "a score within 1..bins, checked by rfm",
	"audiences[*].destinations.yandex.id": "a platform id",
	"audiences[*].destinations.vk.id":     "a platform id",
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	nodeType     = reflect.TypeOf(yaml.Node{})
)

// checkBounds returns the first value outside its bound, as
// `kmeans.restarts: 1000000000 (want 1..100)`.
func (c *Config) checkBounds() error {
	var err error
	walkNumbers(reflect.ValueOf(c).Elem(), "", func(path string, v reflect.Value) bool {
		b, ok := boundFor(path)
		if !ok {
			return true
		}
		err = b.check(path, v)
		return err == nil
	})
	return err
}

func boundFor(path string) (bound, bool) {
	p := patternOf(path)
	for _, b := range bounds {
		if matchPattern(b.pattern, p) {
			return b, true
		}
	}
	return bound{}, false
}

// patternOf turns list indexes into [*]: audiences[2].max_remove_share → audiences[*].max_remove_share.
func patternOf(path string) string {
	var sb strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] == '[' {
			j := strings.IndexByte(path[i:], ']')
			if j > 0 {
				sb.WriteString("[*]")
				i += j
				continue
			}
		}
		sb.WriteByte(path[i])
	}
	return sb.String()
}

// matchPattern compares dotted segments; a pattern segment "*" matches any one key.
func matchPattern(pattern, p string) bool {
	ps, qs := strings.Split(pattern, "."), strings.Split(p, ".")
	if len(ps) != len(qs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != qs[i] {
			return false
		}
	}
	return true
}

func (b bound) check(path string, v reflect.Value) error {
	var x float64
	var shown string
	switch {
	case v.Type() == durationType:
		x, shown = float64(v.Int()), time.Duration(v.Int()).String()
	case v.CanInt():
		x, shown = float64(v.Int()), strconv.FormatInt(v.Int(), 10)
	case v.CanUint():
		x, shown = float64(v.Uint()), strconv.FormatUint(v.Uint(), 10)
	case v.CanFloat():
		x, shown = v.Float(), strconv.FormatFloat(v.Float(), 'g', -1, 64)
	default:
		return nil
	}
	if x == 0 && b.zero != "" {
		return nil
	}
	lo := x > b.min || (!b.minOpen && x == b.min)
	hi := x < b.max || (!b.maxOpen && x == b.max)
	if lo && hi && !math.IsNaN(x) {
		return nil
	}
	return fmt.Errorf("%s: %s (want %s)", path, shown, b.want(v.Type() == durationType))
}

// want renders the range: "1..100", "> 0 and <= 1", "1s..10m0s; 0 = default 30s".
func (b bound) want(duration bool) string {
	f := func(x float64) string {
		if duration {
			return time.Duration(x).String()
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	var s string
	switch {
	case b.minOpen && b.maxOpen:
		s = fmt.Sprintf("> %s and < %s", f(b.min), f(b.max))
	case b.minOpen:
		s = fmt.Sprintf("> %s and <= %s", f(b.min), f(b.max))
	case b.maxOpen:
		s = fmt.Sprintf(">= %s and < %s", f(b.min), f(b.max))
	default:
		s = f(b.min) + ".." + f(b.max)
	}
	if b.zero != "" {
		s += "; 0 = " + b.zero
	}
	return s
}

// walkNumbers calls visit for every numeric field (ints, uints, floats, durations; through
// pointers, lists, inline structs and the audiences' destination and lookalike blocks) with
// its config path. visit returns false to stop.
func walkNumbers(v reflect.Value, path string, visit func(path string, v reflect.Value) bool) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true
		}
		return walkNumbers(v.Elem(), path, visit)
	case reflect.Struct:
		if v.Type() == nodeType {
			return true
		}
		for f := range yamlfield.Of(v.Type()) {
			p := fieldPath(f, path)
			if !walkNumbers(v.Field(f.Index), p, visit) {
				return false
			}
			if typeOf := blockTypes[f.Name]; typeOf != nil && f.Type.Kind() == reflect.Map {
				if !walkBlocks(v.Field(f.Index), p, typeOf, visit) {
					return false
				}
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if !walkNumbers(v.Index(i), fmt.Sprintf("%s[%d]", path, i), visit) {
				return false
			}
		}
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return visit(path, v)
	}
	return true
}

// blockTypes are an audience's per-platform blocks kept as YAML nodes, with the type each
// platform's block decodes into (the delivery registry's).
var blockTypes = map[string]func(platform string) reflect.Type{
	"destinations": delivery.TargetType,
	"lookalikes":   delivery.LookalikeType,
}

// walkBlocks decodes each platform's block into the type typeOf gives and walks it; blocks
// that do not decode (or whose platform has no type) are left to the audience plan, which
// reports them.
func walkBlocks(m reflect.Value, path string, typeOf func(string) reflect.Type, visit func(string, reflect.Value) bool) bool {
	nodes, ok := m.Interface().(map[string]yaml.Node)
	if !ok {
		return true
	}
	for _, plat := range delivery.Platforms() {
		t := typeOf(plat)
		n, ok := nodes[plat]
		if !ok || n.Kind == 0 || t == nil {
			continue
		}
		target := reflect.New(t)
		if n.Decode(target.Interface()) != nil {
			continue
		}
		if !walkNumbers(target.Elem(), path+"."+plat, visit) {
			return false
		}
	}
	return true
}

// yamlKey returns the YAML key of a struct field as yaml.v3 names it; ok is false for the
// fields it skips (unexported, `yaml:"-"`), inline for `yaml:",inline"`.
// fieldPath is f's config path in a struct at parent (an inline field's is parent).
func fieldPath(f yamlfield.Field, parent string) string {
	if f.Inline {
		return parent
	}
	return join(parent, f.Name)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
