#!/usr/bin/env bash
# make demo / npm run demo: the idempotent setup (its steps are the progress lines of a
# first, slow build), then the local noisy-neighbour demo with the project's Node.
# Arguments go to the demo: --scenario cpu|io|memory|short-lived, --keep, --ci, --help.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh
exec node --no-experimental-strip-types --no-deprecation --import ./scripts/register-ts.mjs demo/main.ts "$@"
