package bigquery

import (
	"context"
	"fmt"
	"sync"

	bq "cloud.google.com/go/bigquery"
	storage "cloud.google.com/go/bigquery/storage/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Client holds the BigQuery REST client and, once the first storage read needs it, the
// Storage Read API client. One Client serves every table and source of a run; it is safe
// for concurrent use.
type Client struct {
	cfg Config
	bq  *bq.Client

	readOnce sync.Once
	read     *storage.BigQueryReadClient
	readConn *grpc.ClientConn
	readErr  error
}

// NewClient connects to BigQuery. cfg gets Defaults() and must pass Validate. With
// cfg.Endpoint set (the emulator) requests go there unauthenticated; otherwise Application
// Default Credentials are used.
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate("bigquery"); err != nil {
		return nil, err
	}
	var opts []option.ClientOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint), option.WithoutAuthentication())
	}
	c, err := bq.NewClient(ctx, cfg.Project, opts...)
	if err != nil {
		return nil, fmt.Errorf("bigquery: connect to project %s: %w (check Application Default Credentials: gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS)", cfg.Project, err)
	}
	if cfg.Location != "" {
		c.Location = cfg.Location
	}
	return &Client{cfg: cfg, bq: c}, nil
}

// Config returns the config the client runs with (defaults filled in).
func (c *Client) Config() Config { return c.cfg }

// BigQuery returns the underlying REST client, for callers that need a call this package
// does not wrap.
func (c *Client) BigQuery() *bq.Client { return c.bq }

// Close releases both clients.
func (c *Client) Close() error {
	err := c.bq.Close()
	if c.read != nil {
		if e := c.read.Close(); e != nil && err == nil {
			err = e
		}
	}
	if c.readConn != nil {
		_ = c.readConn.Close()
	}
	return err
}

// readClient opens the Storage Read API client on first use, so that a run that only
// writes never dials gRPC.
func (c *Client) readClient(ctx context.Context) (*storage.BigQueryReadClient, error) {
	c.readOnce.Do(func() {
		var opts []option.ClientOption
		if c.cfg.ReadEndpoint != "" {
			// The emulator speaks plain-text gRPC; a connection dialled here is the one way
			// to say so that every version of the transport honours.
			conn, err := grpc.NewClient(c.cfg.ReadEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
			if err != nil {
				c.readErr = fmt.Errorf("bigquery: dial storage read endpoint %s: %w", c.cfg.ReadEndpoint, err)
				return
			}
			c.readConn = conn
			opts = append(opts, option.WithGRPCConn(conn), option.WithoutAuthentication())
		}
		// The client outlives the call that makes it (one per Client): not its cancellation.
		c.read, c.readErr = storage.NewBigQueryReadClient(context.WithoutCancel(ctx), opts...)
		if c.readErr != nil {
			c.readErr = fmt.Errorf("bigquery: open Storage Read API client: %w (set read_api: rest to read without it)", c.readErr)
		}
	})
	return c.read, c.readErr
}
