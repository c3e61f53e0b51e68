package kube

import "fmt"

// The values of kubectl's --dry-run flag, spelled as kubectl spells them.
const (
	DryRunNone   = "none"
	DryRunClient = "client"
	DryRunServer = "server"
)

// ParseDryRun checks a --dry-run value; an empty one is DryRunNone.
func ParseDryRun(v string) (string, error) {
	switch v {
	case "":
		return DryRunNone, nil
	case DryRunNone, DryRunClient, DryRunServer:
		return v, nil
	}
	return "", fmt.Errorf(`--dry-run %q is not supported: use "none", "client" or "server"`, v)
}

// DryRunSuffix ends a progress line about a write, so that a dry run never
// reads as if it had written: "" when the write is real.
func DryRunSuffix(dryRun string) string {
	switch dryRun {
	case DryRunClient:
		return " (dry run)"
	case DryRunServer:
		return " (server dry run)"
	}
	return ""
}
