// Command image builds the webhook's container image without a Docker
// daemon, with go-containerregistry, and writes it as an OCI image layout
// (a folder that `crane push`, skopeo or `oras` push as is). `make image`
// runs it on the static binary `make` built for linux.
//
// The image is FROM scratch: no registry beyond the Go module proxy is
// reachable here, so no distroless base can be pulled. The one layer holds
// what distroless/static:nonroot gives this binary and nothing else: the
// binary, /etc/passwd and /etc/group naming 65532 (nonroot), and an empty
// /tmp. No CA bundle: the webhook only talks to the API server, with the
// ServiceAccount's ca.crt, and a bundle copied from the build machine would
// make the image differ from one machine to the next.
//
// Reproducible: every timestamp is the Unix epoch, files are written in a
// fixed order with fixed owners and modes, so the same binary gives the
// same digest (`make image` twice prints the same one).
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Options say what goes into the image.
type Options struct {
	Binary   string // path of the static linux binary
	Arch     string // amd64, arm64
	Version  string
	Revision string // the full commit
	Source   string // the repository URL
	Tag      string // the reference written into the layout's index
}

// NonRoot is the user distroless calls nonroot; the Deployment's
// runAsNonRoot needs a numeric user in the image.
const NonRoot = 65532

// Entrypoint is where the binary lands, and what the image runs.
const Entrypoint = "/webhook"

func main() {
	var o Options
	out := flag.String("out", "bin/image", "OCI image layout folder to write (replaced)")
	flag.StringVar(&o.Binary, "binary", "", "static linux webhook binary")
	flag.StringVar(&o.Arch, "arch", "amd64", "architecture of the binary")
	flag.StringVar(&o.Version, "version", "dev", "org.opencontainers.image.version")
	flag.StringVar(&o.Revision, "revision", "", "org.opencontainers.image.revision (commit)")
	flag.StringVar(&o.Source, "source", "https://github.com/kubectl-konnect/kubectl-konnect", "org.opencontainers.image.source")
	flag.StringVar(&o.Tag, "tag", "", "image reference recorded in the layout (org.opencontainers.image.ref.name)")
	flag.Parse()
	img, err := Build(o)
	if err == nil {
		err = Write(*out, img, o.Tag)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	d, _ := img.Digest()
	fmt.Fprintf(os.Stderr, "image: %s written to %s\n", o.Tag, *out)
	fmt.Println(d.String())
}

// Build assembles the image.
func Build(o Options) (v1.Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfs(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{CreatedBy: "hack/image: webhook binary, /etc/passwd, /etc/group, /tmp", Created: v1.Time{Time: time.Unix(0, 0).UTC()}},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.User = fmt.Sprintf("%d:%d", NonRoot, NonRoot)
	cf.Config.Entrypoint = []string{Entrypoint}
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    o.Revision,
		"org.opencontainers.image.title":       "kubectl-konnect-webhook",
		"org.opencontainers.image.description": "Validating admission webhook for Kong Gateway Operator and Konnect objects",
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
	return mutate.ConfigFile(img, cf)
}

// rootfs is the layer: fixed order, owners, modes and times.
func rootfs(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRoot, NonRoot)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRoot)
	for _, step := range []func() error{
		func() error { return dir("etc/", 0o755) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return dir("tmp/", 0o1777) },
		func() error { return file("webhook", 0o755, bin) },
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write replaces dir with an OCI image layout holding img, named tag.
func Write(dir string, img v1.Image, tag string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	var opts []layout.Option
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}))
	}
	return p.AppendImage(img, opts...)
}
