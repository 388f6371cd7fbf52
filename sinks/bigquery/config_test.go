package bigquery

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestConfigYAMLAndDefaults(t *testing.T) {
	var c Config
	src := "project: shop-prod\ndataset: metrics\nlocation: EU\nlabels: {team: crm}\n"
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	c = c.Defaults()
	if c.Project != "shop-prod" || c.Dataset != "metrics" || c.Location != "EU" || c.Labels["team"] != "crm" {
		t.Errorf("decoded %+v", c)
	}
	if c.Replace != ReplacePartition || c.ReadAPI != ReadStorage || c.ReadStreams != 4 {
		t.Errorf("defaults: replace %q read_api %q read_streams %d; want partition storage 4", c.Replace, c.ReadAPI, c.ReadStreams)
	}
	if err := c.Validate("bigquery"); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Project: "p", Dataset: "d"}.Defaults()
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Project = "" }, "bigquery.project: required"},
		{func(c *Config) { c.Project = "My Project" }, `bigquery.project: "My Project" is not a project id`},
		{func(c *Config) { c.Dataset = "" }, "bigquery.dataset: required"},
		{func(c *Config) { c.Dataset = "a-b" }, `bigquery.dataset: "a-b" is not a dataset id`},
		{func(c *Config) { c.Endpoint = "127.0.0.1:9050" }, "bigquery.endpoint: \"127.0.0.1:9050\" is not an http(s) URL"},
		{func(c *Config) { c.Endpoint = "http://127.0.0.1:9050" }, "bigquery.read_endpoint: required with endpoint when read_api is storage"},
		{func(c *Config) { c.ReadEndpoint = "nohost" }, `bigquery.read_endpoint: "nohost" is not host:port`},
		{func(c *Config) { c.ReadAPI = "grpc" }, `bigquery.read_api: unknown API "grpc" (known: storage, rest)`},
		{func(c *Config) { c.ReadStreams = -1 }, "bigquery.read_streams: -1 is out of range 1..1000"},
		{func(c *Config) { c.UploadChunkMB = 2048 }, "bigquery.upload_chunk_mb: 2048 MiB is more than 1024"},
		{func(c *Config) { c.Replace = "truncate" }, `bigquery.replace: unknown mode "truncate" (known: partition, delete)`},
		{func(c *Config) { c.Labels = map[string]string{"Team": "x"} }, `bigquery.labels: key "Team"`},
		{func(c *Config) { c.Labels = map[string]string{"team": "CRM"} }, `bigquery.labels.team: value "CRM"`},
	} {
		c := ok
		tc.mod(&c)
		err := c.Validate("bigquery")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error = %v, want it to contain %q", err, tc.want)
		}
	}
	emu := Config{Project: "test", Dataset: "d", Endpoint: "http://127.0.0.1:9050", ReadEndpoint: "127.0.0.1:9060"}.Defaults()
	if err := emu.Validate(""); err != nil {
		t.Errorf("emulator config: %v", err)
	}
	dom := Config{Project: "example.com:shop", Dataset: "d"}.Defaults()
	if err := dom.Validate(""); err != nil {
		t.Errorf("domain-scoped project: %v", err)
	}
}
