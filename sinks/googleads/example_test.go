package googleads_test

import (
	"context"
	"log"

	"github.com/audiencesync/audiencesync/sinks/googleads"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// The pipeline builds one Account per run and one Destination per audience; audience.Sync
// plans each Request against the last confirmed state and records what Apply confirmed.
func Example() {
	a, err := googleads.NewAccount(googleads.Config{
		Credentials:    secret.Ref{File: "/run/secrets/google-sa.json"}, // service account key
		LoginAccountID: "111-222-3333",                                  // manager account, if any
	})
	if err != nil {
		log.Fatal(err)
	}
	d, err := a.Destination(googleads.Target{OperatingAccountID: "123-456-7890", UserListID: "555000111"})
	if err != nil {
		log.Fatal(err)
	}
	store := &audience.FileStore{Dir: "state/audiences"}
	var today []audience.Identifier // from audience_members, hashed with Google's rules
	row, err := audience.Sync(context.Background(), d, store, audience.Job{
		Target:      audience.Target{Audience: "repeat_buyers", Platform: googleads.Platform},
		Identifiers: today,
	}, audience.Options{})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: %s, %d identifiers sent in %d requests", row.Audience, row.Status, row.Sent, row.Requests)
}
