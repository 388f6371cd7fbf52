// Package dataflow holds the Dataflow flex template of the nightly pipeline: the image
// recipe (Dockerfile, cloudbuild.yaml) and metadata.json, the template's parameter list,
// which the Dataflow launcher turns into --name=value flags of pipelines/nightly. The Go
// test here keeps metadata.json honest: well-formed, regexes that accept the documented
// examples and reject local paths, and no parameter the binary does not define (an unknown
// flag would make every launch fail). There is no Go code to import.
package dataflow
