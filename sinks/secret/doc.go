// Package secret resolves credentials for the sinks without ever holding them in config.
//
// A config file carries only a Ref: the name of an environment variable, the path of a file
// or a Secret Manager version. The sink resolves the Ref when it is constructed and keeps the
// value in memory. Errors from this package name the variable or the file, never the value.
//
// Redaction lives in sinks/secret/redact, the process's one redactor: Resolve registers
// every value it returns there.
package secret
