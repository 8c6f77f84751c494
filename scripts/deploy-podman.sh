#!/usr/bin/env bash
# Container images without a registry, for compose under podman (Tests/EndToEndTests/ComposePodmanTests.swift
# and anyone without Docker Hub): a Debian base made by debootstrap from the machine's own apt
# sources, and the fedpulse binary built on this host with the Swift runtime libraries it links.
#
#   deploy-podman.sh conf DIR       writes DIR/containers.conf (export CONTAINERS_CONF=DIR/containers.conf)
#   deploy-podman.sh base           builds localhost/fedpulse-base:bookworm once (about 80 s)
#   deploy-podman.sh image BINARY   builds localhost/fedpulse:latest from BINARY (seconds)
#   deploy-podman.sh install        installs podman, runc, debootstrap and podman-compose
#
# What this machine needs (measured with podman 4.3): runc (crun refuses the mixed cgroup
# setup), rlimits no higher than the caller's hard limits, host networking for builds.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

base_image=localhost/fedpulse-base:bookworm
action=${1:?conf|base|image|install}

case "$action" in
install)
    missing=()
    command -v podman >/dev/null 2>&1 || missing+=(podman)
    command -v runc >/dev/null 2>&1 || missing+=(runc)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "deploy-podman: installing ${missing[*]}" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" uidmap >/dev/null
    fi
    command -v podman-compose >/dev/null 2>&1 || python3 -m pip install --quiet podman-compose
    ;;
conf)
    dir=${2:?directory}
    mkdir -p "$dir"
    nofile=$(ulimit -Hn)
    [ "$nofile" = unlimited ] && nofile=65536
    cat > "$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
netns = "host"
[engine]
runtime = "runc"
CONF
    echo "$dir/containers.conf"
    ;;
base)
    if podman image exists "$base_image"; then exit 0; fi
    mirror=$(grep -h -o -m1 'http[^ ]*debian[^ ]*' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1)
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    echo "deploy-podman: debootstrap bookworm from ${mirror:-http://deb.debian.org/debian}" >&2
    as_root debootstrap --variant=minbase --include=libzmq5 bookworm "$root/rootfs" "${mirror:-http://deb.debian.org/debian}" >/dev/null
    as_root rm -rf "$root/rootfs/var/cache/apt/archives/"*.deb "$root/rootfs/var/lib/apt/lists/"*
    as_root tar -C "$root/rootfs" -c . | podman import - "$base_image" >/dev/null
    ;;
image)
    binary=${2:?path of the fedpulse binary}
    context=$(mktemp -d)
    trap 'rm -rf "$context"' EXIT
    mkdir -p "$context/lib"
    cp "$binary" "$context/fedpulse"
    # The Swift runtime the binary links (the base image has libzmq5 and the C libraries).
    ldd "$binary" | awk '$3 ~ /swift|Foundation|dispatch|BlocksRuntime/ {print $3}' | while read -r lib; do cp "$lib" "$context/lib/"; done
    here=$(cd "$(dirname "$0")/.." && pwd)
    podman build --quiet --network host -t localhost/fedpulse:latest -f "$here/deploy/Containerfile.local" "$context" >/dev/null
    ;;
*)
    echo "usage: $0 conf DIR | base | image BINARY | install" >&2
    exit 2
    ;;
esac
