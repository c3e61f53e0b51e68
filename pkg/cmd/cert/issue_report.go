// The report phase of `cert issue` and `cert rotate`: what was done, on stdout (kubectl-style lines,
// or the objects with -o), and the notes about it on stderr.

package cert

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
)

// result is one line of the human output, and the object for -o.
type result struct {
	resource string
	name     string
	op       string
	obj      *unstructured.Unstructured
}

const dpCertResource = "kongdataplaneclientcertificate.configuration.konghq.com"

func (o *IssueOptions) describe(p *issuePlan) {
	if p.keep {
		return
	}
	c := p.pair.Cert
	o.progress("Secret %s/%s: %s certificate CN=%s, fingerprint %s, valid until %s; registered with control plane %s as KongDataPlaneClientCertificate %s.",
		o.Namespace, o.Name, p.pair.KeyType(), c.Subject.CommonName, cert.ShortFingerprint(c), c.NotAfter.UTC().Format(time.RFC3339), p.cp.Name, p.dpCert.GetName())
	if *o.PrintFlags.OutputFormat != "" && *o.PrintFlags.OutputFormat != "name" {
		o.progress("note: the output holds the private key of Secret %s/%s", o.Namespace, o.Name)
	}
}

func (o *IssueOptions) reportStale(p *issuePlan) {
	for _, s := range p.stale {
		o.progress("note: KongDataPlaneClientCertificate %s/%s registers an older certificate of Secret %s; remove it once no data plane uses it: kubectl delete kongdataplaneclientcertificate %s -n %s",
			o.Namespace, s, o.Name, s, o.Namespace)
	}
}

// print writes the results: kubectl-style lines, or the objects with -o.
func (o *IssueOptions) print(results []result) error {
	if o.printer == nil {
		for _, r := range results {
			if _, err := fmt.Fprintf(o.out(), "%s/%s %s\n", r.resource, r.name, r.op); err != nil {
				return err
			}
		}
		return nil
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
	for _, r := range results {
		if r.obj == nil {
			continue
		}
		obj := r.obj.DeepCopy()
		obj.SetManagedFields(nil)
		list.Items = append(list.Items, *obj)
	}
	return o.printer.PrintObj(list, o.out())
}
