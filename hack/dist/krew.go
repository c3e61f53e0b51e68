package main

import (
	"bytes"
	"fmt"
	"regexp"
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

var (
	krewName  = regexp.MustCompile(`^[\w-]+$`)
	sha256Hex = regexp.MustCompile(`^[a-f0-9]{64}$`)
	semver    = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	krewOS    = map[string]bool{"linux": true, "darwin": true, "windows": true}
	krewArch  = map[string]bool{"amd64": true, "arm64": true, "386": true, "arm": true}
)

// ValidateKrew applies the rules krew's index validation applies
// (sigs.k8s.io/krew internal/index/validation, v0.4.x) plus ours: https URIs,
// a .exe bin on Windows, one entry per os/arch.
func ValidateKrew(fileName string, manifest []byte) (*KrewPlugin, error) {
	var p KrewPlugin
	if err := yaml.UnmarshalStrict(manifest, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", fileName, err)
	}
	fail := func(format string, args ...any) (*KrewPlugin, error) {
		return nil, fmt.Errorf("%s: "+format, append([]any{fileName}, args...)...)
	}
	switch {
	case p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2":
		return fail("apiVersion %q is not krew.googlecontainertools.github.com/v1alpha2", p.APIVersion)
	case p.Kind != "Plugin":
		return fail("kind %q is not Plugin", p.Kind)
	case !krewName.MatchString(p.Metadata.Name) || strings.HasPrefix(p.Metadata.Name, "kubectl-"):
		return fail("metadata.name %q must match %s and not start with kubectl-", p.Metadata.Name, krewName)
	case p.Spec.ShortDescription == "" || strings.ContainsAny(p.Spec.ShortDescription, "\r\n"):
		return fail("spec.shortDescription must be one non-empty line")
	case !semver.MatchString(p.Spec.Version):
		return fail("spec.version %q is not a v-prefixed semantic version", p.Spec.Version)
	case len(p.Spec.Platforms) == 0:
		return fail("spec.platforms is empty")
	}
	seen := map[string]bool{}
	for i, pl := range p.Spec.Platforms {
		os, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		where := fmt.Sprintf("spec.platforms[%d] (%s/%s)", i, os, arch)
		for k := range pl.Selector.MatchLabels {
			if k != "os" && k != "arch" {
				return fail("%s: selector key %q is not supported (only os, arch)", where, k)
			}
		}
		switch {
		case !krewOS[os] || !krewArch[arch]:
			return fail("%s: selector needs a known os and arch", where)
		case seen[os+"/"+arch]:
			return fail("%s: duplicate platform", where)
		case !strings.HasPrefix(pl.URI, "https://"):
			return fail("%s: uri %q must be https", where, pl.URI)
		case !sha256Hex.MatchString(pl.Sha256):
			return fail("%s: sha256 %q must be 64 lower-case hex digits", where, pl.Sha256)
		case pl.Bin == "":
			return fail("%s: bin is empty", where)
		case os == "windows" && !strings.HasSuffix(pl.Bin, ".exe"):
			return fail("%s: bin %q must end in .exe on Windows", where, pl.Bin)
		}
		for _, f := range pl.Files {
			if f.From == "" || f.To == "" {
				return fail("%s: files entries need from and to", where)
			}
		}
		seen[os+"/"+arch] = true
	}
	return &p, nil
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
