package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/secret/redact"
)

// Ref points at a secret in an environment variable or a file. Exactly one of Env and File is
// set. The zero Ref means "no secret configured".
type Ref struct {
	Env  string `yaml:"env"`  // name of an environment variable holding the secret
	File string `yaml:"file"` // path of a file holding the secret (surrounding whitespace is trimmed)
	// SecretManager is a Google Secret Manager version,
	// projects/PROJECT/secrets/NAME/versions/VERSION (or .../versions/latest), read with
	// Application Default Credentials: the way to give Dataflow workers their credentials.
	SecretManager string `yaml:"secretmanager"`
}

// IsZero reports whether no source is configured.
func (r Ref) IsZero() bool { return r.Env == "" && r.File == "" && r.SecretManager == "" }

func (r Ref) sources() int {
	n := 0
	for _, s := range []string{r.Env, r.File, r.SecretManager} {
		if s != "" {
			n++
		}
	}
	return n
}

// String describes where the secret lives, never its value, so that a Ref is safe to log.
func (r Ref) String() string {
	switch {
	case r.Env != "" && r.File != "":
		return fmt.Sprintf("env %s and file %s", r.Env, r.File)
	case r.Env != "":
		return "env " + r.Env
	case r.File != "":
		return "file " + r.File
	case r.SecretManager != "":
		return "secret manager " + r.SecretManager
	}
	return "unset"
}

// Resolve reads the secret from its source and trims surrounding whitespace (a trailing
// newline in a file is the usual case). An empty value is an error: an empty token would only
// fail later, at the platform, with a far less clear message. The value is registered with
// redact.Register, so that redact.String removes it from every error and log line of the
// process.
func (r Ref) Resolve() (string, error) {
	v, err := r.resolve()
	if err == nil {
		redact.Register(v)
	}
	return v, err
}

func (r Ref) resolve() (string, error) {
	switch {
	case r.sources() > 1:
		return "", fmt.Errorf("secret: more than one source is set (%s): choose one", r)
	case r.SecretManager != "":
		return accessSecretManager(r.SecretManager)
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok {
			return "", fmt.Errorf("secret: environment variable %s is not set: export it before the run", r.Env)
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return "", fmt.Errorf("secret: environment variable %s is empty", r.Env)
		}
		return v, nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				// PathError carries only op, path and errno: no content can leak.
				return "", fmt.Errorf("secret: cannot read file %s: %v", r.File, pe.Err)
			}
			return "", fmt.Errorf("secret: cannot read file %s", r.File)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret: file %s is empty", r.File)
		}
		return v, nil
	}
	return "", errors.New("secret: no source configured: set env, file or secretmanager")
}

// CheckSource checks the Ref's settings without reading the secret: not both env and file
// and, when required, a source at all. path is the config path of the Ref; what names the
// secret in the message of a missing one ("secret", "token") and hint ends that message.
func (r Ref) CheckSource(path string, required bool, what, hint string) error {
	switch {
	case r.IsZero() && required:
		return fmt.Errorf("%s: no %s source: set %s.env or %s.file%s", path, what, path, path, hint)
	case r.Env != "" && r.File != "":
		return fmt.Errorf("%s: both env and file are set: choose one", path)
	}
	return nil
}

// Validate checks that exactly one source is set and that it currently resolves to a non-empty
// value. path is the config path of the Ref, e.g. "sinks.yandex.token", and prefixes every
// message.
func (r Ref) Validate(path string) error {
	switch {
	case r.IsZero():
		return fmt.Errorf("%s: no secret source: set %s.env (environment variable), %s.file or %s.secretmanager", path, path, path, path)
	case r.sources() > 1:
		return fmt.Errorf("%s: more than one of env, file and secretmanager is set: choose one", path)
	}
	if _, err := r.Resolve(); err != nil {
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "secret: "))
	}
	return nil
}
