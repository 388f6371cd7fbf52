package fileio_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
)

// The Cloud Storage implementation against fake-gcs-server (the JSON API, in process):
// create only if absent, replace only the generation read, and not-found told apart.
// (The fake ignores preconditions on deletes, so RemoveIfGen's precondition is checked on
// faultfs below.)
func TestConditionalGCS(t *testing.T) {
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "b"})
	testConditional(t, fileio.GCSConditional(srv.Client()), "gs://b/state/.audiencesync.lock", false)
}

func TestConditionalFaultfs(t *testing.T) {
	ctx := context.Background()
	p := fileio.Join(faultfs.URL(t.TempDir()), ".audiencesync.lock")
	c, closeFn, err := fileio.ConditionalFor(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	testConditional(t, c, p, true)
}

func testConditional(t *testing.T, c fileio.Conditional, p string, deletePrecondition bool) {
	ctx := context.Background()
	if _, _, err := c.ReadGen(ctx, p); !fileio.IsNotFound(err) {
		t.Fatalf("ReadGen of a missing object = %v; want not found", err)
	}
	g1, err := c.WriteIfGen(ctx, p, []byte("A"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteIfGen(ctx, p, []byte("B"), 0); !errors.Is(err, fileio.ErrPrecondition) {
		t.Fatalf("create over an existing object = %v; want ErrPrecondition", err)
	}
	b, g, err := c.ReadGen(ctx, p)
	if err != nil || string(b) != "A" || g != g1 {
		t.Fatalf("ReadGen = %q, %d, %v; want A, %d", b, g, err, g1)
	}
	g2, err := c.WriteIfGen(ctx, p, []byte("A2"), g1)
	if err != nil || g2 == g1 {
		t.Fatalf("replace with the right generation = %d, %v", g2, err)
	}
	if _, err := c.WriteIfGen(ctx, p, []byte("C"), g1); !errors.Is(err, fileio.ErrPrecondition) {
		t.Fatalf("replace with a stale generation = %v; want ErrPrecondition", err)
	}
	if deletePrecondition {
		if err := c.RemoveIfGen(ctx, p, g1); !errors.Is(err, fileio.ErrPrecondition) {
			t.Fatalf("delete with a stale generation = %v; want ErrPrecondition", err)
		}
	}
	if err := c.RemoveIfGen(ctx, p, g2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadGen(ctx, p); !fileio.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
}
