package manifest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FuzzParse: any input either parses or is a ParseError whose line is in
// the file, and every field line of a parsed object is in the file too.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"../cmd/lint/testdata/seed", "../cmd/lint/testdata/seed-kgo14", "../cmd/lint/testdata/bad", "../cmd/lint/testdata/parse"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("a: [1, 2\n---\nkind: x\n"))
	f.Add([]byte("{\"kind\": \"List\", \"apiVersion\": \"v1\", \"items\": [{}]}"))
	paths := []*field.Path{
		field.NewPath("spec", "controlPlaneRef", "konnectNamespacedRef", "name"),
		field.NewPath("spec", "extensions").Index(1).Child("name"),
		field.NewPath("metadata", "labels").Key("a.b/c"),
		field.NewPath("items").Index(0),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Lines as editors and the YAML parser count them: CRLF, LF or a lone CR.
		lines := 1 + bytes.Count(bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n")), []byte("\n"))
		objs, err := Parse("f.yaml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("not a ParseError: %v", err)
			}
			if pe.Line < 1 || pe.Line > lines {
				t.Fatalf("error line %d outside the file's %d lines: %v", pe.Line, lines, err)
			}
			return
		}
		for _, o := range objs {
			if o.Line < 1 || o.Line > lines {
				t.Fatalf("object line %d outside the file's %d lines", o.Line, lines)
			}
			for _, p := range paths {
				if l := o.FieldLine(p); l < 1 || l > lines {
					t.Fatalf("field line %d of %s outside the file's %d lines", l, p, lines)
				}
			}
		}
	})
}
