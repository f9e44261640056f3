#!/bin/sh
# make-bundle-secrets.sh BUNDLES N [FLEET_PATTERN_PREFIX]
#
# Writes one Secret manifest per shard to stdout: shadowload-bundles-<i>
# with key bundles-<i>.tgz, the archive of shard i's bundle directories
# (the things whose fleet index is i mod N, in the sorted order of their
# names, which is fleet order for "sim-{i:05}"-style zero-padded names),
# with shard 0's archive also holding every observer bundle and the root CA
# when there is one. Apply with: make-bundle-secrets.sh ./bundles 3 | kubectl apply -f -
set -eu
dir=$1
n=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ "$i" -lt "$n" ]; do mkdir -p "$tmp/$i"; i=$((i + 1)); done
# Observers: the manifest's entries marked "observer": true.
observers=$(awk -F'"' '/"name":/ { name = $4 } /"observer": *true/ { print name }' "$dir/manifest.json" 2>/dev/null || true)
k=0
for b in $(cd "$dir" && ls -d */ | sed 's:/$::' | sort); do
  if printf '%s\n' "$observers" | grep -qx "$b"; then
    cp -R "$dir/$b" "$tmp/0/"
    continue
  fi
  cp -R "$dir/$b" "$tmp/$((k % n))/"
  k=$((k + 1))
done
i=0
while [ "$i" -lt "$n" ]; do
  [ -f "$dir/root-ca.pem" ] && cp "$dir/root-ca.pem" "$tmp/$i/"
  tar -czf "$tmp/bundles-$i.tgz" -C "$tmp/$i" .
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: shadowload-bundles-%s\n  labels:\n    app.kubernetes.io/name: shadowload\ntype: Opaque\ndata:\n  bundles-%s.tgz: %s\n' \
    "$i" "$i" "$(base64 < "$tmp/bundles-$i.tgz" | tr -d '\n')"
  i=$((i + 1))
done
