#!/usr/bin/env bash
# make image: the one OCI image of the operator and the agent, built without a daemon
# (buildah, chroot isolation, vfs storage) from what setup built: Node 24 and the shared
# libraries it and the addon link, build/js, the production node_modules, the addon (the
# eBPF objects are inside it). No shell, no compiler, no TypeScript. `--timestamp 0` makes
# two builds of the same tree the same digest. Writes an oci-archive and a docker-archive
# (for `kind load image-archive` / `docker load`) under the cache, keyed by the inputs, and
# prints the oci-archive's path on its last line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

version=$(node -p 'require("./package.json").version')
addon=agent/native/build/Release/crosstalk.node
[ -f "$addon" ] && [ -f build/js/agent/main.js ] || { echo "build-image.sh: run scripts/setup.sh first" >&2; exit 1; }
for tool in buildah skopeo; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

key=$({ find build/js "$addon" -type f -print0 | sort -z | xargs -0 sha256sum
  sha256sum package-lock.json scripts/build-image.sh; node --version; } | sha256sum | cut -c1-12)
out="$CROSSTALK_CACHE/images"
oci="$out/crosstalk-$version-$key.oci.tar"
docker="$out/crosstalk-$version-$key.docker.tar"
if [ -f "$oci" ] && [ -f "$docker" ]; then echo "$oci"; exit 0; fi
mkdir -p "$out"

# Production dependencies only, installed once per lock file.
deps="$CROSSTALK_CACHE/image-node-modules-$(cat package-lock.json <(node --version) | sha256sum | cut -c1-12)"
if [ ! -d "$deps/node_modules" ]; then
  step "installing production npm dependencies for the image"
  rm -rf "$deps.tmp" && mkdir -p "$deps.tmp"
  cp package.json package-lock.json "$deps.tmp/"
  (cd "$deps.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
  # Type declarations, source maps and sources are for editors, not for the running process.
  find "$deps.tmp/node_modules" -type f \( -name '*.ts' -o -name '*.map' -o -name '*.md' \) -delete
  rm -rf "$deps" && mv "$deps.tmp" "$deps"
fi

step "assembling the image's root filesystem"
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
node_bin=$(command -v node)
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/app/agent/native/build/Release" "$rootfs/app/build" "$rootfs/tmp"
cp -a build/js "$rootfs/app/build/js"
rm -f "$rootfs/app/build/js/.tsbuildinfo"
cp -a "$deps/node_modules" "$rootfs/app/node_modules"
cp package.json "$rootfs/app/"
# binding.gyp marks the application root the addon is found from (agent/native/binding.ts).
cp agent/native/binding.gyp "$rootfs/app/agent/native/"
cp "$addon" "$rootfs/$(dirname "/app/$addon")/"
# The dynamic loader and every library Node and the addon need, at their own paths.
for lib in $(ldd "$node_bin" "$addon" | awk '/=> \//{print $3} /^[ \t]*\/lib/{print $1}' | sort -u); do
  install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
done
# Timestamps are part of the layer: fix them so that the digest depends on contents only.
find "$rootfs" -exec touch -h -d @0 {} +

step "building the image with buildah (vfs storage, chroot isolation)"
store=(--root "$CROSSTALK_CACHE/buildah/storage" --runroot "$CROSSTALK_CACHE/buildah/run" --storage-driver vfs)
ctr=$(buildah "${store[@]}" from --isolation chroot scratch)
trap 'buildah "${store[@]}" rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$rootfs"' EXIT
buildah "${store[@]}" copy --quiet "$ctr" "$rootfs" / >/dev/null
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
buildah "${store[@]}" config \
  --entrypoint '["/usr/local/bin/node", "--no-deprecation"]' \
  --cmd '["/app/build/js/cli/main.js", "--help"]' \
  --workingdir /app --env NODE_ENV=production --user 65532:65532 \
  --label org.opencontainers.image.title=crosstalk \
  --label "org.opencontainers.image.description=crosstalk operator and node agent (noisy-neighbour diagnosis with eBPF)" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  --label org.opencontainers.image.source=https://github.com/crosstalk-dev/crosstalk \
  "$ctr"
buildah "${store[@]}" commit --quiet --timestamp 0 --format oci --disable-compression=false --rm "$ctr" "oci-archive:$oci.tmp:crosstalk:$version" >/dev/null
skopeo copy --quiet "oci-archive:$oci.tmp" "docker-archive:$docker.tmp:crosstalk:$version"
rm -f "$out/crosstalk-$version"-*.tar # earlier builds of this version
mv "$oci.tmp" "$oci" && mv "$docker.tmp" "$docker"
digest=$(skopeo inspect "oci-archive:$oci" | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).Digest')
step "image crosstalk:$version $digest: $(du -h "$oci" | cut -f1) (oci-archive), $docker"
echo "$oci"
