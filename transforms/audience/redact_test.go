package audience_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// leakyDest fails every call with an error quoting a registered secret the way a platform
// echo would: JSON-escaped and URL-encoded (a sink that forgot to redact).
type leakyDest struct{ *fakeDest }

const leakySecret = `yandex"tok\en+/=&secret`

func (d leakyDest) err() error {
	b, _ := json.Marshal(map[string]string{"message": "invalid token " + leakySecret})
	return errors.New("yandex: HTTP 401: " + string(b) + " for /x?oauth_token=" + url.QueryEscape(leakySecret))
}

func (d leakyDest) Apply(context.Context, audience.Request) (audience.Result, error) {
	return audience.Result{}, d.err()
}

func (d leakyDest) WritePayloads(context.Context, audience.Request, string) (audience.Result, error) {
	return audience.Result{}, d.err()
}

// The sync_log row (and a dry run's diff.json, when one is written) never carries a secret,
// whatever the sink put in its error.
func TestSyncLogAndDryRunReportAreRedacted(t *testing.T) {
	redact.Register(leakySecret)
	forms := []string{leakySecret, `yandex\"tok\\en`, url.QueryEscape(leakySecret)}
	for _, dry := range []bool{false, true} {
		out := t.TempDir()
		l, err := audience.Sync(context.Background(), leakyDest{newFake("yandex")}, &audience.FileStore{Dir: t.TempDir()},
			job("2026-11-01", emails(0, 3)), audience.Options{DryRun: dry, OutDir: out})
		if err == nil || l.Error == "" || !strings.Contains(l.Error, redact.Redacted) {
			t.Fatalf("dry run %v: want a failed sync with a redacted error, got %+v, %v", dry, l, err)
		}
		texts := map[string]string{"sync_log.error": l.Error}
		if b, err := os.ReadFile(filepath.Join(out, "dry_run", "yandex", aud, "diff.json")); err == nil {
			texts["diff.json"] = string(b)
		}
		for where, text := range texts {
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("dry run %v: %s leaks %q: %s", dry, where, f, text)
				}
			}
		}
	}
}
