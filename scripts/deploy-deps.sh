#!/usr/bin/env bash
# Installs what the deployment tests need (Tests/EndToEndTests/{Kubernetes,Monitoring,Lab}*.swift),
# called by scripts/install-deps.sh: Debian's prometheus (the monitoring test scrapes live roles
# with it), openssh-server and iproute2 (the lab test runs an sshd in each of its network
# namespaces; `lab up` uses the OpenSSH client) and kubernetes-validate from PyPI (offline schema
# validation of the rendered Kustomize manifests). kubectl (`kubectl kustomize`) comes with the
# build machine; the Kubernetes test says so when it is missing.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v prometheus >/dev/null 2>&1; then
    echo "deploy-deps: prometheus is missing; installing Debian's package" >&2
    as_root apt-get update -qq
    # The package's maintainer scripts would start a system service where systemd runs; the
    # tests start their own prometheus on loopback instead, so no service is needed.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
    echo "deploy-deps: installing ${missing[*]} for the lab test" >&2
    as_root apt-get update -qq
    # No service is started here: the lab test runs its own sshd inside each namespace.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v kubernetes-validate >/dev/null 2>&1; then
    echo "deploy-deps: kubernetes-validate is missing; installing it from PyPI" >&2
    python3 -m pip install --quiet kubernetes-validate
fi

# Compose under podman (Tests/EndToEndTests/ComposePodmanTests.swift): podman, runc,
# podman-compose, and the registry-free base image (debootstrap, about 80 s, once per machine).
here=$(cd "$(dirname "$0")" && pwd)
"$here/deploy-podman.sh" install
"$here/deploy-podman.sh" base
