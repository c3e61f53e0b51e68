// Package version is `kubectl konnect version`.
package version

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
)

// Options of `version`. It never reads the kubeconfig.
type Options struct {
	genericiooptions.IOStreams
	Output string
}

// NewCommand builds `version`.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin version and the Konnect and KGO API versions it speaks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: one of (json, yaml). Default: human-readable.")
	return cmd
}

// Validate checks the output format.
func (o *Options) Validate() error {
	switch o.Output {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output %q is not supported: use json or yaml, or leave it out", o.Output)
}

// Run prints the version.
func (o *Options) Run() error {
	info := version.Get()
	switch o.Output {
	case "json":
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(o.Out, string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(info)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	commit := info.Commit
	if commit == "" {
		commit = "unknown"
	}
	kc := "kubernetes-configuration " + info.KubernetesConfiguration + ", "
	if info.KubernetesConfiguration == "" {
		kc = "" // not linked into this build
	}
	_, err := fmt.Fprintf(o.Out, "kubectl-konnect %s (commit %s, %s, %s)\nKonnect SDK: %s\nKGO API: %sgenerations %s\n",
		info.Version, commit, info.GoVersion, info.Platform, info.KonnectSDK, kc, strings.Join(info.KGOGenerations, ", "))
	return err
}
