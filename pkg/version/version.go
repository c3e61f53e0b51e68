// Package version holds the build stamp of kubectl-konnect and the API versions it speaks.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/kubectl-konnect/kubectl-konnect/pkg/version.Version=..." by `make build`/`make dist`
// (GoReleaser). Without them, Get and Current fall back to the build info.
var (
	Version = "dev"
	Commit  = ""
)

// Info is what `kubectl konnect version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	// KonnectSDK is the sdk-konnect-go version compiled in: the Konnect API surface we speak.
	KonnectSDK string `json:"konnectSDK"`
	// KubernetesConfiguration is the kubernetes-configuration (KGO API types) version compiled in.
	KubernetesConfiguration string `json:"kubernetesConfiguration"`
	// KGOGenerations are the KGO API generations the plugin can write and check.
	KGOGenerations []string `json:"kgoGenerations"`
}

// Get reads the stamp and the dependency versions from the binary's build info.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return get(bi)
}

// get is Get on a given build info (nil when the binary has none).
func get(bi *debug.BuildInfo) Info {
	info := Info{
		Version:        Resolved(bi),
		Commit:         Commit,
		GoVersion:      runtime.Version(),
		Platform:       runtime.GOOS + "/" + runtime.GOARCH,
		KGOGenerations: []string{"kgo-1.4", "kgo-1.5+", "ko-2.0", "ko-2.1", "ko-2.2", "ko-2.3"},
	}
	if bi != nil {
		for _, dep := range bi.Deps {
			switch dep.Path {
			case "github.com/Kong/sdk-konnect-go":
				info.KonnectSDK = dep.Version
			case "github.com/kong/kubernetes-configuration":
				info.KubernetesConfiguration = dep.Version
			}
		}
		if info.Commit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					info.Commit = s.Value
				}
			}
		}
	}
	return info
}

// Current is the version of this binary: the -ldflags stamp when there is
// one, else the module version `go install ...@vX.Y.Z` records in the build
// info, else "dev".
func Current() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return Resolved(bi)
}

// Resolved is Current on a given build info. A build inside the module's own
// checkout records "(devel)" as its version, which says nothing: it stays
// "dev" (the commit comes from vcs.revision).
func Resolved(bi *debug.BuildInfo) string {
	if Version != "dev" && Version != "" {
		return Version
	}
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// UserAgent names the tool and its version on every Kubernetes and Konnect request.
func UserAgent() string {
	return fmt.Sprintf("kubectl-konnect/%s (%s)", Current(), runtime.GOOS+"/"+runtime.GOARCH)
}
