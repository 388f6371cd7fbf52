package meta_test

import (
	"context"
	"log"

	"github.com/audiencesync/audiencesync/sinks/meta"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// The pipeline builds one Client per run and one Destination per audience.
func Example() {
	c, err := meta.NewClient(meta.Config{
		AccessToken: secret.Ref{Env: "META_ACCESS_TOKEN"},
		AppSecret:   secret.Ref{File: "/run/secrets/meta_app_secret"},
	})
	if err != nil {
		log.Fatal(err) // e.g. sinks.meta.access_token: environment variable META_ACCESS_TOKEN is not set
	}
	d, err := meta.NewDestination(c, meta.Target{AdAccountID: "act_1234567890", Name: "Repeat buyers"})
	if err != nil {
		log.Fatal(err)
	}
	var today []audience.Member // from transforms/contacts, hashed with Meta's rules
	res, err := d.Sync(context.Background(), audience.SyncRequest{
		Audience: "repeat_buyers", RunDate: "2026-11-27", BatchID: "2026-11-27/repeat_buyers/meta",
		Mode: audience.ModeIncremental, Add: today, All: today,
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("audience %s: %d rows sent, %d invalid", res.RemoteID, res.Sent, res.Extra["num_invalid_entries"])
}
