#!/usr/bin/env bash
# Builds the envtest binaries (kube-apiserver, etcd) from Go modules, because prebuilt downloads are not
# reachable here. Cached by version under bin/k8s/<version>; a second run is a no-op.
# Prints the folder to use as KUBEBUILDER_ASSETS on stdout; progress goes to stderr.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.37.2}
ETCD_VERSION=${ETCD_VERSION:-3.7.0}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/k8s/$K8S_VERSION"

if [[ -x "$out/kube-apiserver" && -x "$out/etcd" && -f "$out/.etcd-$ETCD_VERSION" ]]; then
  echo "$out"
  exit 0
fi

mkdir -p "$out"
cd "$root/hack/tools"
start=$(date +%s)
if [[ ! -x "$out/etcd" || ! -f "$out/.etcd-$ETCD_VERSION" ]]; then
  echo ">> building etcd v$ETCD_VERSION from go.etcd.io/etcd/server/v3 (first run only; about a minute)" >&2
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  touch "$out/.etcd-$ETCD_VERSION"
fi
if [[ ! -x "$out/kube-apiserver" ]]; then
  echo ">> building kube-apiserver v$K8S_VERSION from k8s.io/kubernetes (first run only; about 5 minutes on 2 cores," >&2
  echo "   because prebuilt envtest binaries cannot be downloaded here; cached in bin/k8s/$K8S_VERSION afterwards)" >&2
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  go build -trimpath -o "$out/kube-apiserver" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$minor" \
    k8s.io/kubernetes/cmd/kube-apiserver
fi
echo ">> envtest binaries ready in $(( $(date +%s) - start ))s: $out" >&2
echo "$out"
