package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func sampleArtifacts() []Artifact {
	var arts []Artifact
	for _, p := range platforms {
		ext := ".tar.gz"
		if p.OS == "windows" {
			ext = ".zip"
		}
		arts = append(arts, Artifact{OS: p.OS, Arch: p.Arch, File: "kubectl-konnect_v1.2.3_" + p.OS + "_" + p.Arch + ext, Sha256: strings.Repeat("ab", 32)})
	}
	return arts
}

// The committed .krew.yaml template renders into a manifest that passes
// krew's validation rules for every platform we ship.
func TestKrewTemplateRendersAValidManifest(t *testing.T) {
	tmpl, err := os.ReadFile(filepath.Join("..", "..", ".krew.yaml"))
	require.NoError(t, err)
	out, err := RenderKrew(tmpl, "v1.2.3", "https://example.com/releases/download/v1.2.3", sampleArtifacts())
	require.NoError(t, err)
	p, err := ValidateKrew(writeManifest(t, out))
	require.NoError(t, err, string(out))
	require.Equal(t, "konnect", p.Metadata.Name)
	require.Len(t, p.Spec.Platforms, len(platforms))
	for _, pl := range p.Spec.Platforms {
		if pl.Selector.MatchLabels["os"] == "windows" {
			require.Equal(t, "kubectl-konnect.exe", pl.Bin)
		}
		require.True(t, strings.HasPrefix(pl.URI, "https://example.com/releases/download/v1.2.3/kubectl-konnect_v1.2.3_"))
	}
}

func writeManifest(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "konnect.yaml") // krew: the file is named after the plugin
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

// What krew's own validator rejects, and the two rules of ours.
func TestKrewValidationRejectsWhatKrewRejects(t *testing.T) {
	tmpl, err := os.ReadFile(filepath.Join("..", "..", ".krew.yaml"))
	require.NoError(t, err)
	good, err := RenderKrew(tmpl, "v1.2.3", "https://example.com/d", sampleArtifacts())
	require.NoError(t, err)
	for name, tc := range map[string]struct{ from, to, want string }{
		"bad version":      {"version: v1.2.3", "version: one.two", "failed to parse plugin version"},
		"name mismatch":    {"name: konnect", "name: kubectl-konnect", `plugin should be named "konnect"`},
		"bad sha":          {strings.Repeat("ab", 32), "nothex", "`sha256` value nothex is not valid"},
		"selector key":     {"os: linux", "distro: linux", `key "distro" not supported`},
		"multi-line short": {"shortDescription: Connect Kong Gateway Operator to Kong Konnect", "shortDescription: \"a\\nb\"", "line breaks in short description"},
		"unknown field":    {"homepage:", "homepagee:", "homepagee"},
		"http uri":         {"uri: https://", "uri: http://", "must be https"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.from, tc.to, 1)
			require.NotEqual(t, string(good), bad, "the mutation must apply")
			_, err := ValidateKrew(writeManifest(t, []byte(bad)))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestKrewVersionOfGitDescribe(t *testing.T) {
	require.Equal(t, "v1.2.0", krewVersion("v1.2.0", "abc1234"))
	require.Equal(t, "v0.0.0-dev+abc1234", krewVersion("abc1234-dirty", "abc1234"))
	require.Regexp(t, releaseTag, krewVersion("v1.2.0-3-gabc1234", "abc1234"))
}
