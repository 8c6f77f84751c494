#!/usr/bin/env bash
# Lab machines for the lab end-to-end test (Tests/EndToEndTests/LabNetnsTests.swift): N network
# namespaces joined by veth pairs to a bridge in the caller's namespace, each running its own
# sshd on an address that exists only there (10.203.S.11, .12, …; S from DIR; the bridge is .1).
#
#   deploy-lab-netns.sh create DIR N    prints one address per line; DIR holds the keys and pids
#   deploy-lab-netns.sh destroy DIR     stops those sshds, deletes the namespaces and the bridge
#
# Needs root, iproute2 and openssh-server (scripts/deploy-deps.sh installs them). Every name
# carries a tag derived from DIR, so destroy removes only what create made.
set -euo pipefail

action=${1:?create|destroy}
dir=${2:?directory}
tag=$(printf '%s' "$dir" | md5sum | cut -c1-5)
bridge="fpb$tag"
# The subnet follows the tag too: two lab tests at once (two checkouts on one machine) would
# otherwise put the same addresses on two bridges, and ssh would reach the wrong "host".
subnet=10.203.$((0x${tag:0:2} % 200 + 20))

destroy() {
    for pidfile in "$dir"/sshd-*.pid; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^fpl$tag-" || true); do
        # Anything still running inside (a process the launcher failed to stop) goes with it.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
}

if [ "$action" = destroy ]; then
    destroy
    exit 0
fi

count=${3:?number of hosts}
mkdir -p "$dir" /run/sshd
trap 'destroy' ERR
ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" <<<y >/dev/null 2>&1 || true
ssh-keygen -q -t ed25519 -N '' -f "$dir/id_ed25519" <<<y >/dev/null 2>&1 || true
cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
chmod 600 "$dir/host_key" "$dir/id_ed25519" "$dir/authorized_keys"

ip link add "$bridge" type bridge
ip addr add "$subnet.1/24" dev "$bridge"
ip link set "$bridge" up
for i in $(seq 1 "$count"); do
    ns="fpl$tag-$i"
    address="$subnet.$((10 + i))"
    ip netns add "$ns"
    ip link add "fpv$tag$i" type veth peer name "fpp$tag$i"
    ip link set "fpp$tag$i" netns "$ns"
    ip link set "fpv$tag$i" master "$bridge" up
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip link set "fpp$tag$i" name eth0
    ip netns exec "$ns" ip addr add "$address/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
    cat > "$dir/sshd-$i.conf" <<CONF
ListenAddress $address
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd-$i.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
CONF
    ip netns exec "$ns" /usr/sbin/sshd -f "$dir/sshd-$i.conf" -E "$dir/sshd-$i.log"
    echo "$address"
done
