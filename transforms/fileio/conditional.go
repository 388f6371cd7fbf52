package fileio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/gcsx"
	"google.golang.org/api/googleapi"
)

// ErrPrecondition is wrapped by Conditional's errors when the object's generation was not
// the one expected (it exists although it should not, or someone else replaced it).
var ErrPrecondition = errors.New("precondition failed: the object changed")

// Conditional is what an object store offers for a lock: reads that tell the object's
// generation, and writes and deletes that succeed only if the generation is the expected
// one (Google Cloud Storage's ifGenerationMatch; 0 means "must not exist").
type Conditional interface {
	// ReadGen returns the object's content and generation; a missing object is an error
	// for which IsNotFound is true.
	ReadGen(ctx context.Context, path string) ([]byte, int64, error)
	// WriteIfGen writes data if the object's generation is gen (0: it must not exist) and
	// returns the new generation; otherwise an error wrapping ErrPrecondition.
	WriteIfGen(ctx context.Context, path string, data []byte, gen int64) (int64, error)
	// RemoveIfGen deletes the object if its generation is gen; otherwise an error wrapping
	// ErrPrecondition.
	RemoveIfGen(ctx context.Context, path string, gen int64) error
}

// ConditionalFor returns the Conditional of a non-local path's store: gs:// through the
// Cloud Storage client, any other scheme when its Beam filesystem implements Conditional.
// close releases the client.
func ConditionalFor(ctx context.Context, path string) (c Conditional, close func() error, err error) {
	if IsLocal(path) {
		return nil, nil, fmt.Errorf("%s: a local path has no object generations (use a file lock)", path)
	}
	if strings.HasPrefix(path, "gs://") {
		cl, err := gcsx.NewClient(ctx, storage.ScopeReadWrite)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return gcsConditional{cl}, cl.Close, nil
	}
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	c, ok := fsys.(Conditional)
	if !ok {
		fsys.Close()
		return nil, nil, fmt.Errorf("%s: this store offers no conditional writes, so it cannot hold a run lock", path)
	}
	return c, fsys.Close, nil
}

// GCSConditional is the Conditional of Google Cloud Storage through client c.
func GCSConditional(c *storage.Client) Conditional { return gcsConditional{c} }

type gcsConditional struct{ c *storage.Client }

func (g gcsConditional) obj(path string) (*storage.ObjectHandle, error) {
	b, o, err := gcsx.ParseObject(path)
	if err != nil {
		return nil, err
	}
	return g.c.Bucket(b).Object(o), nil
}

func isPrecondition(err error) bool {
	var e *googleapi.Error
	return errors.As(err, &e) && (e.Code == 412 || e.Code == 409)
}

func (g gcsConditional) ReadGen(ctx context.Context, path string) ([]byte, int64, error) {
	o, err := g.obj(path)
	if err != nil {
		return nil, 0, err
	}
	r, err := o.NewReader(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, err
	}
	return b, r.Attrs.Generation, nil
}

func (g gcsConditional) WriteIfGen(ctx context.Context, path string, data []byte, gen int64) (int64, error) {
	o, err := g.obj(path)
	if err != nil {
		return 0, err
	}
	cond := storage.Conditions{GenerationMatch: gen}
	if gen == 0 {
		cond = storage.Conditions{DoesNotExist: true}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := o.If(cond).NewWriter(wctx)
	w.ContentType = "application/json"
	if _, err := w.Write(data); err != nil {
		cancel()
		w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		if isPrecondition(err) {
			return 0, fmt.Errorf("%s: %w", path, ErrPrecondition)
		}
		return 0, err
	}
	return w.Attrs().Generation, nil
}

func (g gcsConditional) RemoveIfGen(ctx context.Context, path string, gen int64) error {
	o, err := g.obj(path)
	if err != nil {
		return err
	}
	if err := o.If(storage.Conditions{GenerationMatch: gen}).Delete(ctx); err != nil {
		if isPrecondition(err) {
			return fmt.Errorf("%s: %w", path, ErrPrecondition)
		}
		return err
	}
	return nil
}
