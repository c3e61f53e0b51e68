package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCoreEntitiesSubsetIsUpToDate: the embedded core-entities spec is what
// the generator cuts from the sdk-konnect-go of go.mod, byte for byte; after
// an SDK bump or an ops change, regenerate it (see the package comment).
func TestCoreEntitiesSubsetIsUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", "pkg", "konnect", "konnecttest", "openapi")
	out := filepath.Join(t.TempDir(), "core.yaml")
	if err := run("", filepath.Join(dir, "konnect-core-entities.ops"), out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "konnect-core-entities.openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("konnect-core-entities.openapi.yaml is out of date: go run ./hack/konnect-subset -ops pkg/konnect/konnecttest/openapi/konnect-core-entities.ops -out pkg/konnect/konnecttest/openapi/konnect-core-entities.openapi.yaml")
	}
}
