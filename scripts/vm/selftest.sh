#!/bin/bash
#
# VXLAN overlay over transport-mode ESP (rfc4106(gcm(aes))), the shape of Weft's data
# path, between two network namespaces:
#
#   +-----------------------------+               +-----------------------------+
#   | ns A                        |               | ns B                        |
#   |   vx0  198.51.100.1/24      |               |   vx0  198.51.100.2/24      |
#   |     |  VXLAN VNI 42         |               |     |  VXLAN VNI 42         |
#   |     |  UDP/4789 <-> ESP     |               |     |  UDP/4789 <-> ESP     |
#   |   veth_a  192.0.2.1/24  ----+---------------+-- veth_b  192.0.2.2/24      |
#   +-----------------------------+               +-----^-----------------------+
#                                                     tcpdump
#
# xfrm: one SA per direction on both ends; policies select UDP dport 4789 both ways,
# "out" ones encrypt, "in" ones (level required, the default) make the kernel drop
# UDP/4789 that did not arrive inside ESP.
#
# Tests:
#   1. a ping crosses the overlay
#   2. the underlay carries ESP and no plaintext UDP/4789
#   3. with B's inbound SA deleted the overlay stops: A keeps sending ESP, no
#      plaintext fallback, B drops it for want of a state
#   4. with A's outbound policy deleted (A sends VXLAN in the clear), B's inbound
#      policy drops the plaintext: the overlay does not come back
#
# Needs root and a kernel with ESP: scripts/vm/run.sh scripts/vm/selftest.sh
# Exit: 0 all passed, 1 something failed, 4 skipped (kselftest's ksft_skip).
set -eEuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly KSFT_SKIP=4

readonly A_UL=192.0.2.1 B_UL=192.0.2.2        # underlay (TEST-NET-1)
readonly A_OL=198.51.100.1 B_OL=198.51.100.2  # overlay (TEST-NET-2)
readonly VNI=42 PORT=4789
readonly SPI_AB=0x0000a001 SPI_BA=0x0000b001
# rfc4106: 128-bit AES key + 32-bit salt; a different key per direction
readonly KEY_AB=0x2b7e151628aed2a6abf7158809cf4f3c01020304
readonly KEY_BA=0x603deb1015ca71be2b73aef0857d777905060708

rc=0
ns_a="" ns_b="" tmp="" tcpdump_pid=""

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; rc=1; }
skip() { echo "SKIP: $*"; exit "$KSFT_SKIP"; }

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
  if [ -n "$tcpdump_pid" ]; then kill "$tcpdump_pid" 2>/dev/null || true; fi
  if [ -n "$ns_a" ]; then ip netns del "$ns_a" 2>/dev/null || true; fi
  if [ -n "$ns_b" ]; then ip netns del "$ns_b" 2>/dev/null || true; fi
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
# set -e ends the script on a setup error; say where, in the same format as the tests
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND"' ERR

[ "$(id -u)" -eq 0 ] || skip "needs root"
for c in ip tcpdump ping; do command -v "$c" >/dev/null || skip "$c not installed"; done
why=$("$HERE/can-esp.sh") || skip "$why"
# the drop counters tell which check dropped a packet (CONFIG_XFRM_STATISTICS)
[ -r /proc/net/xfrm_stat ] || skip "no /proc/net/xfrm_stat"

# --- setup ---------------------------------------------------------------------------

ns_a=$(mktemp -u vxesp-a-XXXXXX)
ns_b=$(mktemp -u vxesp-b-XXXXXX)
tmp=$(mktemp -d)
ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add veth_a netns "$ns_a" type veth peer name veth_b netns "$ns_b"

setup_node() { # ns dev local-underlay remote-underlay overlay-addr
  local ns=$1 dev=$2 local=$3 remote=$4 ol=$5
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$local/24" dev "$dev"
  ip -n "$ns" link set "$dev" up
  # point-to-point: the only peer is fixed, so no multicast group or FDB learning
  ip -n "$ns" link add vx0 type vxlan id "$VNI" local "$local" remote "$remote" dstport "$PORT" dev "$dev"
  # 1500 - 50 (VXLAN) - up to ~40 (ESP: header, IV, padding, trailer, ICV)
  ip -n "$ns" link set vx0 mtu 1400 up
  ip -n "$ns" addr add "$ol/24" dev vx0
}
setup_node "$ns_a" veth_a "$A_UL" "$B_UL" "$A_OL"
setup_node "$ns_b" veth_b "$B_UL" "$A_UL" "$B_OL"

sa() { # ns src dst spi reqid key
  ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid "$5" mode transport \
    aead 'rfc4106(gcm(aes))' "$6" 128
}
policy() { # ns dir src dst reqid
  ip -n "$1" xfrm policy add src "$3/32" dst "$4/32" proto udp dport "$PORT" dir "$2" \
    tmpl src "$3" dst "$4" proto esp reqid "$5" mode transport
}
for ns in "$ns_a" "$ns_b"; do
  sa "$ns" "$A_UL" "$B_UL" "$SPI_AB" 1 "$KEY_AB"
  sa "$ns" "$B_UL" "$A_UL" "$SPI_BA" 2 "$KEY_BA"
done
policy "$ns_a" out "$A_UL" "$B_UL" 1
policy "$ns_a" in "$B_UL" "$A_UL" 2
policy "$ns_b" out "$B_UL" "$A_UL" 2
policy "$ns_b" in "$A_UL" "$B_UL" 1

# --- helpers -------------------------------------------------------------------------

overlay_ping() { # count deadline-s: succeeds only if every echo is answered in time
  ip netns exec "$ns_a" ping -q -c "$1" -i 0.2 -w "$2" "$B_OL" >/dev/null 2>&1
}

capture_start() { # name: capture veth_b into $tmp/name.pcap
  ip netns exec "$ns_b" tcpdump -i veth_b -n -U --immediate-mode -Z root \
    -w "$tmp/$1.pcap" 2>"$tmp/$1.err" &
  tcpdump_pid=$!
  # tcpdump attaches asynchronously: packets sent before "listening on" are missed
  for _ in $(seq 100); do
    grep -q 'listening on' "$tmp/$1.err" && return 0
    sleep 0.1
  done
  echo "tcpdump did not start: $(cat "$tmp/$1.err")"
  return 1
}

capture_stop() {
  sleep 0.5 # let tcpdump drain its ring before SIGINT ends the loop
  kill -INT "$tcpdump_pid"
  wait "$tcpdump_pid" || true
  tcpdump_pid=""
}

count() { # name filter: packets in $tmp/name.pcap matching filter
  # count timestamped lines only: tcpdump prints a VXLAN packet's inner frame on a
  # second line
  { tcpdump -tt -n -r "$tmp/$1.pcap" "$2" 2>/dev/null || true; } | grep -cE '^[0-9]+\.[0-9]+ ' || true
}

xfrm_stat() { # ns counter, from /proc/net/xfrm_stat (per netns)
  # shellcheck disable=SC2016 # awk program, not shell
  ip netns exec "$1" awk -v k="$2" '$1 == k { print $2 }' /proc/net/xfrm_stat
}

# --- tests ---------------------------------------------------------------------------

# 1
if overlay_ping 3 10; then
  pass "ping $A_OL -> $B_OL across the ESP-protected overlay"
else
  fail "ping $A_OL -> $B_OL across the ESP-protected overlay"
fi

# 2
n=5
capture_start wire
overlay_ping "$n" 10 || true
capture_stop
esp=$(count wire "ip proto 50")
plain=$(count wire "udp port $PORT")
if [ "$esp" -ge $((2 * n)) ] && [ "$plain" -eq 0 ]; then
  pass "underlay carries ESP only ($esp ESP, $plain plaintext UDP/$PORT packets)"
else
  fail "underlay carries ESP only ($esp ESP, $plain plaintext UDP/$PORT packets; want >= $((2 * n)) and 0)"
  tcpdump -n -r "$tmp/wire.pcap" 2>/dev/null | head -20 | sed 's/^/    /'
fi

# 3
ip -n "$ns_b" xfrm state del src "$A_UL" dst "$B_UL" proto esp spi "$SPI_AB"
nostates0=$(xfrm_stat "$ns_b" XfrmInNoStates)
capture_start nosa
if overlay_ping 3 3; then ping_ok=1; else ping_ok=0; fi
capture_stop
esp=$(count nosa "ip proto 50")
plain=$(count nosa "udp port $PORT")
nostates=$(($(xfrm_stat "$ns_b" XfrmInNoStates) - nostates0))
if [ "$ping_ok" -eq 0 ] && [ "$esp" -gt 0 ] && [ "$plain" -eq 0 ] && [ "$nostates" -gt 0 ]; then
  pass "without B's inbound SA the overlay stops ($esp ESP on the wire, 0 plaintext, XfrmInNoStates +$nostates)"
else
  fail "without B's inbound SA the overlay stops (ping ok=$ping_ok, $esp ESP, $plain plaintext UDP/$PORT, XfrmInNoStates +$nostates)"
fi

# 4
sa "$ns_b" "$A_UL" "$B_UL" "$SPI_AB" 1 "$KEY_AB"
ip -n "$ns_a" xfrm policy del src "$A_UL/32" dst "$B_UL/32" proto udp dport "$PORT" dir out
mismatch0=$(xfrm_stat "$ns_b" XfrmInTmplMismatch)
capture_start clear
if overlay_ping 3 3; then ping_ok=1; else ping_ok=0; fi
capture_stop
plain=$(count clear "udp port $PORT")
mismatch=$(($(xfrm_stat "$ns_b" XfrmInTmplMismatch) - mismatch0))
if [ "$ping_ok" -eq 0 ] && [ "$plain" -gt 0 ] && [ "$mismatch" -gt 0 ]; then
  pass "B's inbound policy drops plaintext UDP/$PORT ($plain sent in the clear, XfrmInTmplMismatch +$mismatch)"
else
  fail "B's inbound policy drops plaintext UDP/$PORT (ping ok=$ping_ok, $plain plaintext seen, XfrmInTmplMismatch +$mismatch)"
fi

if [ "$rc" -eq 0 ]; then echo "selftest: all passed"; else echo "selftest: FAILED"; fi
exit "$rc"
