// Package cert is `kubectl konnect cert`: data-plane certificates without openssl.
//
//   - issue: a key and certificate in Go, a kubernetes.io/tls Secret and a KongDataPlaneClientCertificate
//     (server-side apply, field manager kubectl-konnect); idempotent.
//   - rotate: a new certificate, registered and programmed before the old registration goes.
//   - list: the certificates of a namespace, their expiry, and whether Konnect knows them.
//
// Every verb has Options with Validate (flags only), Complete (clients from the factory, never at
// --help) and Run.
package cert

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewCommand builds `cert` and its verbs.
func NewCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Issue, rotate and list data-plane certificates for Konnect control planes",
		Long: `Data-plane certificates without openssl: "cert issue" generates the key and certificate in Go,
stores them in a kubernetes.io/tls Secret and registers the certificate with the control plane as a
KongDataPlaneClientCertificate; "cert rotate" replaces it without a moment where the data plane has no
registered certificate; "cert list" shows what is there and whether Konnect knows it.`,
	}
	cmd.AddCommand(NewIssueCommand(f, streams), NewRotateCommand(f, streams), NewListCommand(f, streams))
	return cmd
}
