#!/usr/bin/env bash
# Builds the eBPF objects and the native addon; both builds are incremental, so an
# unchanged tree takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
make -s -C bpf
if [ -f agent/native/build/Makefile ]; then
  npx node-gyp build --loglevel=error -C agent/native >/dev/null
else
  npx node-gyp rebuild --loglevel=error -C agent/native >/dev/null
fi
