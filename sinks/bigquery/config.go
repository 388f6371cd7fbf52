package bigquery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Replace modes: how a rerun of a run date replaces that day's rows.
const (
	// ReplacePartition loads into the partition decorator table$YYYYMMDD with
	// WRITE_TRUNCATE: one atomic job per table swaps the day's rows. Production default.
	ReplacePartition = "partition"
	// ReplaceDelete runs DELETE ... WHERE run_date = @d and then appends. Two steps, so
	// readers can see the day empty for a moment and a failed load leaves it empty until the
	// rerun; meant for the emulator, which has no partition decorators.
	ReplaceDelete = "delete"
)

// Read APIs for the bq:// source.
const (
	// ReadStorage reads through the BigQuery Storage Read API (gRPC, Arrow), in up to
	// read_streams parallel streams. Needs roles/bigquery.readSessionUser.
	ReadStorage = "storage"
	// ReadREST pages through tabledata.list (one split per source). Slower, but needs only
	// dataViewer (+ jobUser for a query source).
	ReadREST = "rest"
)

// Config is the `bigquery:` block of the pipeline config. Zero values mean the defaults
// documented per field; call Defaults() to fill them in.
type Config struct {
	// Project that holds the dataset and runs the jobs (required).
	Project string `yaml:"project"`
	// Dataset for the metric tables and views (required); created when missing.
	Dataset string `yaml:"dataset"`
	// Location of the dataset and jobs, e.g. EU or europe-west3. Empty: BigQuery's default
	// (US) when the dataset is created; jobs then run where the dataset is.
	Location string `yaml:"location"`
	// Endpoint overrides the REST endpoint, e.g. http://127.0.0.1:9050 for the emulator.
	// When set, requests are sent without authentication. Empty: Google, with Application
	// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth, or the metadata
	// server).
	Endpoint string `yaml:"endpoint"`
	// ReadEndpoint is the Storage Read API gRPC address (host:port) to use with Endpoint,
	// e.g. 127.0.0.1:9060 for the emulator (plain-text gRPC).
	ReadEndpoint string `yaml:"read_endpoint"`
	// ReadAPI is storage (default) or rest; see ReadStorage and ReadREST.
	ReadAPI string `yaml:"read_api"`
	// ReadStreams is the most parallel read streams (= Beam splits) per source; default 4.
	ReadStreams int `yaml:"read_streams"`
	// Replace is partition (default) or delete; see ReplacePartition and ReplaceDelete.
	Replace string `yaml:"replace"`
	// UploadChunkMB is the chunk size of the resumable upload that feeds a load job; each
	// running load buffers one chunk. 0: the client's default (16 MiB). Negative: one
	// streamed request, no resumable chunks (no resume after a broken connection; the
	// emulator needs it for loads over 16 MiB, its resumable uploads fail).
	UploadChunkMB int `yaml:"upload_chunk_mb"`
	// Labels are put on every job and on created tables (cost attribution).
	Labels map[string]string `yaml:"labels"`
	// Timeout bounds each phase of a run that talks to BigQuery (default 30m, at most 24h):
	// checking and planning each bq:// input and loading the run's tables each get Timeout
	// in all; a read stream fails when no row came for Timeout (a long stream is fine, a
	// stalled one is not). The client retries refused connections and 5xx answers without end:
	// without a bound, a wrong endpoint or an outage would hold the nightly run (and its
	// lock) forever.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultTimeout is Timeout's default.
const DefaultTimeout = 30 * time.Minute

// Defaults returns the config with every unset field at its default.
func (c Config) Defaults() Config {
	if c.ReadAPI == "" {
		c.ReadAPI = ReadStorage
	}
	if c.ReadStreams == 0 {
		c.ReadStreams = 4
	}
	if c.Replace == "" {
		c.Replace = ReplacePartition
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

var (
	projectRe = regexp.MustCompile(`^[a-z][a-z0-9.:-]{0,127}$`)
	datasetRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	labelRe   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
)

// Validate checks the config after Defaults; path is where the block sits in the file
// (e.g. "bigquery") and prefixes every message.
func (c Config) Validate(path string) error {
	p := func(field string) string {
		if path == "" {
			return field
		}
		return path + "." + field
	}
	if c.Project == "" {
		return fmt.Errorf("%s: required (the Google Cloud project id that holds the dataset)", p("project"))
	}
	if !projectRe.MatchString(c.Project) {
		return fmt.Errorf("%s: %q is not a project id (lower-case letters, digits, -, . and : only)", p("project"), c.Project)
	}
	if c.Dataset == "" {
		return fmt.Errorf("%s: required (the dataset for the metric tables)", p("dataset"))
	}
	if !datasetRe.MatchString(c.Dataset) || len(c.Dataset) > 1024 {
		return fmt.Errorf("%s: %q is not a dataset id (letters, digits and _ only)", p("dataset"), c.Dataset)
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s: %q is not an http(s) URL, e.g. http://127.0.0.1:9050", p("endpoint"), c.Endpoint)
		}
	}
	if c.ReadEndpoint != "" {
		if _, _, err := net.SplitHostPort(c.ReadEndpoint); err != nil {
			return fmt.Errorf("%s: %q is not host:port, e.g. 127.0.0.1:9060", p("read_endpoint"), c.ReadEndpoint)
		}
	}
	switch c.ReadAPI {
	case ReadStorage:
		if c.Endpoint != "" && c.ReadEndpoint == "" {
			return fmt.Errorf("%s: required with endpoint when read_api is storage (the emulator's --grpc-port address), or set read_api: rest", p("read_endpoint"))
		}
	case ReadREST:
	default:
		return fmt.Errorf("%s: unknown API %q (known: storage, rest)", p("read_api"), c.ReadAPI)
	}
	if c.ReadStreams < 1 || c.ReadStreams > 1000 {
		return fmt.Errorf("%s: %d is out of range 1..1000", p("read_streams"), c.ReadStreams)
	}
	if c.UploadChunkMB > 1024 {
		return fmt.Errorf("%s: %d MiB is more than 1024", p("upload_chunk_mb"), c.UploadChunkMB)
	}
	if c.Timeout < 0 || c.Timeout > 24*time.Hour {
		return fmt.Errorf("%s: %s is out of range (0 = default %s, at most 24h)", p("timeout"), c.Timeout, DefaultTimeout)
	}
	switch c.Replace {
	case ReplacePartition, ReplaceDelete:
	default:
		return fmt.Errorf("%s: unknown mode %q (known: partition, delete)", p("replace"), c.Replace)
	}
	for k, v := range c.Labels {
		if !labelRe.MatchString(k) {
			return fmt.Errorf("%s: key %q is not a BigQuery label key (lower-case letter first, then lower-case letters, digits, _ or -, at most 63)", p("labels"), k)
		}
		if len(v) > 63 || strings.ToLower(v) != v {
			return fmt.Errorf("%s.%s: value %q is not a BigQuery label value (lower case, at most 63)", p("labels"), k, v)
		}
	}
	return nil
}

// TimedOut explains err when ctx, bounded by Timeout, ran out (context.Cause is
// DeadlineExceeded): what took too long and which setting bounds it. Other errors come back
// as they are.
func (c Config) TimedOut(ctx context.Context, what string, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return fmt.Errorf("%s did not finish within bigquery.timeout (%s): is the endpoint reachable? %w", what, c.Defaults().Timeout, err)
	}
	return err
}
