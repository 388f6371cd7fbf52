package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// alert posts a short JSON message to --alert_webhook. It holds the run date, the errors
// (which never contain contact data: readers and sinks redact) and where the summary is.
// j is nil when the run failed before its date was known.
func alert(ctx context.Context, log *slog.Logger, webhook string, j *job, sum *tables.Summary, runErr error) {
	if webhook == "" || terminating.stopping.Load() {
		return // a stopped run's failures (a removed spill folder, …) are the signal's, not news
	}
	msg := map[string]any{"pipeline": "audiencesync-nightly", "ok": false}
	if j != nil {
		msg["run_date"] = j.runDate().String()
		msg["summary"] = fileio.Join(j.graph.Output, report.SummaryFile)
	}
	if runErr != nil {
		msg["errors"] = []string{runErr.Error()}
	} else if sum != nil {
		msg["errors"] = sum.Errors
	}
	b, _ := json.Marshal(msg)
	b = redact.JSON(b)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(b))
	if err != nil {
		log.Error("alert webhook", "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Error("alert webhook not delivered", "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		log.Error("alert webhook refused", "status", resp.StatusCode)
	}
}
