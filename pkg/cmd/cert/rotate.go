package cert

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewRotateCommand builds `cert rotate`: `cert issue` that always makes a new certificate for an
// existing Secret.
func NewRotateCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := newIssueOptions(streams)
	o.Rotate = true
	cmd := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Replace the certificate of a data-plane Secret without a gap in registration",
		Long: `Generate a new key and certificate for the kubernetes.io/tls Secret NAME, in this order:

  1. register the new certificate as KongDataPlaneClientCertificate NAME-<new fingerprint>;
  2. wait (--wait) until KGO has programmed it in Konnect;
  3. update Secret NAME;
  4. remove the old registrations of NAME (unless --keep-old).

Both certificates are registered between 1 and 4, so a data plane is never left with a certificate
Konnect does not know. If the new registration is not programmed in time, it is removed again and
the old certificate stays; the exit code is then 124.

The key type, common name and control plane of the current certificate are kept unless flags say
otherwise. With pki_client_certs only the data plane's certificate changes: the registered CA stays
while it outlives the new certificate.`,
		Example: `  kubectl konnect cert rotate gw-cp-dp-cert -n kong
  kubectl konnect cert rotate gw-cp-dp-cert --key-type rsa --key-size 4096 --validity 180d`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.flagSet = func(n string) bool { return cmd.Flags().Changed(n) }
			o.Name = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Complete(f); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd)
	return cmd
}
