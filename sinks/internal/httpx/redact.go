package httpx

import "github.com/audiencesync/audiencesync/sinks/secret/redact"

// Redacted replaces every secret in error text.
const Redacted = redact.Redacted

// Redact returns s with every secret removed in every encoded form: the secrets given, and
// every secret registered with the process's one redactor (redact.String; values from
// secret.Ref.Resolve and every token and secret an httpx Client has used are registered).
func Redact(s string, secrets ...string) string { return redact.String(s, secrets...) }
