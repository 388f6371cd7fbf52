package audience

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// WritePayloadFile writes body to dir/name atomically (temporary file, fsync, rename; the
// folder is created). Sinks use it in Destination.WritePayloads so that a dry run never
// leaves a half-written payload behind. dir may be local or a gs:// URL.
func WritePayloadFile(dir, name string, body []byte) error {
	return WritePayloadStream(dir, name, func(w io.Writer) error {
		_, err := w.Write(body)
		return err
	})
}

// WritePayloadStream is WritePayloadFile for payloads produced piece by piece (large member
// lists), so a sink need not hold a whole file in memory.
func WritePayloadStream(dir, name string, write func(w io.Writer) error) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("audience: payload file name %q must be a plain file name", name)
	}
	path := fileio.Join(dir, name)
	if err := fileio.WriteAtomic(context.Background(), path, write); err != nil {
		return fmt.Errorf("audience: dry-run payload %s: %w", path, err)
	}
	return nil
}
