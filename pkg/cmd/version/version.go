// Package version is `kubectl konnect version`.
package version

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/lint"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/version"
)

// OperatorReleases are the operator releases this build supports, as
// --kgo-version takes them.
var OperatorReleases = []string{"1.4", "1.5", "1.6", "2.0", "2.1", "2.2", "2.3"}

// Factory is what version needs from pkg/kube.Factory: the kubeconfig, if any.
type Factory interface {
	RESTConfig() (*rest.Config, error)
}

// Options of `version`.
type Options struct {
	genericiooptions.IOStreams
	Output string
	// Timeout bounds the look at the cluster (default 5s).
	Timeout time.Duration

	// detect reads the release facts of the cluster; nil without a
	// kubeconfig (nothing is printed about a cluster then).
	detect func(ctx context.Context) (rules.Served, error)
}

// Report is what version prints.
type Report struct {
	version.Info `json:",inline"`
	// OperatorReleases this build supports.
	OperatorReleases []string `json:"operatorReleases"`
	// Cluster is the release detected in the cluster, when one was reached.
	Cluster *ClusterRelease `json:"cluster,omitempty"`
}

// ClusterRelease is the operator release the cluster runs.
type ClusterRelease struct {
	Generation string `json:"generation"`
	Release    string `json:"release"`
	Source     string `json:"source"`
}

// NewCommand builds `version`. f may be nil (no cluster is looked at).
func NewCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{IOStreams: streams, Timeout: 5 * time.Second}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin version, the operator releases it supports and the one the cluster runs",
		Long: `Prints the plugin version, the Konnect and KGO API versions it speaks and the operator releases it
supports. With a kubeconfig and a reachable cluster it also names the operator release the cluster runs
(read as init, check and lint --cluster read it); an unreachable cluster is noted on stderr only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			o.Complete(f)
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return o.Run(ctx)
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

// Complete prepares the look at the cluster when a kubeconfig is there.
func (o *Options) Complete(f Factory) {
	if f == nil || o.detect != nil {
		return
	}
	cfg, err := f.RESTConfig()
	if err != nil {
		return // no kubeconfig: the plugin's own versions only
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = o.Timeout
	cfg.WarningHandler = rest.NoWarnings{}
	o.detect = func(ctx context.Context) (rules.Served, error) {
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			return rules.Served{}, err
		}
		// One plain GET first: a cluster that cannot be reached is one
		// line, not the discovery cache's error log for every kind.
		if _, err := dc.ServerVersion(); err != nil {
			return rules.Served{}, fmt.Errorf("the cluster at %s cannot be reached: %w", cfg.Host, err)
		}
		md, err := metadata.NewForConfig(cfg)
		if err != nil {
			return rules.Served{}, err
		}
		mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
		return (&lint.Cluster{Mapper: mapper, Metadata: md}).Release(ctx)
	}
}

// Run prints the version.
func (o *Options) Run(ctx context.Context) error {
	rep := Report{Info: version.Get(), OperatorReleases: OperatorReleases}
	rep.KGOGenerations = nil
	for _, g := range rules.Generations {
		rep.KGOGenerations = append(rep.KGOGenerations, string(g))
	}
	var note error
	if o.detect != nil {
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		served, err := o.detect(ctx)
		cancel()
		if err != nil {
			note = err
		} else {
			g := rules.GenerationFor(served)
			rep.Cluster = &ClusterRelease{Generation: string(g), Release: g.Release(), Source: served.ReleaseSource()}
			if !g.Known() {
				rep.Cluster.Source = "no KGO KonnectExtension CRD is served"
			}
		}
	}
	// The plugin's own versions come first, as kubectl version prints the
	// client before it complains about the server.
	if err := o.print(rep); err != nil {
		return err
	}
	if note != nil {
		fmt.Fprintf(o.ErrOut, "note: no operator release read from the cluster: %v\n", note)
	}
	return nil
}

func (o *Options) print(rep Report) error {
	switch o.Output {
	case "json":
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(o.Out, string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	info := rep.Info
	commit := info.Commit
	if commit == "" {
		commit = "unknown"
	}
	kc := "kubernetes-configuration " + info.KubernetesConfiguration + ", "
	if info.KubernetesConfiguration == "" {
		kc = "" // not linked into this build
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kubectl-konnect %s (commit %s, %s, %s)\nKonnect SDK: %s\nKGO API: %sgenerations %s\n",
		info.Version, commit, info.GoVersion, info.Platform, info.KonnectSDK, kc, strings.Join(info.KGOGenerations, ", "))
	fmt.Fprintf(&b, "Operator releases: KGO %s (Kong Gateway Operator), kong-operator %s\n",
		strings.Join(OperatorReleases[:3], ", "), strings.Join(OperatorReleases[3:], ", "))
	if c := rep.Cluster; c != nil {
		fmt.Fprintf(&b, "Cluster: %s (%s)\n", c.Release, c.Source)
	}
	_, err := fmt.Fprint(o.Out, b.String())
	return err
}
