package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The layout is read back with nothing but encoding/json, as a registry or a
// runtime reads it: index.json -> manifest -> config. The same binary gives
// the same digest twice; the config says user 65532, the entrypoint and the
// OCI labels.
func TestImageIsReproducibleAndNonRoot(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "webhook")
	require.NoError(t, os.WriteFile(bin, []byte("\x7fELF not really a binary"), 0o755))
	o := Options{Binary: bin, Arch: "arm64", Version: "v1.2.3", Revision: "0123abcd", Source: "https://github.com/kubectl-konnect/kubectl-konnect", Tag: "ghcr.io/kubectl-konnect/webhook:v1.2.3"}

	var digests []string
	var dirs []string
	for range 2 {
		img, err := Build(o)
		require.NoError(t, err)
		dir := filepath.Join(t.TempDir(), "oci")
		require.NoError(t, Write(dir, img, o.Tag))
		d, err := img.Digest()
		require.NoError(t, err)
		digests = append(digests, d.String())
		dirs = append(dirs, dir)
	}
	require.Equal(t, digests[0], digests[1], "the same binary must give the same image")

	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	readJSON(t, filepath.Join(dirs[1], "index.json"), &index)
	require.Len(t, index.Manifests, 1)
	require.Equal(t, digests[0], index.Manifests[0].Digest)
	require.Equal(t, o.Tag, index.Manifests[0].Annotations["org.opencontainers.image.ref.name"])

	var manifest struct {
		Config struct{ Digest string }   `json:"config"`
		Layers []struct{ Digest string } `json:"layers"`
	}
	readJSON(t, blob(dirs[1], index.Manifests[0].Digest), &manifest)
	require.Len(t, manifest.Layers, 1, "FROM scratch: one layer, ours")
	var config struct {
		OS, Architecture string
		Config           struct {
			User       string
			Entrypoint []string
			Labels     map[string]string
		} `json:"config"`
	}
	readJSON(t, blob(dirs[1], manifest.Config.Digest), &config)
	require.Equal(t, "linux", config.OS)
	require.Equal(t, "arm64", config.Architecture)
	require.Equal(t, "65532:65532", config.Config.User)
	require.Equal(t, []string{"/webhook"}, config.Config.Entrypoint)
	require.Equal(t, "https://github.com/kubectl-konnect/kubectl-konnect", config.Config.Labels["org.opencontainers.image.source"])
	require.Equal(t, "v1.2.3", config.Config.Labels["org.opencontainers.image.version"])
	require.Equal(t, "0123abcd", config.Config.Labels["org.opencontainers.image.revision"])
}

// The root file system holds /etc/passwd naming 65532, and the binary at
// the entrypoint, executable.
func TestRootFS(t *testing.T) {
	b, err := rootfs([]byte("bin"))
	require.NoError(t, err)
	files := untar(t, b)
	require.Contains(t, files["etc/passwd"].body, "nonroot:x:65532:65532:")
	require.Equal(t, int64(0o755), files["webhook"].mode)
	require.Equal(t, "bin", files["webhook"].body)
}

func blob(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", digest[len("sha256:"):])
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), path)
}

type tarFile struct {
	mode int64
	body string
}

func untar(t *testing.T, b []byte) map[string]tarFile {
	t.Helper()
	out := map[string]tarFile{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		out[h.Name] = tarFile{mode: h.Mode, body: string(body)}
	}
}
