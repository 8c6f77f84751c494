#!/usr/bin/env bash
# Installs what `make` needs on a fresh Debian machine that has only the Swift toolchain:
# libzmq3-dev (whose pkg-config file names krb5, libsodium, openpgm, norm and libbsd, all of
# which apt pulls in) and python3's jsonschema for the schema conformance tests.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! pkg-config --exists libzmq 2>/dev/null; then
    echo "install-deps: libzmq3-dev is missing; installing it with apt-get" >&2
    if ! command -v pkg-config >/dev/null 2>&1; then extra=pkg-config; else extra=; fi
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzmq3-dev $extra >/dev/null
fi

if ! python3 -c 'import jsonschema' 2>/dev/null; then
    echo "install-deps: python3 jsonschema is missing; installing it" >&2
    if ! python3 -m pip install --quiet jsonschema 2>/dev/null; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-jsonschema >/dev/null
    fi
fi

# `make test` (not `make demo`) also needs the deployment tests' tools (Kubernetes rendering,
# Prometheus, lab namespaces with sshd, compose under podman); that script installs what is missing.
if [ "${1:-}" = "--tests" ]; then
    "$(dirname "$0")/deploy-deps.sh"
fi
