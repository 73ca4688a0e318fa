#!/usr/bin/env bash
# Installs everything minicni's build, demo and tests need on a fresh Debian machine (as root),
# then installs the workspace and builds it. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  iproute2 iptables nftables iputils-ping procps util-linux kmod
  containernetworking-plugins podman containerd runc busybox-static
  etcd-server hyperfine jq python3 make g++ time strace openssl valgrind iperf3 sockperf ethtool
)
PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]]; then
  echo "==> npm install -g pnpm@$PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
fi

echo "==> pnpm install"
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
echo "==> pnpm build"
pnpm build --output-logs=errors-only
