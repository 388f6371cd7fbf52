package meta_test

import (
	"context"
	"log"

	"github.com/audiencesync/audiencesync/sinks/meta"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// The pipeline builds one Account per run and one Destination per audience; audience.Sync
// plans each Request against the last confirmed state and records what Apply confirmed.
func Example() {
	a, err := meta.NewAccount(meta.Config{
		AccessToken: secret.Ref{Env: "META_ACCESS_TOKEN"},
		AppSecret:   secret.Ref{File: "/run/secrets/meta_app_secret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	d, err := a.Destination(meta.Target{AdAccountID: "act_1234567890", Name: "Repeat buyers"})
	if err != nil {
		log.Fatal(err)
	}
	store := &audience.FileStore{Dir: "state/audiences"}
	var today []audience.Identifier // from audience_members, hashed with Meta's rules
	row, err := audience.Sync(context.Background(), d, store, audience.Job{
		Target:      audience.Target{Audience: "repeat_buyers", Platform: meta.Platform, Mode: audience.ModeIncremental},
		Identifiers: today,
	}, audience.Options{})
	if err != nil {
		log.Fatal(err) // e.g. sinks.meta.access_token: environment variable META_ACCESS_TOKEN is not set
	}
	log.Printf("%s: %s, %d added, %d removed", row.Audience, row.Status, row.Added, row.Removed)
}
