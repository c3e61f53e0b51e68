// Command konnect-subset cuts an OpenAPI subset out of the openapi.yaml that
// ships in the sdk-konnect-go module: the operations named in an ops file
// (one operationId a line, # comments) with every component they reference,
// transitively, and the document's security. The result is a standalone
// OpenAPI document; nothing in it is edited by hand.
//
// It produces pkg/konnect/konnecttest/openapi/konnect-core-entities.openapi.yaml:
//
//	go run ./hack/konnect-subset \
//	  -ops pkg/konnect/konnecttest/openapi/konnect-core-entities.ops \
//	  -out pkg/konnect/konnecttest/openapi/konnect-core-entities.openapi.yaml
//
// -spec defaults to openapi.yaml of the sdk-konnect-go version in go.mod
// (go list -m -f '{{.Dir}}' github.com/Kong/sdk-konnect-go).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func main() {
	specPath := flag.String("spec", "", "openapi.yaml of sdk-konnect-go (default: the module version of go.mod)")
	opsPath := flag.String("ops", "", "file of operationIds to keep")
	out := flag.String("out", "", "where to write the subset")
	flag.Parse()
	if err := run(*specPath, *opsPath, *out); err != nil {
		fmt.Fprintln(os.Stderr, "konnect-subset:", err)
		os.Exit(1)
	}
}

func run(specPath, opsPath, out string) error {
	if opsPath == "" || out == "" {
		return fmt.Errorf("-ops and -out are required")
	}
	version := ""
	if specPath == "" {
		b, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/Kong/sdk-konnect-go").Output()
		if err != nil {
			return fmt.Errorf("locating sdk-konnect-go: %w", err)
		}
		dir, v, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		specPath, version = filepath.Join(dir, "openapi.yaml"), v
	}
	ops, err := readOps(opsPath)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("parsing %s: %w", specPath, err)
	}
	root := doc.Content[0]

	// Paths: keep the path items that hold a wanted operation, with their
	// path-level keys (parameters) and only the wanted operations.
	want := map[string]bool{}
	for _, op := range ops {
		want[op] = true
	}
	outPaths := &yaml.Node{Kind: yaml.MappingNode}
	found := map[string]bool{}
	paths := get(root, "paths")
	for i := 0; i < len(paths.Content); i += 2 {
		key, item := paths.Content[i], paths.Content[i+1]
		kept := &yaml.Node{Kind: yaml.MappingNode}
		hasOp := false
		for j := 0; j < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			if !contains(methods, k.Value) {
				kept.Content = append(kept.Content, k, v)
				continue
			}
			if id := get(v, "operationId"); id != nil && want[id.Value] {
				kept.Content = append(kept.Content, k, v)
				found[id.Value] = true
				hasOp = true
			}
		}
		if hasOp {
			outPaths.Content = append(outPaths.Content, key, kept)
		}
	}
	var missing []string
	for _, op := range ops {
		if !found[op] {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("operations not in %s: %s", specPath, strings.Join(missing, ", "))
	}

	// Components: the transitive closure of the $refs.
	comps := get(root, "components")
	keep := map[string]map[string]bool{} // section -> names
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Kind == yaml.MappingNode {
			for i := 0; i < len(n.Content); i += 2 {
				if n.Content[i].Value == "$ref" {
					ref := n.Content[i+1].Value
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 {
						return fmt.Errorf("unsupported $ref %q", ref)
					}
					section, name := parts[0], parts[1]
					if keep[section][name] {
						continue
					}
					if keep[section] == nil {
						keep[section] = map[string]bool{}
					}
					keep[section][name] = true
					target := get(get(comps, section), name)
					if target == nil {
						return fmt.Errorf("dangling $ref %q", ref)
					}
					if err := walk(target); err != nil {
						return err
					}
				}
			}
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(outPaths); err != nil {
		return err
	}
	// The security schemes the document's security names.
	security := get(root, "security")
	for _, req := range security.Content {
		for i := 0; i < len(req.Content); i += 2 {
			if keep["securitySchemes"] == nil {
				keep["securitySchemes"] = map[string]bool{}
			}
			keep["securitySchemes"][req.Content[i].Value] = true
		}
	}
	outComps := &yaml.Node{Kind: yaml.MappingNode}
	sections := make([]string, 0, len(keep))
	for s := range keep {
		sections = append(sections, s)
	}
	sort.Strings(sections)
	for _, s := range sections {
		src := get(comps, s)
		sec := &yaml.Node{Kind: yaml.MappingNode}
		// In the spec's order, for a readable diff against it.
		for i := 0; i < len(src.Content); i += 2 {
			if keep[s][src.Content[i].Value] {
				sec.Content = append(sec.Content, src.Content[i], src.Content[i+1])
			}
		}
		outComps.Content = append(outComps.Content, scalar(s), sec)
	}

	info := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar("title"), scalar("Konnect API subset: core entities"),
		scalar("version"), get(get(root, "info"), "version"),
		scalar("description"), scalar(fmt.Sprintf("Generated by hack/konnect-subset from openapi.yaml of github.com/Kong/sdk-konnect-go %s, operations of %s. Do not edit.", version, filepath.Base(opsPath))),
	}}
	outDoc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar("openapi"), get(root, "openapi"),
		scalar("info"), info,
		scalar("paths"), outPaths,
		scalar("components"), outComps,
		scalar("security"), security,
	}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(outDoc); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func readOps(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ops []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			ops = append(ops, line)
		}
	}
	return ops, sc.Err()
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
