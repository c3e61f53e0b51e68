package migrate

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// diffContext is the number of unchanged lines around a change, as diff -u.
const diffContext = 3

// FileName names an object in a diff header the way kubectl diff names its
// files: group.version.Kind.namespace.name (group "" for the core API).
func FileName(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	parts := []string{}
	if gvk.Group != "" {
		parts = append(parts, gvk.Group)
	}
	parts = append(parts, gvk.Version, gvk.Kind)
	if ns := obj.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	return strings.Join(append(parts, obj.GetName()), ".")
}

// YAML renders an object as one YAML document (keys sorted).
func YAML(obj *unstructured.Unstructured) (string, error) {
	b, err := yaml.Marshal(obj.Object)
	if err != nil {
		return "", fmt.Errorf("rendering %s: %w", FileName(obj), err)
	}
	return string(b), nil
}

// WriteDiff writes each change as a unified diff (diff -u -N) of the
// objects' YAML, old under a/, new under b/; an added object diffs against
// /dev/null.
func WriteDiff(w io.Writer, changes []Change) error {
	for _, c := range changes {
		oldName, oldText := "/dev/null", ""
		if c.Old != nil {
			oldName = "a/" + FileName(c.Old)
			var err error
			if oldText, err = YAML(c.Old); err != nil {
				return err
			}
		}
		newText, err := YAML(c.New)
		if err != nil {
			return err
		}
		newName := "b/" + FileName(c.New)
		hunks := unifiedHunks(splitLines(oldText), splitLines(newText), diffContext)
		if len(hunks) == 0 {
			continue
		}
		if _, err := fmt.Fprintf(w, "diff -u -N %s %s\n--- %s\n+++ %s\n", oldName, newName, oldName, newName); err != nil {
			return err
		}
		for _, h := range hunks {
			if _, err := io.WriteString(w, h); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteYAML writes the new objects as a multi-document YAML stream in apply
// order.
func WriteYAML(w io.Writer, changes []Change) error {
	for i, c := range changes {
		text, err := YAML(c.New)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, text); err != nil {
			return err
		}
	}
	return nil
}

func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// op is one line of an edit script.
type op struct {
	kind byte // ' ', '-', '+'
	line string
	// a and b are the 0-based line numbers in old and new before this line.
	a, b int
}

// editScript is a shortest edit script from a to b (longest common
// subsequence; objects are small, so O(len(a)*len(b)) is fine).
func editScript(a, b []string) []op {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], i, j})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, op{'+', b[j], i, j})
			j++
		default:
			ops = append(ops, op{'-', a[i], i, j})
			i++
		}
	}
	return ops
}

// unifiedHunks renders the differences of a and b as unified diff hunks
// with ctx lines of context.
func unifiedHunks(a, b []string, ctx int) []string {
	ops := editScript(a, b)
	var hunks []string
	for start := 0; start < len(ops); {
		// Find the next change.
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start == len(ops) {
			break
		}
		from := max(start-ctx, 0)
		// Extend while changes are within 2*ctx of each other.
		end := start
		for k := start; k < len(ops); k++ {
			if ops[k].kind != ' ' {
				end = k
				continue
			}
			if k-end > 2*ctx {
				break
			}
		}
		to := min(end+ctx+1, len(ops))
		var body strings.Builder
		aLen, bLen := 0, 0
		for _, o := range ops[from:to] {
			body.WriteByte(o.kind)
			body.WriteString(o.line)
			if !strings.HasSuffix(o.line, "\n") {
				body.WriteString("\n\\ No newline at end of file\n")
			}
			if o.kind != '+' {
				aLen++
			}
			if o.kind != '-' {
				bLen++
			}
		}
		hunks = append(hunks, fmt.Sprintf("@@ -%s +%s @@\n%s", hunkRange(ops[from].a, aLen), hunkRange(ops[from].b, bLen), body.String()))
		start = to
	}
	return hunks
}

// hunkRange is diff -u's "start,length" (1-based start; for an empty range,
// the line before it).
func hunkRange(start, length int) string {
	switch length {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	default:
		return fmt.Sprintf("%d,%d", start+1, length)
	}
}
