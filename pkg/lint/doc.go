// Package lint runs the admission rules of pkg/rules over manifests before
// they are applied: the library behind `kubectl konnect lint`.
//
// Read turns files, folders and stdin into Objects that remember where they
// came from (file, line of the document, lines of their fields). Lint
// evaluates every rule over every object, with lookups resolved in a
// rules.Store of all the read objects (and, for --cluster, the stripped live
// objects underneath them), and returns a Report whose findings are sorted by
// file, line and code. Report.WriteText and Report.WriteJSON print it.
//
// Reading follows kubectl apply -f: YAML streams split at "---" lines, JSON
// streams, kubectl List kinds (items), folders read for .yaml, .yml and
// .json files (recursively with Recursive), "-" for stdin. What kubectl would
// refuse to read is a ParseError naming the file and line, and nothing is
// linted then.
package lint
