// Package version holds the build stamp of kubectl-konnect and the API versions it speaks.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/kubectl-konnect/kubectl-konnect/pkg/version.Version=..." by `make build`/`make dist`.
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
	info := Info{
		Version:        Version,
		Commit:         Commit,
		GoVersion:      runtime.Version(),
		Platform:       runtime.GOOS + "/" + runtime.GOARCH,
		KGOGenerations: []string{"kgo-1.4", "kgo-1.5/1.6", "ko-2.0"},
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
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

// UserAgent names the tool and its version on every Kubernetes and Konnect request.
func UserAgent() string {
	return fmt.Sprintf("kubectl-konnect/%s (%s)", Version, runtime.GOOS+"/"+runtime.GOARCH)
}
