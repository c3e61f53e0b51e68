package manifest

import (
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FieldLine is the line of the field at path in the object's file: the line
// of its key (or list item), of the deepest ancestor present when the field
// itself is absent (a finding about a missing field), or the object's line
// when positions are unknown.
func (o *Object) FieldLine(p *field.Path) int {
	if o.node == nil || p == nil {
		return o.Line
	}
	n, line := o.node, o.node.Line
	for _, s := range pathSteps(p.String()) {
		n = resolve(n)
		var next *yaml.Node
		switch {
		case n.Kind == yaml.MappingNode:
			k, v := mappingChild(n, s.name)
			if k != nil {
				line, next = k.Line, v
			}
		case n.Kind == yaml.SequenceNode && s.bracket:
			if i, err := strconv.Atoi(s.name); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = resolve(next).Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line + o.lineOffset
}

type pathStep struct {
	name    string
	bracket bool // [index] or [key]
}

// pathSteps splits field.Path.String() output: "spec.extensions[0].name",
// "metadata.labels[konghq.com/credential]".
func pathSteps(s string) []pathStep {
	var out []pathStep
	for i := 0; i < len(s); {
		switch s[i] {
		case '.':
			i++
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return append(out, pathStep{name: s[i+1:], bracket: true})
			}
			out = append(out, pathStep{name: s[i+1 : i+j], bracket: true})
			i += j + 1
		default:
			j := strings.IndexAny(s[i:], ".[")
			if j < 0 {
				j = len(s) - i
			}
			out = append(out, pathStep{name: s[i : i+j]})
			i += j
		}
	}
	return out
}
