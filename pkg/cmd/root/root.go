// Package root assembles the kubectl-konnect command tree.
package root

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	certcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/cert"
	checkcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/check"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/completion"
	initcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/init"
	lintcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/lint"
	migratecmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/migrate"
	versioncmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/version"
	webhookcmd "github.com/kubectl-konnect/kubectl-konnect/pkg/cmd/webhook"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

// NewCommand builds the root command. The factory is created here and handed to verbs, which fill their
// options from it in PreRunE/RunE only: help, version and completion never touch the cluster.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "konnect",
		Short: "Connect Kong Gateway Operator to Kong Konnect, and keep the connection honest",
		Long: `kubectl konnect connects a cluster running Kong Gateway Operator (KGO) to Kong Konnect:
auth, control plane, data-plane certificates, the KonnectExtension with the endpoint resolved
from the Konnect API, and a DataPlane, in one idempotent command. It also checks that a data
plane really reached Konnect.`,
		Annotations: map[string]string{
			// Help and usage say "kubectl konnect", the way users run the plugin.
			cobra.CommandDisplayNameAnnotation: "kubectl konnect",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	configFlags := genericclioptions.NewConfigFlags(true)
	configFlags.AddFlags(cmd.PersistentFlags())
	factory := kube.NewFactory(configFlags)

	cmd.AddCommand(versioncmd.NewCommand(factory, streams))
	cmd.AddCommand(certcmd.NewCommand(factory, streams))
	cmd.AddCommand(checkcmd.NewCommand(factory, streams))
	cmd.AddCommand(initcmd.NewCommand(factory, streams))
	cmd.AddCommand(lintcmd.NewCommand(factory, streams))
	cmd.AddCommand(migratecmd.NewCommand(factory, streams))
	cmd.AddCommand(webhookcmd.NewCommand(factory, streams))
	completion.Register(cmd, factory)
	return cmd
}
