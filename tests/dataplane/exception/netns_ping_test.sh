#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Live check of the exception path against real Linux neighbours: ARP, ND and ping through a veth pair, untagged and on VLAN 100.
#
# Usage: netns_ping_test.sh PATH/TO/exception_responder
# Needs root and `ip netns`; exits 77 (skip) without them. Creates two
# namespaces named after this PID, answers from NS_C with the responder
# (exception::handle() over an AF_PACKET socket), pings from NS_E, checks
# that NS_E learned the responder's MAC dynamically, and removes everything
# on exit. Addresses: documentation ranges only, only inside the namespaces.
set -u
RESPONDER=${1:?usage: $0 PATH/TO/exception_responder}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "iproute2 'ip' not installed"
command -v ping >/dev/null || skip "ping not installed"

NS_C="sluice-exc-c-$$"
NS_E="sluice-exc-e-$$"
V_C="vxc$$"
V_E="vxe$$"
V_C=${V_C:0:15}
V_E=${V_E:0:15}
RESP_PID=""
LOG=$(mktemp /tmp/sluice-exc-responder.XXXXXX)

cleanup() {
    if [ -n "$RESP_PID" ]; then kill "$RESP_PID" 2>/dev/null; wait "$RESP_PID" 2>/dev/null; fi
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_E" 2>/dev/null
    rm -f "$LOG"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS_C" 2>/dev/null || skip "'ip netns add' failed (no CAP_SYS_ADMIN or no netns support)"
ip netns add "$NS_E" || exit 1
ip link add "$V_C" netns "$NS_C" type veth peer name "$V_E" netns "$NS_E" || exit 1

inC() { ip netns exec "$NS_C" "$@"; }
inE() { ip netns exec "$NS_E" "$@"; }

# Collector side: no addresses, IPv6 off, so the kernel answers nothing itself.
inC sysctl -qw "net.ipv6.conf.$V_C.disable_ipv6=1"
inC ip link set "$V_C" mtu 1500 up
inC ip link set lo up
# Exporter side: plain addresses, nodad so they are usable at once.
inE ip link set lo up
inE ip link set "$V_E" mtu 1500 up
inE ip addr add 192.0.2.2/24 dev "$V_E"
inE ip addr add 2001:db8::2/64 dev "$V_E" nodad
# The VLAN half needs the 8021q module; sandboxes without it skip that half only.
VLAN=0
if inE ip link add link "$V_E" name "$V_E.100" type vlan id 100 2>/dev/null; then
    VLAN=1
    inE ip link set "$V_E.100" up
    inE ip addr add 198.51.100.2/24 dev "$V_E.100"
    inE ip addr add 2001:db8:100::2/64 dev "$V_E.100" nodad
else
    echo "note: cannot create a VLAN interface (8021q module missing): VLAN checks skipped"
fi
MAC_C=$(inC cat "/sys/class/net/$V_C/address")

fail=0
pass=0
check() {  # check NAME CMD...: counts a pass or a failure
    local name=$1; shift
    if "$@"; then echo "ok   $name"; pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
}
not() { ! "$@"; }

# Negative control: nothing answers before the responder runs.
quiet() { "$@" >/dev/null 2>&1; }
check "no answer without responder (v4)" not quiet inE ping -c 1 -W 1 -q 192.0.2.1
check "no answer without responder (v6)" not quiet inE ping -6 -c 1 -W 1 -q 2001:db8::1
inE ip neigh flush dev "$V_E"
inE ip -6 neigh flush dev "$V_E"

# Not through inC: $! must be the responder itself ('ip netns exec' execs it).
ip netns exec "$NS_C" "$RESPONDER" --iface "$V_C" --seconds 60 \
    --address 192.0.2.1 --address 2001:db8::1 --address 198.51.100.1 --address 2001:db8:100::1 >"$LOG" 2>&1 &
RESP_PID=$!
for _ in $(seq 50); do grep -q '^responding' "$LOG" && break; sleep 0.1; done

check "ping 192.0.2.1" inE ping -c 3 -i 0.2 -W 2 -q 192.0.2.1
check "ping -6 2001:db8::1" inE ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8::1
if [ "$VLAN" = 1 ]; then
    check "ping 198.51.100.1 (vlan 100)" inE ping -c 3 -i 0.2 -W 2 -q 198.51.100.1
    check "ping -6 2001:db8:100::1 (vlan 100)" inE ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8:100::1
fi
check "large ping (1472 bytes payload)" inE ping -c 2 -i 0.2 -W 2 -q -s 1472 -M do 192.0.2.1
check "large ping6 (1452 bytes payload)" inE ping -6 -c 2 -i 0.2 -W 2 -q -s 1452 -M do 2001:db8::1

# Neighbour entries learned dynamically with the responder's MAC.
neigh_ok() {  # neigh_ok ADDR DEV
    local line
    line=$(inE ip neigh show "$1" dev "$2")
    echo "     ip neigh: $1 -> ${line:-<none>}"
    [[ "$line" == *"lladdr $MAC_C"* ]] && [[ "$line" =~ (REACHABLE|STALE|DELAY|PROBE) ]] && [[ "$line" != *PERMANENT* ]]
}
check "neigh 192.0.2.1 learned" neigh_ok 192.0.2.1 "$V_E"
check "neigh 2001:db8::1 learned" neigh_ok 2001:db8::1 "$V_E"
if [ "$VLAN" = 1 ]; then
    check "neigh 198.51.100.1 learned (vlan)" neigh_ok 198.51.100.1 "$V_E.100"
    check "neigh 2001:db8:100::1 learned (vlan)" neigh_ok 2001:db8:100::1 "$V_E.100"
fi

# Neighbour unreachability detection: force a unicast re-probe and expect REACHABLE again.
inE ip neigh change 2001:db8::1 dev "$V_E" lladdr "$MAC_C" nud probe 2>/dev/null
sleep 1.5
check "NUD unicast probe answered (v6)" neigh_ok 2001:db8::1 "$V_E"
inE ip neigh change 192.0.2.1 dev "$V_E" lladdr "$MAC_C" nud probe 2>/dev/null
sleep 1.5
check "NUD unicast probe answered (v4)" neigh_ok 192.0.2.1 "$V_E"

kill "$RESP_PID"
wait "$RESP_PID"
RESP_PID=""
echo "responder counters:"
sed 's/^/     /' "$LOG"
replies=$(awk '$1 == "reply" {print $2}' "$LOG")
check "responder sent replies" test "${replies:-0}" -ge 14
check "no tx errors" grep -q '^tx_errors 0$' "$LOG"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
