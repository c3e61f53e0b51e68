// Command dist does what GoReleaser (.goreleaser.yaml, `make dist`) cannot:
//
//   - -validate FILE checks a krew manifest with krew's own validator
//     (validate-krew-manifest of krew v0.4.3); GoReleaser writes the manifest
//     but validates nothing krew-index's CI checks.
//   - Without -validate it builds the same archives as GoReleaser (linux,
//     darwin, windows x amd64, arm64; LICENSE, README and the completion
//     script inside; sha256 sums; the krew manifest rendered from .krew.yaml
//     and validated) with nothing but the go command, for one platform in
//     seconds (-platforms host): the krew end-to-end test installs that
//     archive, and needs no GoReleaser build (minutes, cold) to do so.
//     `make dist-go` runs it for every platform.
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

var platforms = []struct{ OS, Arch string }{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

func main() {
	version := flag.String("version", "", "release version (vX.Y.Z); default: from git describe")
	out := flag.String("out", "dist", "output folder")
	validate := flag.String("validate", "", "only validate this krew manifest (GoReleaser's dist/krew/konnect.yaml) with krew's validator")
	only := flag.String("platforms", "", "comma-separated os/arch to build (default: all); \"host\" is this machine's")
	baseURL := flag.String("base-url", "https://github.com/kubectl-konnect/kubectl-konnect/releases/download", "release download URL prefix (the version is appended)")
	flag.Parse()
	if *validate != "" {
		if _, err := ValidateKrew(*validate); err != nil {
			fmt.Fprintln(os.Stderr, "dist:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "dist: krew manifest %s validated by krew's validate-krew-manifest\n", *validate)
		return
	}
	if *only != "" {
		platforms = selectPlatforms(*only)
	}
	if err := run(*version, *out, *baseURL); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

// selectPlatforms keeps the platforms named in list (os/arch, or host).
func selectPlatforms(list string) []struct{ OS, Arch string } {
	want := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		if p == "host" {
			p = runtime.GOOS + "/" + runtime.GOARCH
		}
		want[p] = true
	}
	var kept []struct{ OS, Arch string }
	for _, p := range platforms {
		if want[p.OS+"/"+p.Arch] {
			kept = append(kept, p)
		}
	}
	return kept
}

func git(args ...string) string {
	b, err := exec.Command("git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

var releaseTag = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

// krewVersion makes a semantic version of what git describe says: a tag as
// is, anything else as v0.0.0-dev+<commit>.
func krewVersion(describe, commit string) string {
	if releaseTag.MatchString(describe) {
		return describe
	}
	if commit == "" {
		commit = "unknown"
	}
	return "v0.0.0-dev+" + strings.ReplaceAll(commit, "-", ".")
}

func run(version, out, baseURL string) error {
	commit := git("rev-parse", "--short", "HEAD")
	if version == "" {
		version = krewVersion(git("describe", "--tags", "--always", "--dirty"), commit)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ldflags := fmt.Sprintf("-s -w -X github.com/kubectl-konnect/kubectl-konnect/pkg/version.Version=%s -X github.com/kubectl-konnect/kubectl-konnect/pkg/version.Commit=%s", version, commit)
	var arts []Artifact
	var sums strings.Builder
	for _, p := range platforms {
		start := time.Now()
		bin := "kubectl-konnect"
		if p.OS == "windows" {
			bin += ".exe"
		}
		buildDir, err := os.MkdirTemp("", "dist-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(buildDir)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", filepath.Join(buildDir, bin), "./cmd/kubectl-konnect")
		cmd.Env = append(os.Environ(), "GOOS="+p.OS, "GOARCH="+p.Arch, "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s/%s: %w", p.OS, p.Arch, err)
		}
		files := map[string]string{bin: filepath.Join(buildDir, bin), "LICENSE": "LICENSE", "README.md": "README.md"}
		if p.OS != "windows" {
			// kubectl's completion of `kubectl konnect ...` runs this from PATH.
			files["kubectl_complete-konnect"] = "cmd/kubectl-konnect/kubectl_complete-konnect"
		}
		name := fmt.Sprintf("kubectl-konnect_%s_%s_%s", version, p.OS, p.Arch)
		var archive string
		if p.OS == "windows" {
			archive = name + ".zip"
			err = writeZip(filepath.Join(out, archive), files)
		} else {
			archive = name + ".tar.gz"
			err = writeTarGz(filepath.Join(out, archive), files)
		}
		if err != nil {
			return err
		}
		sum, size, err := fileSum(filepath.Join(out, archive))
		if err != nil {
			return err
		}
		arts = append(arts, Artifact{OS: p.OS, Arch: p.Arch, File: archive, Sha256: sum})
		fmt.Fprintf(&sums, "%s  %s\n", sum, archive)
		fmt.Fprintf(os.Stderr, "dist: %-52s %6.1f MiB  %s\n", archive, float64(size)/(1<<20), time.Since(start).Round(time.Second))
	}
	if err := os.WriteFile(filepath.Join(out, "sha256sums.txt"), []byte(sums.String()), 0o644); err != nil {
		return err
	}
	tmpl, err := os.ReadFile(".krew.yaml")
	if err != nil {
		return err
	}
	manifest, err := RenderKrew(tmpl, version, strings.TrimSuffix(baseURL, "/")+"/"+version, arts)
	if err != nil {
		return fmt.Errorf("rendering .krew.yaml: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "konnect.yaml"), manifest, 0o644); err != nil {
		return err
	}
	if _, err := ValidateKrew(filepath.Join(out, "konnect.yaml")); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "dist: krew manifest %s validated\n", filepath.Join(out, "konnect.yaml"))
	return nil
}

func fileSum(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func writeTarGz(path string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, name := range sortedKeys(files) {
		b, err := os.ReadFile(files[name])
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if strings.HasPrefix(name, "kubectl") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(b)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

func writeZip(path string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, name := range sortedKeys(files) {
		b, err := os.ReadFile(files[name])
		if err != nil {
			return err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
