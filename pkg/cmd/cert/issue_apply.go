// The apply phase of `cert issue` and `cert rotate`: write what the plan computed (preflight, writes
// in order, rollback on failure), wait for the new registration to be programmed, and put the
// --out-dir files in place.

package cert

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/cert/dpcert"
	"github.com/kubectl-konnect/kubectl-konnect/pkg/kube"
)

func (o *IssueOptions) execute(ctx context.Context, p *issuePlan) (err error) {
	secretChanged := !upToDate(p.liveSecret, p.secret) || p.replaceSecret
	caChanged := p.caSecret != nil && !upToDate(p.liveCA, p.caSecret)
	dpCertChanged := !upToDate(p.liveDPCert, p.dpCert)
	removeStale := !p.keep && !o.KeepOld
	nothing := !secretChanged && !caChanged && !dpCertChanged && (len(p.stale) == 0 || !removeStale)

	suffix := kube.DryRunSuffix(o.DryRun)
	serverDryRun := o.DryRun == kube.DryRunServer

	if p.files != nil {
		defer func() { p.files.finish(err == nil && o.DryRun == kube.DryRunNone) }()
	}

	var results []result
	op := func(live *unstructured.Unstructured, changed bool) string {
		switch {
		case !changed:
			return "unchanged"
		case live == nil:
			return "created"
		}
		return "configured"
	}
	add := func(resource string, live, desired, got *unstructured.Unstructured, changed bool) {
		obj := got
		if obj == nil {
			obj = live
		}
		if obj == nil || (changed && o.DryRun == kube.DryRunClient) {
			obj = desired
		}
		results = append(results, result{resource: resource, name: desired.GetName(), op: op(live, changed) + suffix, obj: obj})
	}

	if nothing {
		if p.caSecret != nil {
			add("secret", p.liveCA, p.caSecret, nil, false)
		}
		add("secret", p.liveSecret, p.secret, nil, false)
		add(dpCertResource, p.liveDPCert, p.dpCert, nil, false)
		o.progress("Secret %s/%s already holds a valid certificate (fingerprint %s, expires %s, in %s), registered as KongDataPlaneClientCertificate %s: nothing changed. For a new one: kubectl konnect cert rotate %s -n %s",
			o.Namespace, o.Name, cert.ShortFingerprint(p.pair.Cert), p.pair.Cert.NotAfter.UTC().Format(time.RFC3339),
			cert.HumanDuration(p.pair.Cert.NotAfter.Sub(o.Now())), p.dpCert.GetName(), o.Name, o.Namespace)
		o.reportStale(p)
		return o.print(results)
	}

	if o.DryRun == kube.DryRunClient {
		if p.caSecret != nil {
			add("secret", p.liveCA, p.caSecret, nil, caChanged)
		}
		add(dpCertResource, p.liveDPCert, p.dpCert, nil, dpCertChanged)
		add("secret", p.liveSecret, p.secret, nil, secretChanged)
		if removeStale {
			for _, s := range p.stale {
				results = append(results, result{resource: dpCertResource, name: s, op: "deleted" + suffix})
			}
		}
		o.describe(p)
		return o.print(results)
	}

	// Preflight: the API server checks every object (CRD schema, CEL, admission) before the first
	// real write. A Secret whose type changes cannot be checked this way (type is immutable).
	if !serverDryRun {
		if caChanged {
			if _, err := o.apply(ctx, gvrSecret, p.caSecret, true); err != nil {
				return fmt.Errorf("nothing was written: %w", err)
			}
		}
		if dpCertChanged {
			if _, err := o.apply(ctx, gvrDPCert, p.dpCert, true); err != nil {
				return fmt.Errorf("nothing was written: %w", err)
			}
		}
		if secretChanged && !p.replaceSecret {
			if _, err := o.apply(ctx, gvrSecret, p.secret, true); err != nil {
				return fmt.Errorf("nothing was written: %w", err)
			}
		}
	}

	var undo []func()
	defer func() {
		if err != nil && !serverDryRun {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	rollbackDelete := func(gvr schema.GroupVersionResource, name string) func() {
		return func() {
			if derr := o.delete(context.WithoutCancel(ctx), gvr, name, false); derr != nil {
				o.progress("warning: rolling back: %v", derr)
			} else {
				o.progress("Rolled back: deleted %s %s/%s", gvr.Resource, o.Namespace, name)
			}
		}
	}

	if p.caSecret != nil {
		var got *unstructured.Unstructured
		if caChanged {
			if got, err = o.apply(ctx, gvrSecret, p.caSecret, serverDryRun); err != nil {
				return err
			}
			if p.liveCA == nil {
				undo = append(undo, rollbackDelete(gvrSecret, p.caSecret.GetName()))
			}
		}
		add("secret", p.liveCA, p.caSecret, got, caChanged)
	}

	var gotDPCert *unstructured.Unstructured
	if dpCertChanged {
		if gotDPCert, err = o.apply(ctx, gvrDPCert, p.dpCert, serverDryRun); err != nil {
			return err
		}
		if p.liveDPCert == nil {
			undo = append(undo, rollbackDelete(gvrDPCert, p.dpCert.GetName()))
		}
	}
	add(dpCertResource, p.liveDPCert, p.dpCert, gotDPCert, dpCertChanged)

	// A rotation swaps the Secret only once the new registration is programmed, so the data plane is
	// never left with a certificate Konnect does not know.
	if p.rotation && dpCertChanged && !serverDryRun {
		if o.Wait > 0 {
			o.progress("Waiting up to %s for KGO to program KongDataPlaneClientCertificate %s/%s ...", o.Wait, o.Namespace, p.dpCert.GetName())
			if err = o.waitProgrammed(ctx, p.dpCert.GetName()); err != nil {
				return err
			}
		} else {
			o.progress("warning: --wait=0: not waiting for KGO to program the new registration before switching the Secret")
		}
	}

	var gotSecret *unstructured.Unstructured
	if secretChanged {
		if p.replaceSecret {
			if err = o.delete(ctx, gvrSecret, o.Name, serverDryRun); err != nil {
				return err
			}
			o.progress("Replaced Secret %s/%s of type %s (--force)", o.Namespace, o.Name, secretType(p.liveSecret))
		}
		if gotSecret, err = o.apply(ctx, gvrSecret, p.secret, serverDryRun); err != nil {
			return err
		}
	}
	add("secret", p.liveSecret, p.secret, gotSecret, secretChanged)
	undo = nil // the Secret is in place: from here on, failures are reported, not rolled back

	if removeStale {
		for _, s := range p.stale {
			if derr := o.delete(ctx, gvrDPCert, s, serverDryRun); derr != nil {
				err = fmt.Errorf("the new certificate is in place, but the old registration was not removed: %w; remove it with: kubectl delete kongdataplaneclientcertificate %s -n %s", derr, s, o.Namespace)
				continue
			}
			results = append(results, result{resource: dpCertResource, name: s, op: "deleted" + suffix})
		}
	} else if !p.keep {
		o.reportStale(p)
	}
	o.describe(p)
	if perr := o.print(results); perr != nil && err == nil {
		err = perr
	}
	return err
}

// waitProgrammed polls the registration until KGO sets Programmed=True. On timeout the error carries
// exit code 124 and the last condition KGO reported.
func (o *IssueOptions) waitProgrammed(ctx context.Context, name string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, o.Wait, true, func(ctx context.Context) (bool, error) {
		u, err := o.get(ctx, gvrDPCert, name)
		if err != nil || u == nil {
			return false, err
		}
		s, reason, msg := conditionStatus(u, programmedType)
		if s == "" {
			return false, nil
		}
		last = "Programmed=" + s
		if reason != "" {
			last += " reason " + reason
		}
		if msg != "" {
			last += ": " + msg
		}
		return s == "True", nil
	})
	if err == nil {
		return nil
	}
	if last == "" {
		last = "no status yet"
	}
	return &TimeoutError{Err: fmt.Errorf("KongDataPlaneClientCertificate %s/%s was not programmed within %s (%s): is KGO running with the Konnect controllers? The old certificate stays in place and the new registration is removed; retry with a longer --wait",
		o.Namespace, name, o.Wait, last)}
}

// TimeoutError is a timeout; its exit code is 124, as for timeout(1).
type TimeoutError struct{ Err error }

func (e *TimeoutError) Error() string { return e.Err.Error() }
func (e *TimeoutError) Unwrap() error { return e.Err }

// ExitCode is 124.
func (e *TimeoutError) ExitCode() int { return 124 }

// outFiles writes --out-dir files to temporary names first, renamed only when everything succeeded.
type outFiles struct {
	dir   string
	items []outFile
}

type outFile struct {
	tmp, final string
}

func prepareOutDir(dir string, secret *unstructured.Unstructured, force bool) (*outFiles, error) {
	data, err := dpcert.SecretData(secret)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--out-dir %s: %w: give a directory you can write to", dir, err)
	}
	f := &outFiles{dir: dir}
	for _, k := range []struct {
		name string
		mode os.FileMode
	}{{dpcert.KeyTLSCert, 0o644}, {dpcert.KeyTLSKey, 0o600}, {dpcert.KeyCACert, 0o644}} {
		content, ok := data[k.name]
		if !ok {
			continue
		}
		final := filepath.Join(dir, k.name)
		if old, err := os.ReadFile(final); err == nil && string(old) != string(content) && !force {
			f.finish(false)
			return nil, fmt.Errorf("--out-dir: %s exists with other content: move it away, or pass --force to overwrite it", final)
		}
		tmp, err := os.CreateTemp(dir, "."+k.name+".*")
		if err != nil {
			f.finish(false)
			return nil, fmt.Errorf("--out-dir %s: %w: give a directory you can write to", dir, err)
		}
		f.items = append(f.items, outFile{tmp: tmp.Name(), final: final})
		if err := tmp.Chmod(k.mode); err == nil {
			_, err = tmp.Write(content)
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			f.finish(false)
			return nil, fmt.Errorf("--out-dir: writing %s: %w", final, err)
		}
	}
	return f, nil
}

// finish renames the files into place (ok) or removes them.
func (f *outFiles) finish(ok bool) {
	for _, it := range f.items {
		if ok {
			if err := os.Rename(it.tmp, it.final); err == nil {
				continue
			}
		}
		_ = os.Remove(it.tmp)
	}
	f.items = nil
}
