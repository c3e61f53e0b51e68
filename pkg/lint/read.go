package lint

import "github.com/kubectl-konnect/kubectl-konnect/pkg/manifest"

// The reader lives in pkg/manifest (see its doc); these names keep lint's
// API.

// StdinName is the file name of objects read from "-".
const StdinName = manifest.StdinName

// Extensions are the file extensions read from folders.
var Extensions = manifest.Extensions

// Object is one manifest object and where it was read.
type Object = manifest.Object

// ParseError is an input kubectl could not read either.
type ParseError = manifest.ParseError

// Input names what to read.
type Input = manifest.Input

// Read reads every object of the input (manifest.Read).
func Read(in Input) ([]*Object, []string, error) { return manifest.Read(in) }

// Parse reads the objects of one file (manifest.Parse).
func Parse(name string, data []byte) ([]*Object, error) { return manifest.Parse(name, data) }
