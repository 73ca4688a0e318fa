#!/usr/bin/env bash
# The README's test command: set up a fresh machine, then run every gate and every test tier.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "==> lint (types, eslint, prettier)"
pnpm lint
echo "==> publint + attw on every publishable package"
pnpm lint:pkg --output-logs=errors-only
echo "==> tests: unit, root and e2e tiers"
pnpm test:all
