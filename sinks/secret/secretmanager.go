package secret

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	"google.golang.org/api/option"
	secretmanager "google.golang.org/api/secretmanager/v1"
)

var secretVersionName = regexp.MustCompile(`^projects/[^/]+/secrets/[^/]+/versions/[^/]+$`)

// smOptions lets tests point the client at a fake server.
var smOptions []option.ClientOption

// accessSecretManager reads one secret version. Errors name the resource, never the payload.
func accessSecretManager(name string) (string, error) {
	if !secretVersionName.MatchString(name) {
		return "", fmt.Errorf("secret: secretmanager %q: want projects/PROJECT/secrets/NAME/versions/VERSION", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := secretmanager.NewService(ctx, smOptions...)
	if err != nil {
		return "", fmt.Errorf("secret: secretmanager %s: %v (check Application Default Credentials)", name, err)
	}
	resp, err := svc.Projects.Secrets.Versions.Access(name).Context(ctx).Do()
	if err != nil {
		return "", fmt.Errorf("secret: secretmanager %s: %v", name, err)
	}
	if resp.Payload == nil {
		return "", fmt.Errorf("secret: secretmanager %s: no payload", name)
	}
	b, err := base64.StdEncoding.DecodeString(resp.Payload.Data)
	if err != nil {
		return "", fmt.Errorf("secret: secretmanager %s: payload is not base64", name)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret: secretmanager %s is empty", name)
	}
	return v, nil
}
