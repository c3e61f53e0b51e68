// Package lint is `kubectl konnect lint`: the webhook's rule catalogue over
// manifests before they are applied, for CI and for the terminal.
package lint

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/lint"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Exit codes of lint. They do not depend on -o.
const (
	// ExitOK: no deny-level finding (warnings may have been printed).
	ExitOK = 0
	// ExitDeny: at least one deny-level finding; the webhook would reject
	// the object.
	ExitDeny = 1
	// ExitUsage: nothing was linted: a bad flag, an unreadable file, a
	// manifest kubectl could not parse, or (--cluster) an unreachable cluster.
	ExitUsage = 2
)

// ExitError carries the exit code of a failed lint; the process exits with
// ExitCode() (see ExitCode).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// ExitCode is the exit code for the error a command returned: 0 for nil,
// the code of an error with an ExitCode() int method, else 1.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

func usageError(err error) error {
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// Factory is what lint needs from pkg/kube.Factory, and only with --cluster.
type Factory interface {
	Namespace() (string, bool, error)
	RESTConfig() (*rest.Config, error)
	RESTMapper() (meta.RESTMapper, error)
}

// Options of `lint`.
type Options struct {
	genericiooptions.IOStreams

	Filenames []string
	// Kustomize is -k: kustomization folders rendered as kubectl apply -k does.
	Kustomize  []string
	Recursive  bool
	Output     string
	KGOVersion string
	Cluster    bool
	Strict     bool
	Disable    []string
	// NamespaceFlag is -n/--namespace as given on the command line ("" if not).
	NamespaceFlag string

	// Filled by Complete.
	namespace  string
	generation rules.Generation
	genSource  string
	cluster    *lint.Cluster
}

const example = `  # Lint a folder of manifests before applying it
  kubectl konnect lint -f deploy/

  # Sub-folders too, as JSON for a CI annotation step
  kubectl konnect lint -R -f deploy/ -o json

  # What a pipeline renders
  kustomize build overlays/prod | kubectl konnect lint -f -

  # Resolve references against the objects already in the cluster, and
  # fail on missing targets as the webhook does with --strict
  kubectl konnect lint -f kongservice.yaml --cluster --strict`

// NewCommand builds `lint`.
func NewCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "lint -f FILENAME|DIR|-",
		Short: "Check manifests against the webhook's rules before kubectl apply",
		Long: `Runs the admission webhook's rule catalogue (docs/rules.md) over manifests, offline: references
resolve within the given files (YAML streams, JSON, kubectl List kinds; folders read for .yaml, .yml
and .json files, recursively with -R). Each finding is printed with its code, severity, file:line,
object, field, message and fix.

Objects without a namespace are in the namespace given with -n, else "default"; with --cluster in
the namespace kubectl would use (-n or the kubeconfig context's).

The KGO version decides what some resources mean. It comes from --kgo-version, else with --cluster
from the cluster's API discovery, else from the files: a konnect.konghq.com/v1alpha2
KonnectGatewayControlPlane or KonnectExtension means kong-operator 2.x (ko-2.0); another
konnect.konghq.com KonnectExtension, or a DataPlane extension of that group, means KGO >= 1.5. A
gateway-operator.konghq.com KonnectExtension alone proves nothing (KGO 1.5/1.6 still serve and
ignore it), so the version stays unknown and the rules that depend on it (KON1006, KON1601,
KON1606, KON1802) do not run unless --kgo-version or --cluster is given.

With --cluster, references also resolve against the live objects of the kinds the rules look up, in
the namespaces the files use (Secrets as metadata only); objects in the files replace live ones.

Exit codes, whatever -o: 0 no deny-level finding (warnings allowed); 1 at least one deny-level
finding (with --strict, missing-target warnings are denials, as for the webhook's --strict); 2
nothing was linted: bad flag, unreadable file, a manifest that does not parse (file:line is
printed), or an unreachable cluster.`,
		Example: example,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError(fmt.Errorf("lint takes no arguments, got %q: name manifests with -f", strings.Join(args, " ")))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fl := cmd.Flags().Lookup("namespace"); fl != nil && fl.Changed {
				o.NamespaceFlag = fl.Value.String()
			}
			if err := o.Validate(); err != nil {
				return usageError(err)
			}
			if err := o.Complete(f); err != nil {
				return usageError(err)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return o.Run(ctx)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.Filenames, "filename", "f", nil, "Manifest file, folder of manifests, or - for stdin (repeatable)")
	fl.StringSliceVarP(&o.Kustomize, "kustomize", "k", nil, "Folder of a kustomization, rendered as kubectl apply -k renders it (repeatable)")
	fl.BoolVarP(&o.Recursive, "recursive", "R", false, "Read the folders given with -f recursively")
	fl.StringVarP(&o.Output, "output", "o", "text", "Output format: text or json")
	fl.StringVar(&o.KGOVersion, "kgo-version", "", "KGO version the manifests are for: 1.4, 1.5, 1.6, or 2.0 for kong-operator 2.0 (default: from --cluster, else inferred from the files)")
	fl.BoolVar(&o.Cluster, "cluster", false, "Also resolve references against the live objects of the current kubeconfig context")
	fl.BoolVar(&o.Strict, "strict", false, "Report missing referenced objects as deny, as the webhook's --strict does")
	fl.StringSliceVar(&o.Disable, "disable", nil, "Rule codes not to run (repeatable), e.g. KON1005")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

// Validate checks the flags alone.
func (o *Options) Validate() error {
	if len(o.Filenames) == 0 && len(o.Kustomize) == 0 {
		return errors.New("name the manifests to lint with -f FILE|DIR|- or -k KUSTOMIZATION_DIR (repeatable)")
	}
	switch o.Output {
	case "", "text", "json":
	default:
		return fmt.Errorf("--output %q is not supported: use text or json", o.Output)
	}
	if o.KGOVersion != "" {
		if _, err := lint.ParseKGOVersion(o.KGOVersion); err != nil {
			return fmt.Errorf("--kgo-version: %w", err)
		}
	}
	for _, c := range o.Disable {
		if _, ok := rules.RuleByCode(c); !ok && c != lint.CodeDuplicate {
			return fmt.Errorf("--disable %s: no such rule (codes are listed in docs/rules.md)", c)
		}
	}
	return nil
}

// Complete fills the namespace and, with --cluster, the cluster clients.
// Without --cluster the kubeconfig is never read.
func (o *Options) Complete(f Factory) error {
	if o.KGOVersion != "" {
		o.generation, _ = lint.ParseKGOVersion(o.KGOVersion)
		o.genSource = lint.SourceFlag
	}
	if !o.Cluster {
		o.namespace = o.NamespaceFlag
		if o.namespace == "" {
			o.namespace = lint.DefaultNamespace
		}
		return nil
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return fmt.Errorf("--cluster: reading the namespace from the kubeconfig: %w", err)
	}
	o.namespace = ns
	cfg, err := f.RESTConfig()
	if err != nil {
		return fmt.Errorf("--cluster: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	// Listing the deprecated KonnectExtension group draws a warning; KON1601
	// says what matters about it.
	cfg.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("--cluster: %w", err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("--cluster: %w", err)
	}
	mapper, err := f.RESTMapper()
	if err != nil {
		return fmt.Errorf("--cluster: %w", err)
	}
	o.cluster = &lint.Cluster{Mapper: mapper, Dynamic: dyn, Metadata: md}
	return nil
}

// Run reads the manifests, lints them and prints the report. Nothing is
// printed to stdout unless every input was read.
func (o *Options) Run(ctx context.Context) error {
	var objs []*lint.Object
	var files []string
	if len(o.Filenames) > 0 {
		var err error
		objs, files, err = lint.Read(lint.Input{Paths: o.Filenames, Recursive: o.Recursive, Stdin: o.In})
		if err != nil {
			return usageError(err)
		}
	}
	for _, dir := range o.Kustomize {
		kobjs, err := lint.Kustomize(dir, len(files))
		if err != nil {
			return usageError(err)
		}
		objs = append(objs, kobjs...)
		files = append(files, dir)
	}
	if len(objs) == 0 {
		return usageError(fmt.Errorf("no Kubernetes objects in %s", strings.Join(append(o.Filenames, o.Kustomize...), ", ")))
	}
	opts := lint.Options{
		Generation:       o.generation,
		GenerationSource: o.genSource,
		Strict:           o.Strict,
		Disabled:         o.Disable,
		Namespace:        o.namespace,
	}
	if o.cluster != nil {
		if opts.GenerationSource == "" {
			served, err := o.cluster.Release(ctx)
			if err != nil {
				return usageError(fmt.Errorf("--cluster: %w", err))
			}
			opts.Generation, opts.GenerationSource = rules.GenerationFor(served), lint.SourceCluster
			if served.CRDUnread != "" {
				fmt.Fprintf(o.ErrOut, "note: --cluster: %s %s\n", opts.Generation.Release(), served.ReleaseSource())
			}
		}
		live, err := o.cluster.Live(ctx, lint.Namespaces(objs, o.namespace))
		if err != nil {
			return usageError(fmt.Errorf("--cluster: %w", err))
		}
		opts.Live = live
	}
	if opts.GenerationSource == "" {
		if gen := lint.InferGeneration(objs); gen != rules.GenerationUnknown {
			opts.Generation, opts.GenerationSource = gen, lint.SourceFiles
		}
	}
	rep := lint.Lint(objs, len(files), opts)
	for _, n := range rep.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	var err error
	if o.Output == "json" {
		err = rep.WriteJSON(o.Out)
	} else {
		err = rep.WriteText(o.Out)
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return &ExitError{Code: ExitDeny, Err: fmt.Errorf("lint: %d deny-level %s", rep.Summary.Deny, pluralWord(rep.Summary.Deny, "finding"))}
	}
	return nil
}

func pluralWord(n int, w string) string {
	if n == 1 {
		return w
	}
	return w + "s"
}
