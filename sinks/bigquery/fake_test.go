package bigquery

import (
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// fakeBigQuery answers just enough of the REST API to observe what the sink sends in
// replace: partition mode, the production path the emulator cannot run (it has no
// partition decorators): the existing table's metadata, the load job and the job poll.
type fakeBigQuery struct {
	mu       sync.Mutex
	requests []string // METHOD path
	loadJob  map[string]any
	ndjson   string
	patch    map[string]any
	ifMatch  string
	table    string // tables.get answer
}

func (f *fakeBigQuery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/datasets/metrics"):
		io.WriteString(w, `{"datasetReference":{"projectId":"p","datasetId":"metrics"}}`)
	case r.Method == "GET" && strings.Contains(r.URL.Path, "/tables/"):
		io.WriteString(w, f.table)
	case r.Method == "PATCH" && strings.Contains(r.URL.Path, "/tables/"):
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &f.patch)
		f.ifMatch = r.Header.Get("If-Match")
		w.Write(b)
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/upload/bigquery/v2/projects/p/jobs"):
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		part, _ := mr.NextPart()
		meta, _ := io.ReadAll(part)
		part, _ = mr.NextPart()
		media, _ := io.ReadAll(part)
		var job map[string]any
		_ = json.Unmarshal(meta, &job)
		f.loadJob, f.ndjson = job, string(media)
		job["status"] = map[string]any{"state": "DONE"}
		json.NewEncoder(w).Encode(job)
	case r.Method == "GET" && strings.Contains(r.URL.Path, "/jobs/"):
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		io.WriteString(w, `{"jobReference":{"projectId":"p","jobId":"`+id+`"},"status":{"state":"DONE"},"configuration":{"load":{}}}`)
	default:
		http.Error(w, `{"error":{"code":404,"message":"not here"}}`, 404)
	}
}

const fakeChurnTable = `{"tableReference":{"projectId":"p","datasetId":"metrics","tableId":"churn_list"},
 "etag":"e1","timePartitioning":{"type":"DAY","field":"run_date"},
 "schema":{"fields":[
  {"name":"run_date","type":"DATE","mode":"REQUIRED"},
  {"name":"period","type":"STRING","mode":"REQUIRED"},
  {"name":"customer_id","type":"STRING","mode":"REQUIRED"},
  {"name":"currency","type":"STRING","mode":"REQUIRED"},
  {"name":"last_order_date","type":"DATE","mode":"REQUIRED"},
  {"name":"orders","type":"INTEGER","mode":"REQUIRED"},
  {"name":"old_flag","type":"BOOLEAN","mode":"REQUIRED"}]}}`

func TestPartitionModeLoadJob(t *testing.T) {
	f := &fakeBigQuery{table: fakeChurnTable}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := NewClient(t.Context(), Config{Project: "p", Dataset: "metrics", Endpoint: srv.URL, ReadAPI: ReadREST, Labels: map[string]string{"env": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	day := value.DayFromDate(2026, 3, 1)
	tb, _ := tables.ByName("churn_list")
	rows := []tables.ChurnList{{RunDate: int32(day), Period: "2026-02", CustomerID: "c1", Currency: "RUB", LastOrderDate: int32(day) - 40, Orders: 2, Revenue: 99.9999}}
	n, err := WriteTable(t.Context(), c, tb, day, rows)
	if err != nil {
		t.Fatalf("%v\nrequests: %v", err, f.requests)
	}
	if n != 1 {
		t.Errorf("n = %d", n)
	}

	// The table lacked revenue and had old_flag: revenue is added NULLABLE, old_flag is
	// kept and relaxed, and the patch is conditional on the etag read.
	fields := f.patch["schema"].(map[string]any)["fields"].([]any)
	var got []string
	for _, x := range fields {
		m := x.(map[string]any)
		mode, _ := m["mode"].(string)
		if mode == "" {
			mode = "NULLABLE" // the client omits the mode for NULLABLE, the API's default
		}
		got = append(got, m["name"].(string)+" "+m["type"].(string)+" "+mode)
	}
	want := []string{"run_date DATE REQUIRED", "period STRING REQUIRED", "customer_id STRING REQUIRED", "currency STRING REQUIRED",
		"last_order_date DATE REQUIRED", "orders INTEGER REQUIRED", "old_flag BOOLEAN NULLABLE", "revenue FLOAT NULLABLE"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patched schema (-want +got):\n%s", diff)
	}
	if f.ifMatch != "e1" {
		t.Errorf("schema patch If-Match = %q, want the etag e1", f.ifMatch)
	}

	load := f.loadJob["configuration"].(map[string]any)["load"].(map[string]any)
	dest := load["destinationTable"].(map[string]any)
	if dest["tableId"] != "churn_list$20260301" || dest["datasetId"] != "metrics" {
		t.Errorf("destination %v, want metrics.churn_list$20260301", dest)
	}
	for k, v := range map[string]string{"writeDisposition": "WRITE_TRUNCATE", "createDisposition": "CREATE_NEVER", "sourceFormat": "NEWLINE_DELIMITED_JSON"} {
		if load[k] != v {
			t.Errorf("load.%s = %v, want %s", k, load[k], v)
		}
	}
	labels := f.loadJob["configuration"].(map[string]any)["labels"].(map[string]any)
	if labels["app"] != "audiencesync" || labels["env"] != "test" {
		t.Errorf("labels %v", labels)
	}
	wantBody := `{"run_date":"2026-03-01","period":"2026-02","customer_id":"c1","currency":"RUB","last_order_date":"2026-01-20","orders":2,"revenue":99.9999}` + "\n"
	if f.ndjson != wantBody {
		t.Errorf("NDJSON body\n got %q\nwant %q", f.ndjson, wantBody)
	}
	for _, r := range f.requests {
		if strings.HasPrefix(r, "POST /bigquery/v2/projects/p/queries") || strings.Contains(r, "insertAll") {
			t.Errorf("partition mode ran %s; it must be one load job", r)
		}
	}
}

func TestPartitionModeRefusesUnpartitionedTable(t *testing.T) {
	f := &fakeBigQuery{table: strings.Replace(fakeChurnTable, `"timePartitioning":{"type":"DAY","field":"run_date"},`, "", 1)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := NewClient(t.Context(), Config{Project: "p", Dataset: "metrics", Endpoint: srv.URL, ReadAPI: ReadREST})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tb, _ := tables.ByName("churn_list")
	_, err = WriteTable(t.Context(), c, tb, 0, []tables.ChurnList{})
	if err == nil || !strings.Contains(err.Error(), "not partitioned by DAY on run_date") {
		t.Errorf("err = %v", err)
	}
}
