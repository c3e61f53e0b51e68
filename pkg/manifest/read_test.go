package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func parseOK(t *testing.T, name, data string) []*Object {
	t.Helper()
	objs, err := Parse(name, []byte(data))
	require.NoError(t, err)
	return objs
}

func TestParseYAMLStreamTracksTheLineOfEachDocumentAndField(t *testing.T) {
	data := `# leading comment

apiVersion: v1
kind: Secret
metadata:
  name: a
---
# a comment before the second object
---   # an empty document with a commented separator
apiVersion: configuration.konghq.com/v1alpha1
kind: KongService
metadata:
  name: svc
spec:
  controlPlaneRef:
    type: konnectNamespacedRef
    konnectNamespacedRef:
      name: cp
  tags:
  - one
  - two
`
	objs := parseOK(t, "f.yaml", data)
	require.Len(t, objs, 2)
	assert.Equal(t, 3, objs[0].Line, "first key of the first document")
	assert.Equal(t, 10, objs[1].Line, "first key after the separators and the comment-only document")
	assert.Equal(t, "svc", objs[1].Obj.GetName())
	svc := objs[1]
	for path, want := range map[string]int{
		"spec.controlPlaneRef.konnectNamespacedRef.name": 18,
		"spec.controlPlaneRef":                           15,
		"spec.tags[1]":                                   21,
		"metadata.name":                                  13,
		"spec.controlPlaneRef.konnectID":                 15, // absent: the deepest ancestor present
		"spec.serviceRef.namespacedRef.name":             14,
	} {
		assert.Equal(t, want, svc.FieldLine(parsePath(path)), path)
	}
	assert.Equal(t, 10, svc.FieldLine(nil))
}

// parsePath builds a field.Path from its string form (test helper).
func parsePath(s string) *field.Path {
	var p *field.Path
	for _, st := range pathSteps(s) {
		switch {
		case p == nil:
			p = field.NewPath(st.name)
		case st.bracket:
			if n := strings.Trim(st.name, "0123456789"); n == "" {
				i := 0
				for _, c := range st.name {
					i = i*10 + int(c-'0')
				}
				p = p.Index(i)
			} else {
				p = p.Key(st.name)
			}
		default:
			p = p.Child(st.name)
		}
	}
	return p
}

func TestPathStepsReadFieldPathStrings(t *testing.T) {
	p := field.NewPath("metadata", "labels").Key("konghq.com/credential")
	assert.Equal(t, []pathStep{{name: "metadata"}, {name: "labels"}, {name: "konghq.com/credential", bracket: true}}, pathSteps(p.String()))
	p = field.NewPath("spec", "extensions").Index(3).Child("name")
	assert.Equal(t, []pathStep{{name: "spec"}, {name: "extensions"}, {name: "3", bracket: true}, {name: "name"}}, pathSteps(p.String()))
}

func TestParseListItemsGetTheirOwnLines(t *testing.T) {
	data := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata:
    name: a
- apiVersion: configuration.konghq.com/v1alpha1
  kind: KongRoute
  metadata:
    name: r
  spec:
    serviceRef:
      namespacedRef:
        name: s
`
	objs := parseOK(t, "l.yaml", data)
	require.Len(t, objs, 2)
	assert.Equal(t, 4, objs[0].Line)
	assert.Equal(t, 8, objs[1].Line)
	assert.Equal(t, 15, objs[1].FieldLine(field.NewPath("spec", "serviceRef", "namespacedRef", "name")))
}

func TestParseJSONStream(t *testing.T) {
	data := "\n{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"a\"}}\n" +
		"{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\n    \"name\": \"b\"\n  }\n}\n"
	objs := parseOK(t, "s.json", data)
	require.Len(t, objs, 2)
	assert.Equal(t, 2, objs[0].Line)
	assert.Equal(t, 3, objs[1].Line)
	assert.Equal(t, 7, objs[1].FieldLine(field.NewPath("metadata", "name")))
}

func TestParseNumbersAreIntegers(t *testing.T) {
	objs := parseOK(t, "f.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  port: 80\n")
	assert.Equal(t, int64(80), objs[0].Obj.Object["spec"].(map[string]any)["port"])
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"indent.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n spec: x\n", "indent.yaml:9: invalid YAML: did not find expected key"},
		{"tab.yaml", "apiVersion: v1\n\tkind: Secret\n", "tab.yaml:2: invalid YAML: found a tab character that violates indentation"},
		{"sep.yaml", "apiVersion: v1\nkind: Secret\n--- x: y\n", "sep.yaml:3: invalid YAML document separator: --- x: y"},
		{"nokind.yaml", "\n\napiVersion: v1\nmetadata:\n  name: a\n", "nokind.yaml:3: object without kind"},
		{"neither.yaml", "metadata:\n  name: a\n", "neither.yaml:1: object without apiVersion and kind"},
		{"scalar.yaml", "# c\njust a string\n", "scalar.yaml:2: not a Kubernetes object: a string instead of a mapping with apiVersion and kind"},
		{"bad.json", "{\"apiVersion\": \"v1\",\n \"kind\": \"Secret\",,\n}", "bad.json:2: invalid JSON: invalid character ',' looking for beginning of object key string"},
		{"short.json", "{\"apiVersion\": \"v1\",\n", "short.json:2: invalid JSON: unexpected end of JSON input"},
		{"item.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n- metadata: {}\n", "item.yaml:6: object without apiVersion and kind"},
	} {
		_, err := Parse(tc.name, []byte(tc.data))
		var pe *ParseError
		require.True(t, errors.As(err, &pe), "%s: want a ParseError, got %v", tc.name, err)
		assert.Equal(t, tc.want, err.Error(), tc.name)
	}
}

func TestParseSkipsEmptyDocumentsAndBOM(t *testing.T) {
	objs := parseOK(t, "f.yaml", "\xef\xbb\xbf---\n---\n# nothing\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n---\n")
	require.Len(t, objs, 1)
	assert.Equal(t, 5, objs[0].Line)
	objs = parseOK(t, "e.yaml", "")
	assert.Empty(t, objs)
}

func TestReadFoldersLikeKubectl(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	secret := func(name string) string { return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n" }
	write("b.yaml", secret("b"))
	write("a.yml", secret("a"))
	write("c.json", `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}`)
	write("notes.txt", "not a manifest")
	write("sub/d.yaml", secret("d"))

	names := func(objs []*Object) []string {
		var out []string
		for _, o := range objs {
			out = append(out, o.Obj.GetName())
		}
		return out
	}
	objs, files, err := Read(Input{Paths: []string{dir}})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, names(objs), "lexical order, .yaml/.yml/.json only, no sub-folders")
	assert.Len(t, files, 3)

	objs, files, err = Read(Input{Paths: []string{dir}, Recursive: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c", "d"}, names(objs))
	assert.Equal(t, filepath.Join(dir, "sub", "d.yaml"), files[3])

	// A file named explicitly is read whatever its extension; duplicates once.
	write("manifest.txt", secret("m"))
	objs, _, err = Read(Input{Paths: []string{filepath.Join(dir, "manifest.txt"), filepath.Join(dir, "a.yml"), filepath.Join(dir, "a.yml"), "-"},
		Stdin: strings.NewReader(secret("s"))})
	require.NoError(t, err)
	assert.Equal(t, []string{"m", "a", "s"}, names(objs))
	assert.Equal(t, StdinName, objs[2].File)
}

func TestReadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling.yaml")))
	_, _, err := Read(Input{Paths: []string{dir}})
	assert.EqualError(t, err, filepath.Join(dir, "dangling.yaml")+": cannot read: no such file or directory")

	_, _, err = Read(Input{Paths: []string{filepath.Join(dir, "missing.yaml")}})
	assert.EqualError(t, err, filepath.Join(dir, "missing.yaml")+": cannot read: no such file or directory")

	_, _, err = Read(Input{Paths: []string{"-", "-"}, Stdin: strings.NewReader("")})
	assert.EqualError(t, err, "-f - given more than once: stdin can be read only once")

	_, _, err = Read(Input{Paths: []string{"https://example.com/x.yaml"}})
	assert.ErrorContains(t, err, "URLs are not supported")

	_, _, err = Read(Input{})
	assert.ErrorContains(t, err, "no input")

	if os.Geteuid() != 0 {
		p := filepath.Join(dir, "secret.yaml")
		require.NoError(t, os.WriteFile(p, []byte("x: y\n"), 0o000))
		_, _, err = Read(Input{Paths: []string{p}})
		assert.EqualError(t, err, p+": cannot read: permission denied")
	}
}

// TestParseNamesAKustomization: a folder read with -f that holds a kustomization says so and names
// -k, instead of "object without apiVersion and kind" (issue 31).
func TestParseNamesAKustomization(t *testing.T) {
	for file, data := range map[string]string{
		"app/kustomization.yaml": "resources:\n- auth.yaml\n",
		"app/kust.yaml":          "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [auth.yaml]\n",
	} {
		_, err := Parse(file, []byte(data))
		require.Error(t, err, file)
		assert.Contains(t, err.Error(), "a kustomization, not a manifest: read its folder with -k app", file)
	}
	// A manifest named like anything else is read as before.
	_, err := Parse("app/auth.yaml", []byte("resources: [x]\n"))
	require.ErrorContains(t, err, "object without apiVersion and kind")
}
