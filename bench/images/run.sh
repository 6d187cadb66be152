#!/usr/bin/env bash
# Sizes of the release image and binary (docs/benchmarks.md, "Delivery"):
#   bash bench/images/run.sh
# Builds `make images`, prints each architecture's binary and compressed
# image size, and the binary without `palisade dev` (devmode and miniredis),
# to show what the dev-only code costs the production image.
set -euo pipefail
cd "$(dirname "$0")/../.."

make -s images VERSION="${VERSION:-v0.0.0-size}" >/dev/null
layout=dist/images/palisade
printf '%-6s %14s %18s %16s\n' arch binary image_compressed base_layer
for d in $(jq -r '.manifests[].digest' "$layout/index.json"); do
  arch=$(jq -r --arg d "$d" '.manifests[] | select(.digest == $d) | .platform.architecture' "$layout/index.json")
  m="$layout/blobs/${d/://}"
  printf '%-6s %14s %18s %16s\n' "$arch" "$(stat -c %s "dist/linux-$arch/palisade")" \
    "$(jq '([.layers[].size] | add) + .config.size' "$m")" "$(jq '.layers[0].size' "$m")"
done

# The same binary with `dev` cut out of cmd/palisade: a throwaway copy of
# the command (an underscore directory, which ./... ignores).
tmp=cmd/_nodev_size
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
for f in cmd/palisade/*.go; do case "$f" in *_test.go) ;; *) cp "$f" "$tmp/" ;; esac; done
sed -i 's#"github.com/palisade-hq/palisade/internal/devmode"##; s#return devmode.Run(ctx, getenv, stdout, stderr)#return errors.New("dev is not in this build")#' "$tmp/run.go"
printf '\n%-6s %14s %14s %12s %12s\n' arch with_dev without_dev gzip_with gzip_without
for arch in arm64 amd64; do
  GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}" CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags '-s -w' -o "$tmp/full" ./cmd/palisade
  GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}" CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags '-s -w' -o "$tmp/nodev" "./$tmp"
  printf '%-6s %14s %14s %12s %12s\n' "$arch" "$(stat -c %s "$tmp/full")" "$(stat -c %s "$tmp/nodev")" \
    "$(gzip -c "$tmp/full" | wc -c)" "$(gzip -c "$tmp/nodev" | wc -c)"
done
echo
echo "modules only in the dev build:"
diff <(go version -m "$tmp/nodev" | awk '$1 == "dep" {print $2}') <(go version -m "$tmp/full" | awk '$1 == "dep" {print $2}') | sed -n 's/^> /  /p'
