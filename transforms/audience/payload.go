package audience

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// WritePayloadFile writes body to dir/name atomically (temporary file, fsync, rename; the
// folder is created) through the same file layer as the tables, so dir may be local or a
// gs:// URL. Sinks use it in Destination.WritePayloads so that a dry run never leaves a
// half-written payload behind.
func WritePayloadFile(ctx context.Context, dir, name string, body []byte) error {
	return WritePayloadStream(ctx, dir, name, func(w io.Writer) error {
		_, err := w.Write(body)
		return err
	})
}

// WritePayloadStream is WritePayloadFile for payloads produced piece by piece (large
// identifier lists), so a sink need not hold a whole file in memory.
func WritePayloadStream(ctx context.Context, dir, name string, write func(w io.Writer) error) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("audience: payload file name %q must be a plain file name", name)
	}
	path := fileio.Join(dir, name)
	if err := fileio.WriteAtomic(ctx, path, write); err != nil {
		return fmt.Errorf("audience: dry-run payload %s: %w", path, err)
	}
	return nil
}
