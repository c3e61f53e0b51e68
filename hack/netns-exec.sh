#!/bin/sh
# Runs a command in private network and mount namespaces (as root) where Konnect's API hosts
# resolve to 127.0.0.1: the test ground's Konnect simulator listens there on 443, so the real
# operators reach it as they reach Konnect, unpatched. The namespace has only a loopback device,
# with a default route through it (kube-apiserver wants one to pick its advertise address).
set -eu
hosts=$(mktemp)
trap 'rm -f "$hosts"' EXIT
cat /etc/hosts > "$hosts" 2>/dev/null || true
for h in global us eu au me in sg; do
	printf '127.0.0.1 %s.api.konghq.com\n' "$h" >> "$hosts"
done
unshare --mount --net sh -c '
	set -e
	hosts=$1; shift
	ip link set lo up
	ip addr add 192.0.2.1/32 dev lo
	ip route add default dev lo
	mount --bind "$hosts" /etc/hosts
	exec "$@"' netns-exec "$hosts" "$@"
