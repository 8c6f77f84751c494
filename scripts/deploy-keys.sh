#!/usr/bin/env bash
# The CURVE keys and the enrolment file of one deployment (compose, Kubernetes), in one command.
#
#   deploy-keys.sh [--shards CLASS=N]... [--owner UID[:GID]] [--fedpulse BINARY] OUT
#   deploy-keys.sh --revoke NAME OUT
#
# Writes, with `fedpulse keygen`:
#   OUT/secret/NAME.key      secret keys (mode 0600; directory 0700): one file per party
#   OUT/public/NAME.pub      public keys
#   OUT/public/enrolment.txt `name role public-key` per line: every party's allowlist
# for the parties of a FedPulse hierarchy:
#   coordinator, auditor, global       one key each
#   region-<class>-<k>                 one per shard, k = 0 … N-1 (--shards CLASS=N, default 1)
#   edge-watch, edge-phone, edge-tablet  one edge key per edge service (role edge:<class>)
#   observer                           `fedpulse audit tail` from an operator's machine
#
# An edge key speaks for every device id under it (`edge-watch/<anything>`), so all replicas of a
# scaled edge service share it: their device ids are made at start and cannot be enrolled in
# advance. The trade-off: a key stolen from one replica speaks for all of that service's devices,
# and revoking it (--revoke edge-watch) cuts the whole service until it gets a new key.
#
# Revocation: --revoke NAME removes NAME's line from OUT/public/enrolment.txt (a new file renamed
# over the old one, so a folder mount sees it) and deletes its secret key. Every role re-reads the
# enrolment within about a second; the revoked key's next connection is refused at the handshake.
#
# OUT must not hold keys already (regenerating would silently replace every identity); make a
# new folder, or revoke and add one party with `fedpulse keygen --out OUT/secret --name NAME
# --enroll OUT/public/enrolment.txt --role ROLE`.
#
# --owner chowns the secret keys (as root): deploy/Dockerfile's image runs as uid 10001, and a
# file secret bind-mounted by Docker keeps its owner. Not needed under rootless podman.
set -euo pipefail

usage() {
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

declare -A shards=([watch]=1 [phone]=1 [tablet]=1)
classes=(watch phone tablet)
owner=""
revoke=""
binary=${FEDPULSE:-}
out=""

while [ $# -gt 0 ]; do
    case "$1" in
    --shards)
        spec=${2:?--shards CLASS=N}
        class=${spec%%=*}
        count=${spec#*=}
        [ -n "${shards[$class]+x}" ] || { echo "deploy-keys: unknown class $class (watch, phone, tablet)" >&2; exit 2; }
        [[ "$count" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "deploy-keys: --shards $class needs 1…999 shards" >&2; exit 2; }
        shards[$class]=$count
        shift 2
        ;;
    --owner) owner=${2:?--owner UID[:GID]}; shift 2 ;;
    --fedpulse) binary=${2:?--fedpulse BINARY}; shift 2 ;;
    --revoke) revoke=${2:?--revoke NAME}; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "deploy-keys: unknown option $1" >&2; usage ;;
    *) [ -z "$out" ] || usage; out=$1; shift ;;
    esac
done
[ -n "$out" ] || usage
enrolment="$out/public/enrolment.txt"

if [ -n "$revoke" ]; then
    [ -f "$enrolment" ] || { echo "deploy-keys: no enrolment file at $enrolment" >&2; exit 1; }
    # A name is the first field; a line for it must exist, or the revocation is a typo.
    if ! awk -v name="$revoke" '$1 == name { found = 1 } END { exit !found }' "$enrolment"; then
        echo "deploy-keys: $revoke is not enrolled in $enrolment" >&2
        exit 1
    fi
    fresh=$(mktemp "$out/public/.enrolment.XXXXXX")
    awk -v name="$revoke" '$1 != name' "$enrolment" > "$fresh"
    chmod 0644 "$fresh"
    mv -f "$fresh" "$enrolment"
    rm -f "$out/secret/$revoke.key" "$out/public/$revoke.pub"
    echo "deploy-keys: revoked $revoke in $enrolment"
    exit 0
fi

if [ -z "$binary" ]; then
    here=$(cd "$(dirname "$0")/.." && pwd)
    for candidate in "$(command -v fedpulse 2>/dev/null || true)" "$here/.build/debug/fedpulse" "$here/.build/release/fedpulse"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then binary=$candidate; break; fi
    done
fi
[ -n "$binary" ] && [ -x "$binary" ] || {
    echo "deploy-keys: no fedpulse binary (swift build, or --fedpulse BINARY / FEDPULSE=...)" >&2
    exit 1
}
if [ -e "$enrolment" ] || compgen -G "$out/secret/*.key" >/dev/null; then
    echo "deploy-keys: $out already holds keys; use a new folder (or --revoke / fedpulse keygen for one party)" >&2
    exit 1
fi

umask 077
mkdir -p "$out/secret" "$out/public"
# A failed run leaves no half-made deployment behind (a second run would refuse it).
trap 'status=$?; if [ $status -ne 0 ]; then rm -f "$out"/secret/*.key "$out"/public/*.pub "$out"/public/.enrolment.*; fi' EXIT
chmod 0700 "$out/secret"
chmod 0755 "$out/public"

parties=("coordinator coordinator" "auditor auditor" "global global" "observer observer")
for class in "${classes[@]}"; do
    for ((k = 0; k < ${shards[$class]}; k++)); do parties+=("region-$class-$k shard:$class"); done
done
for class in "${classes[@]}"; do parties+=("edge-$class edge:$class"); done

staging="$out/public/.enrolment.staging"
rm -f "$staging"
for party in "${parties[@]}"; do
    read -r name role <<<"$party"
    "$binary" keygen --out "$out/secret" --name "$name" --enroll "$staging" --role "$role" >/dev/null
    mv -f "$out/secret/$name.pub" "$out/public/$name.pub"
done
chmod 0600 "$out"/secret/*.key
chmod 0644 "$out"/public/*.pub "$staging"
# The finished file appears at once: a role never reads half an enrolment.
mv -f "$staging" "$enrolment"
if [ -n "$owner" ]; then
    chown "$owner" "$out/secret" "$out"/secret/*.key
fi
echo "deploy-keys: ${#parties[@]} parties in $enrolment; secret keys in $out/secret (keep them there)"
