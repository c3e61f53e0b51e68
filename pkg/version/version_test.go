package version

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// A `go install ...@v1.2.3` build has no -ldflags stamp: the module version
// and the VCS revision come from the build info.
func TestFallsBackToBuildInfo(t *testing.T) {
	defer func(v, c string) { Version, Commit = v, c }(Version, Commit)
	Version, Commit = "dev", ""
	bi := &debug.BuildInfo{
		Main:     debug.Module{Path: "github.com/kubectl-konnect/kubectl-konnect", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}},
		Deps:     []*debug.Module{{Path: "github.com/Kong/sdk-konnect-go", Version: "v0.50.0"}},
	}
	info := get(bi)
	require.Equal(t, "v1.2.3", info.Version)
	require.Equal(t, "0123abcd", info.Commit)
	require.Equal(t, "v0.50.0", info.KonnectSDK)

	bi.Main.Version = "(devel)" // built inside the checkout: no module version
	require.Equal(t, "dev", get(bi).Version)
	require.Equal(t, "dev", Resolved(nil))
}

// The -ldflags stamp wins over the build info.
func TestStampWins(t *testing.T) {
	defer func(v, c string) { Version, Commit = v, c }(Version, Commit)
	Version, Commit = "v2.0.0", "feed"
	info := get(&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}}})
	require.Equal(t, "v2.0.0", info.Version)
	require.Equal(t, "feed", info.Commit)
}
