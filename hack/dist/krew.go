package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

// KrewPlugin is the part of krew's Plugin manifest (v1alpha2) we write.
type KrewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string         `json:"version"`
		Homepage         string         `json:"homepage"`
		ShortDescription string         `json:"shortDescription"`
		Description      string         `json:"description"`
		Caveats          string         `json:"caveats,omitempty"`
		Platforms        []KrewPlatform `json:"platforms"`
	} `json:"spec"`
}

// KrewPlatform is one platform entry of a krew manifest.
type KrewPlatform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	Sha256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files,omitempty"`
}

// ValidateKrew checks a rendered krew manifest with krew's own validator,
// validate-krew-manifest of sigs.k8s.io/krew v0.4.3 (what the krew-index
// CI runs on every plugin PR; built once by hack/tools/tool.sh), without its
// install step, which downloads every platform's archive from its URI. The
// krew end-to-end test (test/e2e) installs the host platform's archive for
// real. Two rules of ours follow: https URIs, and a .exe bin on Windows.
// krew's validation lives in an internal package in v0.4.3, so it cannot be
// imported; its command is the supported way in.
func ValidateKrew(path string) (*KrewPlugin, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	tool, err := exec.Command(filepath.Join(root, "hack", "tools", "tool.sh"), "validate-krew-manifest").Output()
	if err != nil {
		return nil, fmt.Errorf("building krew's validate-krew-manifest: %w", err)
	}
	out, err := exec.Command(strings.TrimSpace(string(tool)), "--manifest", path, "--skip-install").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s: krew's validation failed (%w): %s", path, err, fatalLine(out))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p KrewPlugin
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, pl := range p.Spec.Platforms {
		where := fmt.Sprintf("spec.platforms[%d] (%s/%s)", i, pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"])
		switch {
		case !strings.HasPrefix(pl.URI, "https://"):
			return nil, fmt.Errorf("%s: %s: uri %q must be https", path, where, pl.URI)
		case pl.Selector.MatchLabels["os"] == "windows" && !strings.HasSuffix(pl.Bin, ".exe"):
			return nil, fmt.Errorf("%s: %s: bin %q must end in .exe on Windows", path, where, pl.Bin)
		}
	}
	return &p, nil
}

// fatalLine is the message of klog's fatal line ("F1202 12:00:00 ... main.go:64] msg")
// without the goroutine dump after it.
func fatalLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "F") {
			if _, msg, ok := strings.Cut(l, "] "); ok {
				return msg
			}
		}
	}
	return string(out)
}

// repoRoot is the folder of go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && filepath.Base(filepath.Dir(dir)) != "tools" {
			if _, err := os.Stat(filepath.Join(dir, "hack", "tools", "tool.sh")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no repository root above the working directory")
		}
		dir = parent
	}
}

// Artifact is one release archive.
type Artifact struct {
	OS, Arch, File, Sha256 string
}

// RenderKrew fills the .krew.yaml template with the version and the
// archives' URIs and sums.
func RenderKrew(tmpl []byte, version, baseURL string, arts []Artifact) ([]byte, error) {
	t, err := template.New(".krew.yaml").Option("missingkey=error").Parse(string(tmpl))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = t.Execute(&buf, map[string]any{"Version": version, "BaseURL": baseURL, "Artifacts": arts})
	return buf.Bytes(), err
}
