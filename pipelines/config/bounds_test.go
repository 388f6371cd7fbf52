package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/pipelines/config/yamlfield"
	"github.com/audiencesync/audiencesync/sinks/delivery"
	"github.com/audiencesync/audiencesync/sinks/googleads"
	"github.com/audiencesync/audiencesync/sinks/meta"
	"github.com/audiencesync/audiencesync/sinks/vkads"
	"github.com/audiencesync/audiencesync/sinks/yandex"
)

// Every bounded key, written into a small config at a known line: the accepted values (the
// ends of the range, and 0 where it means the default) parse, the rejected ones fail with
// `cfg.yaml:LINE: path: value (want range)`. Ranges and lines are written out by hand here,
// not taken from the bounds table.
func TestBounds(t *testing.T) {
	const sink = "sinks:\n  %s:\n    %s: %%s\n" // the key on line 3
	const http = "sinks:\n  %s:\n    http:\n      %s: %%s\n"
	type tc struct {
		path, yaml string // yaml has one %s for the value
		line       int
		want       string   // the "(want …)" text
		ok, bad    []string // values as written in YAML
	}
	cases := []tc{
		{"metrics.activity_window_days", "metrics:\n  activity_window_days: %s\n", 2, "1..3660; 0 = default 365",
			[]string{"0", "1", "365", "3660"}, []string{"-1", "3661", "100000000"}},
		{"metrics.clv_lifetime_days", "metrics:\n  period: week\n  clv_lifetime_days: %s\n", 3, "1..3660; 0 = default 730",
			[]string{"0", "1", "3660"}, []string{"-5", "3661"}},
		{"rfm.lookback_days", "rfm:\n  bins: 5\n  lookback_days: %s\n", 3, "0..3660",
			[]string{"0", "1", "3660"}, []string{"-1", "3661", "2147483648"}},
		{"kmeans.k", "kmeans:\n  k: %s\n", 2, "0..50",
			[]string{"0", "2", "50"}, []string{"-1", "51"}},
		{"kmeans.restarts", "version: 1\nkmeans:\n  restarts: %s\n", 3, "1..100",
			[]string{"1", "100"}, []string{"0", "101", "1000000000"}},
		{"kmeans.max_iter", "kmeans:\n  max_iter: %s\n", 2, "1..1000",
			[]string{"1", "1000"}, []string{"0", "1001"}},
		{"kmeans.tolerance", "kmeans:\n  tolerance: %s\n", 2, "0..1",
			[]string{"0", "0.5", "1"}, []string{"-0.001", "1.5"}},
		{"kmeans.sample_size", "kmeans:\n  sample_size: %s\n", 2, "10..1e+06",
			[]string{"10", "1000000"}, []string{"9", "1000001"}},
		{"kmeans.silhouette_sample", "kmeans:\n  silhouette_sample: %s\n", 2, "10..20000; 0 = unused when k > 0",
			[]string{"10", "20000"}, []string{"-1", "20001"}},
		{"segments.rules[0].reminders[0].after_days", "segments:\n  rules:\n    - name: r\n      condition: frequency > 1\n      reminders:\n        - name: r2\n          after_days: %s\n          until_days: 3660\n", 7, "0..3660",
			[]string{"0", "3660"}, []string{"-1", "3661"}},
		{"segments.rules[0].reminders[0].until_days", "segments:\n  rules:\n    - name: r\n      condition: frequency > 1\n      reminders:\n        - name: r2\n          until_days: %s\n", 7, "0..3660",
			[]string{"0", "3660"}, []string{"3661"}},
		{"clv.horizon_days", "clv:\n  horizon_days: %s\n", 2, "> 0 and <= 3660",
			[]string{"0.5", "3660"}, []string{"-1", "3660.5"}},
		{"clv.margin", "clv:\n  margin: %s\n", 2, "> 0 and <= 1",
			[]string{"0.01", "1"}, []string{"-0.1", "1.01"}},
		{"clv.discount_rate", "clv:\n  discount_rate: %s\n", 2, ">= 0 and < 10",
			[]string{"0", "9.99"}, []string{"-0.01", "10"}},
		{"clv.starts", "clv:\n  starts: %s\n", 2, "1..100",
			[]string{"1", "100"}, []string{"-1", "101"}},
		{"clv.fit_sample_rate", "clv:\n  fit_sample_rate: %s\n", 2, "> 0 and <= 1",
			[]string{"0.001", "1"}, []string{"-0.5", "1.5"}},
		{"audiences[1].max_remove_share", "audiences:\n  - name: a\n    source: {segments: [\"rfm:lost\"]}\n    destinations: {yandex: {}}\n  - name: b\n    source: {segments: [\"rfm:new\"]}\n    max_remove_share: %s\n    destinations: {yandex: {}}\n", 7, "0..1",
			[]string{"0", "0.5", "1"}, []string{"-0.1", "1.1", "50"}},
		{"audiences[0].lookalikes.yandex.similarity", "audiences:\n  - name: a\n    source: {segments: [\"rfm:lost\"]}\n    destinations: {yandex: {}}\n    lookalikes:\n      yandex:\n        similarity: %s\n", 7, "1..5",
			[]string{"1", "3", "5"}, []string{"0", "6", "-1"}},
		{"audiences[0].lookalikes.meta.ratio", "audiences:\n  - name: a\n    source: {segments: [\"rfm:lost\"]}\n    destinations: {meta: {ad_account_id: \"1\"}}\n    lookalikes:\n      meta:\n        country: RU\n        ratio: %s\n", 8, "0.01..0.2",
			[]string{"0.01", "0.02", "0.2"}, []string{"0", "0.21", "1", "-0.05"}},
		{"sinks.yandex.writes_per_minute", fmt.Sprintf(sink, "yandex", "writes_per_minute"), 3, "0.1..60; 0 = default 10",
			[]string{"0", "0.1", "60"}, []string{"0.05", "61", "-1"}},
		{"sinks.yandex.poll_interval", fmt.Sprintf(sink, "yandex", "poll_interval"), 3, "1s..10m0s; 0 = default 15s",
			[]string{"0s", "1s", "10m"}, []string{"999ms", "10m1s", "-1s"}},
		{"sinks.yandex.poll_timeout", fmt.Sprintf(sink, "yandex", "poll_timeout"), 3, "10s..24h0m0s; 0 = default 10m",
			[]string{"0s", "10s", "24h"}, []string{"9s", "25h"}},
		{"sinks.vk.uploads_per_minute", fmt.Sprintf(sink, "vk", "uploads_per_minute"), 3, "0.1..60; 0 = default 1",
			[]string{"0", "0.1", "60"}, []string{"0.05", "61"}},
		{"sinks.meta.batch_size", fmt.Sprintf(sink, "meta", "batch_size"), 3, "1..10000; 0 = default 10000",
			[]string{"0", "1", "10000"}, []string{"-1", "10001"}},
		{"sinks.google.batch_size", fmt.Sprintf(sink, "google", "batch_size"), 3, "1..10000; 0 = default 10000",
			[]string{"0", "1", "10000"}, []string{"-1", "10001"}},
		{"sinks.google.parallel_requests", fmt.Sprintf(sink, "google", "parallel_requests"), 3, "1..16; 0 = default 2",
			[]string{"0", "1", "16"}, []string{"-1", "17"}},
		{"sinks.yandex.http.timeout", fmt.Sprintf(http, "yandex", "timeout"), 4, "1s..10m0s; 0 = default 30s",
			[]string{"0s", "1s", "10m"}, []string{"500ms", "11m", "-1s"}},
		{"sinks.vk.http.max_attempts", fmt.Sprintf(http, "vk", "max_attempts"), 4, "1..20; 0 = default 5",
			[]string{"0", "1", "20"}, []string{"-1", "21", "1000000000"}},
		{"sinks.meta.http.base_backoff", fmt.Sprintf(http, "meta", "base_backoff"), 4, "10ms..1m0s; 0 = default 500ms",
			[]string{"0s", "10ms", "30s"}, []string{"9ms", "61s"}}, // 1m would be above the default max_backoff 30s
		{"sinks.google.http.max_backoff", fmt.Sprintf(http, "google", "max_backoff"), 4, "100ms..10m0s; 0 = default 30s",
			[]string{"0s", "500ms", "10m"}, []string{"99ms", "601s"}}, // 100ms would be below the default base_backoff 500ms
		{"sinks.yandex.http.max_wait", fmt.Sprintf(http, "yandex", "max_wait"), 4, "1s..1h0m0s; 0 = default 5m",
			[]string{"0s", "1s", "1h"}, []string{"999ms", "61m"}},
		{"sinks.vk.http.rate_per_sec", fmt.Sprintf(http, "vk", "rate_per_sec"), 4, "0.01..100; 0 = the sink's default",
			[]string{"0", "0.01", "100"}, []string{"0.001", "101", "-1"}},
		{"sinks.meta.http.burst", fmt.Sprintf(http, "meta", "burst"), 4, "1..100; 0 = default 1",
			[]string{"0", "1", "100"}, []string{"-1", "101"}},
		{"bigquery.read_streams", "bigquery:\n  project: p\n  dataset: d\n  read_streams: %s\n", 4, "1..1000; 0 = default 4",
			[]string{"0", "1", "1000"}, []string{"-1", "1001"}},
		{"bigquery.timeout", "bigquery:\n  project: p\n  dataset: d\n  timeout: %s\n", 4, "1s..24h0m0s; 0 = default 30m",
			[]string{"0s", "1s", "24h"}, []string{"999ms", "25h", "-1m"}},
		{"bigquery.upload_chunk_mb", "bigquery:\n  project: p\n  dataset: d\n  upload_chunk_mb: %s\n", 4, "-1..1024; 0 = the client's default, 16",
			[]string{"-1", "0", "1024"}, []string{"-2", "1025"}},
	}
	for _, c := range cases {
		for _, v := range c.ok {
			if _, err := Parse("cfg.yaml", []byte(fmt.Sprintf(c.yaml, v))); err != nil {
				t.Errorf("%s: %s: %v", c.path, v, err)
			}
		}
		for _, v := range c.bad {
			_, err := Parse("cfg.yaml", []byte(fmt.Sprintf(c.yaml, v)))
			shown := v
			if strings.Contains(c.want, "s..") { // a duration: shown as Go prints it
				d, _ := time.ParseDuration(v)
				shown = d.String()
			}
			want := fmt.Sprintf("cfg.yaml:%d: %s: %s (want %s)", c.line, c.path, shown, c.want)
			if err == nil || err.Error() != want {
				t.Errorf("%s = %s:\n got %v\nwant %s", c.path, v, err, want)
			}
		}
	}
}

// A duration written as a bare number (30 instead of 30s) is refused where it is written.
func TestDurationNeedsAUnit(t *testing.T) {
	_, err := Parse("cfg.yaml", []byte("sinks:\n  yandex:\n    http:\n      timeout: 30\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "cfg.yaml:4: sinks.yandex.http.timeout: cannot unmarshal !!int `30` into time.Duration") {
		t.Errorf("err = %v", err)
	}
}

// Every numeric key of the config (and of the destination blocks) has a bound or a stated
// reason for none, and every bound names a key that exists: a new count-like key cannot
// slip in unbounded.
func TestEveryNumberIsBounded(t *testing.T) {
	var keys []string
	walkTypes(reflect.TypeOf(Config{}), "", &keys)
	used := map[string]bool{}
	for _, k := range keys {
		if _, ok := unbounded[k]; ok {
			used[k] = true
			continue
		}
		found := false
		for _, b := range bounds {
			if matchPattern(b.pattern, k) {
				used[b.pattern], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("%s: numeric key without a bound (add it to bounds, or to unbounded with the reason)", k)
		}
	}
	for _, b := range bounds {
		if !used[b.pattern] {
			t.Errorf("bound %s matches no key", b.pattern)
		}
	}
	for k := range unbounded {
		if !used[k] {
			t.Errorf("unbounded %s matches no key", k)
		}
	}
	if len(keys) < 40 {
		t.Errorf("only %d numeric keys found: the type walk is broken", len(keys))
	}
}

// walkTypes lists the pattern of every numeric field reachable from t.
func walkTypes(t reflect.Type, path string, out *[]string) {
	switch t.Kind() {
	case reflect.Pointer:
		walkTypes(t.Elem(), path, out)
	case reflect.Struct:
		if t == nodeType {
			return
		}
		for f := range yamlfield.Of(t) {
			p := fieldPath(f, path)
			if typeOf := blockTypes[f.Name]; typeOf != nil {
				for _, plat := range delivery.Platforms() {
					if bt := typeOf(plat); bt != nil {
						walkTypes(bt, p+"."+plat, out)
					}
				}
				continue
			}
			walkTypes(f.Type, p, out)
		}
	case reflect.Slice, reflect.Array:
		walkTypes(t.Elem(), path+"[*]", out)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		*out = append(*out, path)
	}
}

// The sinks' own defaults lie inside the bounds (so that writing a default out explicitly
// never fails), and so does Default().
func TestDefaultsWithinBounds(t *testing.T) {
	c := Default()
	c.Sinks = delivery.Sinks{
		Yandex: ptr(yandex.Config{}.Defaults()),
		VK:     ptr(vkads.Config{}.Defaults()),
		Meta:   ptr(meta.Config{}.Defaults()),
		Google: ptr(googleads.Config{}.Defaults()),
	}
	if err := c.checkBounds(); err != nil {
		t.Error(err)
	}
}

func ptr[T any](v T) *T { return &v }
