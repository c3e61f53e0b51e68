// Package manifest reads Kubernetes manifests as `kubectl apply -f` does
// (YAML streams split at "---" lines, JSON streams, List kinds, folders of
// .yaml, .yml and .json files, "-" for stdin) into Objects that remember
// where they came from: file, line of the object and lines of its fields.
// What kubectl would refuse to read is a ParseError naming the file and line.
//
// It is pkg/lint's reader, in a package of its own so that it depends on
// nothing but apimachinery and the YAML parsers: FuzzParse's test binary
// (every package of which the fuzzer instruments) stays small and fast.
package manifest
