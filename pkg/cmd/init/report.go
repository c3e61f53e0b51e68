package initcmd

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

// report prints the results on stdout: the objects with -o, else one kubectl-style line per object and
// a summary with the control plane, its endpoint and the next command.
func (r *run) report() error {
	o := r.o
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.printer != nil {
		return r.printObjects(out)
	}
	for _, res := range r.results {
		name := res.name
		if res.resource != "" {
			name = res.resource + "/" + name
		}
		if _, err := fmt.Fprintf(out, "%s %s\n", name, res.op); err != nil {
			return err
		}
	}
	var b strings.Builder
	orgName := r.org.Name
	if orgName == "" {
		orgName = r.org.ID
	}
	if o.Gateway != "" {
		r.gatewaySummary(&b, orgName)
		_, err := io.WriteString(out, b.String())
		return err
	}
	id := r.cp.id()
	switch {
	case id != "":
		fmt.Fprintf(&b, "\nControl plane %q (ID %s, %s) in organization %q, region %s\n", r.cp.konnectName, id, r.cp.clusterType, orgName, r.server.region)
		fmt.Fprintf(&b, "  endpoint:  %s\n  telemetry: %s\n", r.epRaw, r.tpRaw)
	default:
		fmt.Fprintf(&b, "\nControl plane %q (to be created by KGO) in organization %q, region %s\n", r.cp.konnectName, orgName, r.server.region)
	}
	if !o.NoDataPlane {
		fmt.Fprintf(&b, "  data plane: DataPlane %s/%s with KonnectExtension %s (%s), image %s\n", r.ns, r.dpName, r.extName, r.gen, o.Image)
	}
	created, unchanged := r.counts()
	switch r.dry {
	case kube.DryRunClient:
		b.WriteString("Dry run: nothing was written. Apply for real with the same command without --dry-run.\n")
	case kube.DryRunServer:
		b.WriteString("Server dry run: the API server accepted every object; nothing was persisted.\n")
	default:
		if created == 0 {
			fmt.Fprintf(&b, "Everything was in place (%d unchanged): nothing was written.\n", unchanged)
		} else {
			fmt.Fprintf(&b, "%d created or configured, %d unchanged.\n", created, unchanged)
		}
		if !o.NoDataPlane {
			fmt.Fprintf(&b, "Next: check that the data plane really reached Konnect:\n  kubectl konnect check -n %s\n", r.ns)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// printObjects prints what init applied (or would apply) in apply order, for `-o yaml | kubectl apply -f -`
// and for Git. The content of Secrets (the token, the data plane's key) only with --include-secrets
// (-o name shows no content, so it lists them); a registration
// whose new key is left out is left out too, since it would name a certificate nobody has the key of.
func (r *run) printObjects(out io.Writer) error {
	var omitted []string
	newKeyOmitted := false
	for _, res := range r.results {
		if res.obj == nil || res.op == opOmitted {
			continue
		}
		if res.op == opAdopted {
			omitted = append(omitted, fmt.Sprintf("%s/%s (not created by kubectl konnect)", res.resource, res.name))
			continue
		}
		if res.secret && !r.o.IncludeSecrets && *r.o.PrintFlags.OutputFormat != "name" {
			omitted = append(omitted, res.resource+"/"+res.name)
			if res.name == r.crt.secretName && !r.crt.keep {
				newKeyOmitted = true
			}
			continue
		}
		if newKeyOmitted && r.crt.registration != nil && res.name == r.crt.registration.GetName() && res.resource == resourceName(gvrDPCert) {
			omitted = append(omitted, res.resource+"/"+res.name+" (registers the omitted new certificate)")
			continue
		}
		u := res.obj.DeepCopy()
		u.SetManagedFields(nil)
		if r.dry == kube.DryRunClient {
			unstructuredStrip(u.Object)
		}
		if err := r.o.printer.PrintObj(u, out); err != nil {
			return err
		}
	}
	if len(omitted) > 0 {
		r.p.warn("Left out of the output: %s", strings.Join(omitted, ", "))
		if !r.o.IncludeSecrets {
			hint := "add --include-secrets to print the Secrets (seal them before committing them)"
			if newKeyOmitted {
				hint += fmt.Sprintf(", or after applying run: kubectl konnect cert issue %s --control-plane %s -n %s", r.crt.secretName, r.cp.res, r.ns)
			}
			r.p.info("%s", hint)
		}
	}
	return nil
}

// unstructuredStrip keeps what a user would write: no status, and of the metadata only the name,
// namespace, labels and annotations.
func unstructuredStrip(m map[string]any) {
	delete(m, "status")
	md, ok := m["metadata"].(map[string]any)
	if !ok {
		return
	}
	for k := range md {
		switch k {
		case "name", "namespace", "labels", "annotations":
		default:
			delete(md, k)
		}
	}
	if a, ok := md["annotations"].(map[string]any); ok {
		delete(a, "kubectl.kubernetes.io/last-applied-configuration")
		if len(a) == 0 {
			delete(md, "annotations")
		}
	}
}

// gatewaySummary is the report of init --gateway: the Gateway, its control plane in Konnect, and the
// HTTPRoute to apply next.
func (r *run) gatewaySummary(b *strings.Builder, orgName string) {
	o := r.o
	gw := r.gw.liveGW
	if r.cp.clusterType == "" && r.cp.konnect != nil {
		r.cp.clusterType = string(r.cp.konnect.Config.ClusterType)
	}
	switch id := r.cp.id(); {
	case id != "" && r.cp.live != nil:
		fmt.Fprintf(b, "\nGateway %s/%s is Programmed; kong-operator connected it to Konnect control plane %q (ID %s, %s) in organization %q, region %s\n",
			r.ns, o.Gateway, r.cp.konnectName, id, r.cp.clusterType, orgName, r.server.region)
		fmt.Fprintf(b, "  KonnectGatewayControlPlane: %s/%s\n  endpoint:  %s\n  telemetry: %s\n", r.ns, r.cp.res, r.epRaw, r.tpRaw)
		if gw != nil {
			if addrs := gatewayAddresses(gw); addrs != "" {
				fmt.Fprintf(b, "  addresses: %s\n", addrs)
			}
		}
	case r.gw.mirror != nil:
		fmt.Fprintf(b, "\nGateway %s/%s: kong-operator attaches it to Konnect control plane %q (ID %s) in organization %q, region %s\n",
			r.ns, o.Gateway, r.gw.mirror.Name, r.gw.mirror.ID, orgName, r.server.region)
	default:
		fmt.Fprintf(b, "\nGateway %s/%s: kong-operator creates its control plane %q in organization %q, region %s\n", r.ns, o.Gateway, r.cp.konnectName, orgName, r.server.region)
	}
	fmt.Fprintf(b, "  GatewayClass %s (controller %s) with GatewayConfiguration %s/%s (image %s)\n", r.gw.className, kongOperatorControllerName, r.ns, o.Gateway, o.Image)
	created, unchanged := r.counts()
	switch r.dry {
	case kube.DryRunClient:
		b.WriteString("Dry run: nothing was written. Apply for real with the same command without --dry-run.\n")
		return
	case kube.DryRunServer:
		b.WriteString("Server dry run: the API server accepted every object; nothing was persisted.\n")
		return
	}
	if created == 0 {
		fmt.Fprintf(b, "Everything was in place (%d unchanged): nothing was written.\n", unchanged)
	} else {
		fmt.Fprintf(b, "%d created or configured, %d unchanged.\n", created, unchanged)
	}
	listener := ""
	if ls := o.listeners; len(ls) > 0 {
		listener = ls[0].name
	}
	fmt.Fprintf(b, `Next: route traffic through the Gateway; kong-operator turns the HTTPRoute into a KongService and KongRoute in Konnect:
  kubectl apply -n %s -f - <<EOF
  apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata:
    name: echo
  spec:
    parentRefs:
    - name: %s
      sectionName: %s
    rules:
    - matches:
      - path: {type: PathPrefix, value: /echo}
      backendRefs:
      - name: echo
        port: 80
  EOF
Then check the whole chain, HTTPRoutes included:
  kubectl konnect check --gateway %s -n %s
`, r.ns, o.Gateway, listener, o.Gateway, r.ns)
}

// counts are the results created or configured, and unchanged.
func (r *run) counts() (created, unchanged int) {
	for _, res := range r.results {
		switch {
		case strings.HasPrefix(res.op, opUnchanged):
			unchanged++
		case res.op != opAdopted && res.op != opOmitted:
			created++
		}
	}
	return created, unchanged
}

// gatewayAddresses lists status.addresses of a Gateway.
func gatewayAddresses(gw *unstructured.Unstructured) string {
	addrs, _, _ := unstructured.NestedSlice(gw.Object, "status", "addresses")
	var out []string
	for _, a := range addrs {
		if m, ok := a.(map[string]any); ok {
			if v, _ := m["value"].(string); v != "" {
				out = append(out, v)
			}
		}
	}
	return strings.Join(out, ", ")
}
