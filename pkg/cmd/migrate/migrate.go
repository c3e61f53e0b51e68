// Package migrate is `kubectl konnect migrate`: what the Konnect objects of
// a namespace written for Kong Gateway Operator 1.x become on kong-operator
// 2.x, as a diff to review or as the objects to apply.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/konnect"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/lint"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/migrate"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/rules"
)

// Output formats.
const (
	OutputDiff = "diff"
	OutputYAML = "yaml"
)

// Factory is what migrate needs from pkg/kube.Factory (not with -f).
type Factory interface {
	Namespace() (string, bool, error)
	RESTConfig() (*rest.Config, error)
	RESTMapper() (meta.RESTMapper, error)
}

// Options of `migrate`.
type Options struct {
	genericiooptions.IOStreams

	Filenames []string
	Recursive bool
	Output    string
	// Konnect: ask the Konnect API what only it knows (KGO 1.4 endpoint
	// prefixes, the names of Mirrors).
	Konnect bool
	// NamespaceFlag is -n/--namespace as given ("" if not).
	NamespaceFlag string
	// KonnectHTTPClient carries the Konnect calls; from the environment
	// (konnect.HTTPClientFromEnv) when nil.
	KonnectHTTPClient *http.Client

	// KGOVersion is the kong-operator 2 release to migrate to (--kgo-version);
	// without it, the release the cluster runs when it runs a 2.x one.
	KGOVersion string

	namespace string
	dynamic   dynamic.Interface
	mapper    meta.RESTMapper
	metadata  metadata.Interface
	// target is the kong-operator 2 release migrated to, GenerationUnknown
	// when neither the flag nor the cluster says (any 2.x: they all take the
	// same objects); targetSource says where it came from.
	target       rules.Generation
	targetSource string
}

const example = `  # What changes in the current namespace for kong-operator 2.x, as a diff
  kubectl konnect migrate

  # The migrated objects, to review and apply
  kubectl konnect migrate -n team-a -o yaml > migrated.yaml
  kubectl apply -n team-a -f migrated.yaml

  # Manifests of a GitOps repository instead of the cluster
  kubectl konnect migrate -f deploy/ -R -o yaml`

// NewCommand builds `migrate`.
func NewCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{IOStreams: streams, Output: OutputDiff, Konnect: true}
	cmd := &cobra.Command{
		Use:   "migrate [-f FILENAME|DIR|-]",
		Short: "Show what the Konnect objects of KGO 1.x become on kong-operator 2.x, as a diff or as objects to apply",
		Long: `Reads the KGO 1.x Konnect objects of a namespace (from the cluster, or from manifests with -f)
and writes what kong-operator 2.x (API konnect.konghq.com/v1alpha2) needs instead:

  - KonnectGatewayControlPlane v1alpha1 -> v1alpha2: spec.name and the other fields Konnect creates
    the control plane from move to spec.createControlPlaneRequest; spec.source is Origin (or Mirror).
  - KonnectExtension -> konnect.konghq.com/v1alpha2, which references a KonnectGatewayControlPlane by
    name only (konnectNamespacedRef). A konnectID reference becomes the name of the
    KonnectGatewayControlPlane of the namespace that stands for that control plane, else of a new
    Mirror KonnectGatewayControlPlane (source: Mirror, mirror.konnect.id), which the output includes.
    KGO 1.4's gateway-operator.konghq.com KonnectExtension holds the control plane's endpoint prefix
    (b89939e7f0 of https://b89939e7f0.us.cp0.konghq.com): it is matched against the status of the
    control planes, else against the control planes the Konnect API lists with the token of the
    namespace's KonnectAPIAuthConfigurations (--konnect=false never asks).
  - DataPlane spec.extensions: group gateway-operator.konghq.com -> konnect.konghq.com.

The target is the kong-operator 2 release the cluster runs (read from the KonnectGatewayControlPlane
CRD's kubernetes-configuration.konghq.com/version, else discovery), or --kgo-version; a cluster still
on KGO 1.x, or -f without --kgo-version, targets any 2.x. What migrate writes is the same for 2.0 to
2.3: 2.1 to 2.3 changed nothing in these objects (their KongReferenceGrants guard cross-namespace
references, and every reference migrate writes stays in the object's namespace).

Objects already in their kong-operator 2.x form, and other kinds, are left out. With -o diff (the
default) each changed object is a unified diff of its YAML, as kubectl diff prints; with -o yaml the
migrated objects are written in the order to apply them. What to do besides applying (delete the
gateway-operator.konghq.com KonnectExtensions, which kong-operator 2.x does not serve) and how each
reference was resolved is printed to stderr.

With -f, objects without a namespace are in the namespace of -n, else "default", and the cluster is
not read. ControlPlane and GatewayConfiguration, whose kong-operator 2.x APIs are new versions, are
not converted.

Exit codes, whatever -o: 0 the output is complete (a diff may be empty: nothing to migrate); 1 a
KonnectExtension could not be migrated (its control plane was not found; the rest is written), or
the objects could not be read.`,
		Example:      example,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fl := cmd.Flags().Lookup("namespace"); fl != nil && fl.Changed {
				o.NamespaceFlag = fl.Value.String()
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Complete(f); err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return o.Run(ctx)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.Filenames, "filename", "f", nil, "Manifest file, folder of manifests, or - for stdin (repeatable); default: the objects in the cluster")
	fl.BoolVarP(&o.Recursive, "recursive", "R", false, "Read the folders given with -f recursively")
	fl.StringVarP(&o.Output, "output", "o", o.Output, "Output format: diff or yaml")
	fl.StringVar(&o.KGOVersion, "kgo-version", "", "kong-operator 2 release to migrate to (2.0, 2.1, 2.2, 2.3 or a full version such as v2.2.3); default: the one the cluster runs")
	fl.BoolVar(&o.Konnect, "konnect", o.Konnect, "Ask the Konnect API to resolve KGO 1.4 endpoint prefixes (with the token of the namespace's KonnectAPIAuthConfiguration)")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{OutputDiff, OutputYAML}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Validate checks the flags alone.
func (o *Options) Validate() error {
	switch o.Output {
	case OutputDiff, OutputYAML:
	default:
		return fmt.Errorf("--output %q is not supported: use diff or yaml", o.Output)
	}
	if o.Recursive && len(o.Filenames) == 0 {
		return errors.New("-R reads the folders given with -f: name them")
	}
	if o.KGOVersion != "" {
		g, err := rules.ParseRelease(o.KGOVersion)
		if err != nil {
			return fmt.Errorf("--kgo-version: %w", err)
		}
		if !g.KongOperator2() {
			return fmt.Errorf("--kgo-version %s is %s: migrate writes the objects of kong-operator 2.x; give the 2.x release to migrate to (2.0, 2.1, 2.2, 2.3)", o.KGOVersion, g.Release())
		}
		o.target, o.targetSource = g, "--kgo-version "+o.KGOVersion
	}
	return nil
}

// Complete fills the namespace and, without -f, the cluster clients. With
// -f the kubeconfig is never read.
func (o *Options) Complete(f Factory) error {
	if len(o.Filenames) > 0 {
		o.namespace = o.NamespaceFlag
		if o.namespace == "" {
			o.namespace = lint.DefaultNamespace
		}
		return nil
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	o.namespace = ns
	cfg, err := f.RESTConfig()
	if err != nil {
		return err
	}
	cfg = rest.CopyConfig(cfg)
	// Reading the deprecated KonnectExtension group draws a warning; the
	// migration is the answer to it.
	cfg.WarningHandler = rest.NoWarnings{}
	if o.dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	if o.metadata, err = metadata.NewForConfig(cfg); err != nil {
		return err
	}
	o.mapper, err = f.RESTMapper()
	return err
}

// detectTarget reads the kong-operator 2 release the cluster runs, unless
// --kgo-version named one; a cluster on KGO 1.x leaves it unknown.
func (o *Options) detectTarget(ctx context.Context) error {
	if o.target != rules.GenerationUnknown || o.mapper == nil {
		return nil
	}
	served, err := (&lint.Cluster{Mapper: o.mapper, Metadata: o.metadata}).Release(ctx)
	if err != nil {
		return err
	}
	if g := rules.GenerationFor(served); g.KongOperator2() {
		o.target, o.targetSource = g, served.ReleaseSource()
	}
	return nil
}

// targetName names the release migrated to: "kong-operator 2.2", or
// "kong-operator 2.x" when it is not known.
func (o *Options) targetName() string {
	if o.target.KongOperator2() {
		return o.target.Release()
	}
	return "kong-operator 2.x"
}

// Run reads the objects, plans the migration and writes it.
func (o *Options) Run(ctx context.Context) error {
	var objs []*unstructured.Unstructured
	var secret migrate.SecretGetter
	var err error
	if len(o.Filenames) > 0 {
		objs, err = o.readFiles()
		secret = secretIn(objs, o.namespace)
	} else {
		if err = o.detectTarget(ctx); err != nil {
			return err
		}
		objs, err = o.readCluster(ctx)
		secret = o.clusterSecret
	}
	if err != nil {
		return err
	}
	in := migrate.Input{Objects: objs, Namespace: o.namespace}
	if o.Konnect {
		hc := o.KonnectHTTPClient
		if hc == nil {
			if hc, err = konnect.HTTPClientFromEnv(); err != nil {
				return err
			}
		}
		in.Konnect = &migrate.KonnectAPI{HTTPClient: hc, Secret: secret}
	}
	res := migrate.Plan(ctx, in)

	for _, c := range res.Changes {
		fmt.Fprintf(o.ErrOut, "%s\n", c.Why)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	if o.target.KongOperator2() && len(res.Changes) > 0 {
		fmt.Fprintf(o.ErrOut, "note: migrated to %s (%s), which takes the objects of kong-operator 2.0\n", o.targetName(), o.targetSource)
	}
	if len(res.Changes) == 0 && len(res.Unresolved) == 0 {
		fmt.Fprintf(o.ErrOut, "Nothing to migrate: %s\n", o.what())
	}
	if o.Output == OutputYAML {
		err = migrate.WriteYAML(o.Out, res.Changes)
	} else {
		err = migrate.WriteDiff(o.Out, res.Changes)
	}
	if err != nil {
		return err
	}
	if len(res.Unresolved) > 0 {
		return fmt.Errorf("%d KonnectExtension%s not migrated:\n  %s", len(res.Unresolved), plural(len(res.Unresolved)), strings.Join(res.Unresolved, "\n  "))
	}
	return nil
}

func (o *Options) what() string {
	if len(o.Filenames) > 0 {
		return "the objects of " + strings.Join(o.Filenames, ", ") + " are in their " + o.targetName() + " form already"
	}
	return "the objects of namespace " + o.namespace + " are in their " + o.targetName() + " form already"
}

func plural(n int) string {
	if n == 1 {
		return " was"
	}
	return "s were"
}

// migratedKinds are the kinds Plan reads.
var migratedKinds = []schema.GroupKind{
	rules.GKKonnectAPIAuthConfiguration,
	rules.GKKonnectGatewayControlPlane,
	rules.GKKonnectExtension,
	rules.GKKonnectExtensionLegacy,
	rules.GKDataPlane,
}

func (o *Options) readFiles() ([]*unstructured.Unstructured, error) {
	read, _, err := lint.Read(lint.Input{Paths: o.Filenames, Recursive: o.Recursive, Stdin: o.In})
	if err != nil {
		return nil, err
	}
	if len(read) == 0 {
		return nil, fmt.Errorf("no Kubernetes objects in %s", strings.Join(o.Filenames, ", "))
	}
	objs := make([]*unstructured.Unstructured, len(read))
	for i, r := range read {
		objs[i] = r.Obj
	}
	return objs, nil
}

// readCluster lists the kinds Plan reads in the namespace, each in the
// version the cluster prefers (the newest served).
func (o *Options) readCluster(ctx context.Context) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, gk := range migratedKinds {
		m, err := o.mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("discovering %s: %w", gk, err)
		}
		l, err := o.dynamic.Resource(m.Resource).Namespace(o.namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing %s in namespace %s: %w", m.Resource.GroupResource(), o.namespace, err)
		}
		for i := range l.Items {
			u := &l.Items[i]
			u.SetGroupVersionKind(m.GroupVersionKind)
			out = append(out, u)
		}
	}
	return out, nil
}

var gvrSecret = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// clusterSecret reads a token Secret, and only when Konnect is asked.
func (o *Options) clusterSecret(ctx context.Context, ns, name string) (*unstructured.Unstructured, error) {
	u, err := o.dynamic.Resource(gvrSecret).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}

// secretIn finds Secrets among the objects of the files.
func secretIn(objs []*unstructured.Unstructured, defaultNS string) migrate.SecretGetter {
	return func(_ context.Context, ns, name string) (*unstructured.Unstructured, error) {
		if ns == "" {
			ns = defaultNS
		}
		for _, o := range objs {
			if o.GetKind() != "Secret" || o.GroupVersionKind().Group != "" || o.GetName() != name {
				continue
			}
			ons := o.GetNamespace()
			if ons == "" {
				ons = defaultNS
			}
			if ons == ns {
				return o, nil
			}
		}
		return nil, nil
	}
}
