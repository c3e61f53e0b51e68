package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// StdinName is the file name of objects read from "-".
const StdinName = "<stdin>"

// Extensions are the file extensions read from folders (as kubectl does);
// a file named explicitly is read whatever its extension.
var Extensions = []string{".yaml", ".yml", ".json"}

// Object is one manifest object and where it was read.
type Object struct {
	Obj *unstructured.Unstructured
	// File is the path as given (or found in a given folder); StdinName for "-".
	File string
	// Line is the 1-based line where the object starts: its first key, or
	// for an item of a List the item's first key.
	Line int

	// node is the object's YAML mapping node (nil when the document could
	// not be parsed for positions); its lines are relative, add lineOffset.
	node       *yaml.Node
	lineOffset int
	fileIndex  int
}

// FileIndex is the position of the object's file among the files Read
// read (0 for Parse).
func (o *Object) FileIndex() int { return o.fileIndex }

// SetFileIndex places an object parsed from a stream (a rendered
// kustomization) after the objects of the files read before it.
func (o *Object) SetFileIndex(i int) { o.fileIndex = i }

// ParseError is an input kubectl could not read either: the file (and line
// when known) and what is wrong.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Input names what to read.
type Input struct {
	// Paths are files, folders or "-" (stdin), as for kubectl apply -f.
	Paths []string
	// Recursive reads sub-folders of the given folders too.
	Recursive bool
	// Stdin is read for "-".
	Stdin io.Reader
}

// Read reads every object of the input, in the order of Paths (files of a
// folder in lexical order). It returns the files it read, or the first
// ParseError: nothing is returned half-read.
func Read(in Input) (objs []*Object, files []string, err error) {
	files, err = expand(in.Paths, in.Recursive)
	if err != nil {
		return nil, nil, err
	}
	for i, name := range files {
		var data []byte
		if name == StdinName {
			if in.Stdin == nil {
				return nil, nil, &ParseError{File: name, Err: errors.New("no standard input")}
			}
			data, err = io.ReadAll(in.Stdin)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, nil, &ParseError{File: name, Err: fmt.Errorf("cannot read: %w", unwrapPathError(err))}
		}
		got, err := Parse(name, data)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range got {
			o.fileIndex = i
		}
		objs = append(objs, got...)
	}
	return objs, files, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// expand turns the paths into the list of files to read.
func expand(paths []string, recursive bool) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input: name files or folders with -f, or - for stdin")
	}
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		key := f
		if f != StdinName {
			key = filepath.Clean(f)
		}
		if !seen[key] {
			seen[key] = true
			files = append(files, f)
		}
	}
	for _, p := range paths {
		switch {
		case p == "":
			return nil, errors.New("-f needs a file name, a folder or -")
		case p == "-":
			if seen[StdinName] {
				return nil, errors.New("-f - given more than once: stdin can be read only once")
			}
			add(StdinName)
			continue
		case strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://"):
			return nil, &ParseError{File: p, Err: errors.New("URLs are not supported: download the file and lint it, or pipe it to -f -")}
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, &ParseError{File: p, Err: fmt.Errorf("cannot read: %w", unwrapPathError(err))}
		}
		if !st.IsDir() {
			add(p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return &ParseError{File: path, Err: fmt.Errorf("cannot read: %w", unwrapPathError(err))}
			}
			if d.IsDir() {
				if path != p && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			if hasExtension(path) {
				add(path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

func hasExtension(path string) bool {
	ext := filepath.Ext(path)
	for _, e := range Extensions {
		if ext == e {
			return true
		}
	}
	return false
}

// Parse reads the objects of one file: a JSON stream when the first
// non-space character is "{", else YAML documents separated by "---" lines
// (as kubectl splits them).
func Parse(name string, data []byte) ([]*Object, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	// Count lines as the YAML parser does: CRLF and a lone CR end a line too.
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	if i := skipSpace(data, 0); i < len(data) && data[i] == '{' {
		return parseJSONStream(name, data)
	}
	return parseYAMLStream(name, data)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// lineAt is the 1-based line of a byte offset.
func lineAt(data []byte, offset int) int {
	if offset > len(data) {
		offset = len(data)
	}
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

func parseJSONStream(name string, data []byte) ([]*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []*Object
	for {
		start := skipSpace(data, int(dec.InputOffset()))
		if start >= len(data) {
			return out, nil
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			line := lineAt(data, len(data))
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = lineAt(data, int(se.Offset))
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("unexpected end of JSON input")
			}
			return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("invalid JSON: %w", err)}
		}
		startLine := lineAt(data, start)
		var node *yaml.Node
		var doc yaml.Node
		// JSON is YAML's flow style: the YAML parser gives positions of
		// fields; where it cannot, findings point at the object's line.
		if yaml.Unmarshal(raw, &doc) == nil && len(doc.Content) == 1 {
			node = doc.Content[0]
		}
		objs, err := toObjects(name, raw, node, startLine, startLine-1)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
}

var yamlErrorLine = regexp.MustCompile(`^(?:error converting YAML to JSON: )?yaml: line (\d+): (.*)$`)

func parseYAMLStream(name string, data []byte) ([]*Object, error) {
	var out []*Object
	var chunk []byte
	chunkStart, lineNo := 1, 0
	flush := func() error {
		defer func() { chunk = nil }()
		if len(bytes.TrimSpace(chunk)) == 0 {
			return nil
		}
		objs, err := parseYAMLDoc(name, chunk, chunkStart)
		out = append(out, objs...)
		return err
	}
	rest := data
	for len(rest) > 0 {
		lineNo++
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if bytes.HasPrefix(line, []byte("---")) {
			if tail := strings.TrimSpace(string(line[3:])); tail != "" && tail[0] != '#' {
				return nil, &ParseError{File: name, Line: lineNo, Err: fmt.Errorf("invalid YAML document separator: %s", strings.TrimSpace(string(line)))}
			}
			if err := flush(); err != nil {
				return nil, err
			}
			chunkStart = lineNo + 1
			continue
		}
		chunk = append(chunk, line...)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseYAMLDoc parses one document that starts at line start. Values come
// from sigs.k8s.io/yaml, as kubectl reads them; positions from the YAML node
// tree.
func parseYAMLDoc(name string, chunk []byte, start int) ([]*Object, error) {
	j, err := sigsyaml.YAMLToJSON(chunk)
	if err != nil {
		msg := err.Error()
		line := start + firstContentLine(chunk) - 1
		if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			// At the end of the input the parser counts one line too many.
			last := bytes.Count(bytes.TrimRight(chunk, "\n"), []byte("\n")) + 1
			line, msg = start+min(max(n, 1), last)-1, m[2]
		} else {
			msg = strings.TrimPrefix(strings.TrimPrefix(msg, "error converting YAML to JSON: "), "yaml: ")
		}
		return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("invalid YAML: %s", msg)}
	}
	var doc yaml.Node
	var node *yaml.Node
	if yaml.Unmarshal(chunk, &doc) == nil && len(doc.Content) == 1 {
		node = doc.Content[0]
	}
	line := start + firstContentLine(chunk) - 1
	if node != nil {
		line = start + node.Line - 1
	}
	return toObjects(name, j, node, line, start-1)
}

// firstContentLine is the 1-based line of the first line that is neither
// blank nor a comment.
func firstContentLine(chunk []byte) int {
	for i, l := range strings.Split(string(chunk), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			return i + 1
		}
	}
	return 1
}

// toObjects decodes one document (JSON) into its objects: the object, or
// the items of a List. line is the document's absolute first line; node
// lines are relative, offset by lineOffset.
func toObjects(name string, j []byte, node *yaml.Node, line, lineOffset int) ([]*Object, error) {
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, &ParseError{File: name, Line: line, Err: err}
	}
	if v == nil {
		return nil, nil // an empty document
	}
	return objectsOf(name, v, node, line, lineOffset)
}

func objectsOf(name string, v any, node *yaml.Node, line, lineOffset int) ([]*Object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("not a Kubernetes object: a %s instead of a mapping with apiVersion and kind", jsonType(v))}
	}
	node = resolve(node)
	if node != nil && node.Kind != yaml.MappingNode {
		node = nil
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	var missing []string
	if apiVersion == "" {
		missing = append(missing, "apiVersion")
	}
	if kind == "" {
		missing = append(missing, "kind")
	}
	if isKustomization(name, apiVersion, kind) {
		return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("a kustomization, not a manifest: read its folder with -k %s, which renders it as kubectl apply -k does", filepath.Dir(name))}
	}
	if len(missing) > 0 {
		return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("object without %s", strings.Join(missing, " and "))}
	}
	if items, ok := m["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var itemNodes []*yaml.Node
		if node != nil {
			if _, in := mappingChild(node, "items"); in != nil && resolve(in).Kind == yaml.SequenceNode {
				itemNodes = resolve(in).Content
			}
		}
		var out []*Object
		for i, item := range items {
			var n *yaml.Node
			itemLine := line
			if i < len(itemNodes) {
				n = resolve(itemNodes[i])
				itemLine = n.Line + lineOffset
			}
			objs, err := objectsOf(name, item, n, itemLine, lineOffset)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
		return out, nil
	}
	return []*Object{{Obj: &unstructured.Unstructured{Object: m}, File: name, Line: line, node: node, lineOffset: lineOffset}}, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	default:
		return "number"
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mappingChild returns the key and value nodes of key in a mapping node.
func mappingChild(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// isKustomization tells a kustomization file (kubectl's names for it, or the Kustomization kind)
// from a manifest: a folder read with -f holds one when it is meant for -k.
func isKustomization(file, apiVersion, kind string) bool {
	switch filepath.Base(file) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return kind == "Kustomization" && strings.HasPrefix(apiVersion, "kustomize.config.k8s.io/")
}
