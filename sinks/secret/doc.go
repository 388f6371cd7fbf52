// Package secret resolves credentials for the sinks without ever holding them in config.
//
// A config file carries only a Ref: the name of an environment variable or the path of a
// file. The sink resolves the Ref when it is constructed, keeps the value in memory, and hands
// it to sinks/internal/httpx so that every error message is redacted. Errors from this package
// name the variable or the file, never the value.
package secret
