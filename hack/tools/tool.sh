#!/usr/bin/env bash
# Builds a pinned tool from its module under hack/tools/<module> once and caches it in bin/tools/<name>-<version>;
# prints the binary's path on stdout. Each tool has a module of its own, so none of them touches the project's
# go.mod. Usage: hack/tools/tool.sh krew|validate-krew-manifest|actionlint|goreleaser|goreleaser-checkconfig
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-}" in
  krew)                   mod=krew;       pkg=sigs.k8s.io/krew/cmd/krew ;;
  validate-krew-manifest) mod=krew;       pkg=sigs.k8s.io/krew/cmd/validate-krew-manifest ;;
  actionlint)             mod=actionlint; pkg=github.com/rhysd/actionlint/cmd/actionlint ;;
  goreleaser)             mod=goreleaser; pkg=github.com/goreleaser/goreleaser/v2 ;;
  goreleaser-checkconfig) mod=goreleaser; pkg=./checkconfig ;;
  *) echo "usage: $0 krew|validate-krew-manifest|actionlint|goreleaser|goreleaser-checkconfig" >&2; exit 2 ;;
esac
cd "$root/hack/tools/$mod"
version=$(go list -f '{{.Module.Version}}' "$pkg")
if [[ -z "$version" ]]; then # a command of ours (./checkconfig): the pinned GoReleaser's version and our source's hash
  version=$(go list -m -f '{{.Version}}' github.com/goreleaser/goreleaser/v2)-$(cat "$pkg"/*.go | sha256sum | cut -c1-8)
fi
out="$root/bin/tools/$1-$version"
if [[ ! -x "$out" ]]; then
  echo ">> building $1 $version (first run only; cached as $out)" >&2
  start=$(date +%s)
  mkdir -p "$root/bin/tools"
  go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg"
  mv "$out.tmp" "$out"
  echo ">> $1 built in $(( $(date +%s) - start ))s" >&2
fi
echo "$out"
