#!/usr/bin/env bash
# The README's first command: set up a fresh machine, then show the network working:
#  1. one node: minicni called as a runtime calls it (the standalone executable and the fast path,
#     minicni-shim -> minicni serve), pods, connectivity, clean DEL;
#  2. three nodes (two on one L2 segment, one behind a router) with minicni-agent on each:
#     the seed's four checks in host-gw, vxlan and auto modes.
# Everything runs in network namespaces the demos create and remove.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo
echo "=== 1/2: one node, several pods ==="
node packages/minicni/scripts/demo.mjs
echo
echo "=== 2/2: three nodes, minicni-agent routing between them ==="
node packages/agent/scripts/demo.mjs --plugin packages/minicni/dist/minicni
