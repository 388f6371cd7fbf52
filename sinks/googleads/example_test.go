package googleads_test

import (
	"context"
	"log"

	"github.com/audiencesync/audiencesync/sinks/googleads"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// The pipeline builds one Client per run and one Destination per audience.
func Example() {
	ctx := context.Background()
	c, err := googleads.NewClient(ctx, googleads.Config{
		Credentials:    secret.Ref{File: "/run/secrets/google-sa.json"}, // service account key
		LoginAccountID: "111-222-3333",                                  // manager account, if any
	})
	if err != nil {
		log.Fatal(err)
	}
	d, err := googleads.NewDestination(c, googleads.Target{OperatingAccountID: "123-456-7890", UserListID: "555000111"})
	if err != nil {
		log.Fatal(err)
	}
	var add, remove, today []audience.Member // hashed with Google's rules by transforms/contacts
	res, err := d.Sync(ctx, audience.SyncRequest{
		Audience: "repeat_buyers", RunDate: "2026-11-27", BatchID: "2026-11-27/repeat_buyers/google",
		RemoteID: "555000111", Mode: audience.ModeIncremental, Add: add, Remove: remove, All: today,
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("user list %s: %d members sent in %d requests", res.RemoteID, res.Sent, res.Requests)
}
