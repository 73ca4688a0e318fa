#!/usr/bin/env bash
# The README's first command: set up a fresh machine, then run the demo of the network working.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node packages/minicni/scripts/demo.mjs "$@"
