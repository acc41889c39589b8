#!/usr/bin/env bash
# Three nodes, two pods each, programmed by `weft-agent apply` from desired-state files;
# real packets between every pod pair over VXLAN. Where the kernel can install ESP SAs (the
# Debian-kernel VM of scripts/vm/, any distribution kernel) the same runs with encryption
# on: keys from `weft-agent keygen`, an SA pair per node pair, and a capture on the bridge
# that must show ESP between nodes and no plaintext VXLAN. WEFT_ENCRYPT=0|1 forces a mode.
#
#               +----------------- ns SW: bridge br0 (underlay 192.0.2.0/24) ----------------+
#               |                           |                                                 |
#   +-----------+----------+   +------------+---------+                  +--------------------+-+
#   | ns N1  uplink0       |   | ns N2  uplink0       |                  | ns N3  uplink0       |
#   |        192.0.2.1     |   |        192.0.2.2     |                  |        192.0.2.3     |
#   | weft0 10.244.1.0/32  |   | weft0 10.244.2.0/32  |                  | weft0 10.244.3.0/32  |
#   | veth -> P1a, P1b     |   | veth -> P2a, P2b     |                  | veth -> P3a, P3b     |
#   +----------------------+   +----------------------+                  +----------------------+
#     pods: 10.244.N.10/32 and 10.244.N.11/32, default via 169.254.1.1 (the node's veth)
#
# Tests: full pod-to-pod connectivity; a second apply makes zero kernel writes (and a ping
# running across it loses nothing); removing a peer from a node's desired state removes
# exactly that peer's objects and cuts only that path; an operator route on weft0 survives.
# Then with the eBPF trust filters (weft-agent apply --bpf): node3's policy lets only pod
# 1a's identity reach pod 3a, and pod 3a's own pings get their replies back as tracked
# connections; a pod on node2 spoofing a node1 address is dropped; node2,
# quarantined in node3's state, is cut off from node3; a re-apply writes nothing; the
# filters' counters show each drop. Encrypted: a peer sending plaintext VXLAN (its
# outbound policy deleted) is dropped by the receiver's inbound policy. Last, `weft-agent run`: repair, reload, refusal of a
# malformed file, metrics, SIGTERM, and a restart under traffic that writes nothing.
# Needs root. Exit 0 all passed, 1 failure, 4 skipped. PASS/FAIL/SKIP lines.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root overlay
AGENT=${WEFT_AGENT:-.build/debug/weft-agent}
require_built overlay "$AGENT"
require_cmd overlay jq
esp_mode
MODE=$([ "$ENCRYPT" = 1 ] && echo "encrypted overlay" || echo "overlay")
# Overlay MTU: 1500 - 50 (VXLAN) - 37 (ESP) = 1413 at most when encrypting (docs/desired-state.md).
MTU=$([ "$ENCRYPT" = 1 ] && echo 1400 || echo 1450)
EPOCH=1
echo "test-overlay: $MODE (kernel $(uname -r))"

ID=$(printf '%04x' $RANDOM)
SW=weft-sw-$ID
NODES=(1 2 3)
node() { echo "weft-n$1-$ID"; }
pod() { echo "weft-p$1$2-$ID"; }   # pod NODE a|b
TMP=$(mktemp -d)

cleanup() {
  for n in "${NODES[@]}"; do
    ip netns del "$(node "$n")" 2>/dev/null
    for p in a b; do ip netns del "$(pod "$n" "$p")" 2>/dev/null; done
  done
  ip netns del "$SW" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

underlay_switch "$SW"
for n in "${NODES[@]}"; do
  underlay_host "$SW" "$(node "$n")" "$n"
  attach_pod "$(node "$n")" "$(pod "$n" a)" "10.244.$n.10" veth_a
  attach_pod "$(node "$n")" "$(pod "$n" b)" "10.244.$n.11" veth_b
done

# Encryption: one key-agreement key per node; node R receives from node S on SPI
# 0x1000 + 16*R + S (SPIs are the receiver's to choose).
declare -A PUB=()
KEY_ARGS=()
if [ "$ENCRYPT" = 1 ]; then
  for n in "${NODES[@]}"; do
    PUB[$n]=$("$AGENT" keygen --out "$TMP/key$n.pem") || { echo "FAIL: overlay: weft-agent keygen"; exit 1; }
  done
fi
spi() { echo $((0x1000 + 16 * $1 + $2)); }  # spi RECEIVER SENDER

# desired-state N [EXCLUDED_PEER] [EXTRA_JSON]: node N's document, every other node a peer;
# EXTRA_JSON replaces the ipcache/policy/quarantined tail.
desired() {
  local n=$1 skip_peer=${2:-0} extra=${3:-'"ipcache":[],"policy":[],"quarantined":[]'} peers="" m sa=""
  local enc=$([ "$ENCRYPT" = 1 ] && echo true || echo false)
  for m in "${NODES[@]}"; do
    [ "$m" = "$n" ] || [ "$m" = "$skip_peer" ] && continue
    [ "$ENCRYPT" = 1 ] && sa=",\"outbound\":{\"spi\":$(spi "$m" "$n"),\"epoch\":$EPOCH},\"inbound\":{\"spi\":$(spi "$n" "$m"),\"epoch\":$EPOCH},\"keyAgreementPublicKey\":\"${PUB[$m]}\",\"incarnation\":\"boot-1\""
    peers+="${peers:+,}{\"name\":\"node$m\",\"index\":$m,\"underlay\":\"192.0.2.$m\",\"vtepMAC\":\"02:57:46:00:00:0$m\",\"vtepAddress\":\"10.244.$m.0\",\"podCIDRs\":[\"10.244.$m.0/24\"],\"encrypt\":$enc$sa}"
  done
  cat > "$TMP/node$n.json" <<JSON
{"version":"1.1","revision":1,"cluster":{"id":"selftest","vni":42,"port":4789,"encryption":$enc},
 "node":{"name":"node$n","index":$n,"underlay":"192.0.2.$n","uplink":"uplink0","device":"weft0","incarnation":"boot-1",
         "vtepMAC":"02:57:46:00:00:0$n","vtepAddress":"10.244.$n.0","podCIDR":"10.244.$n.0/24","mtu":$MTU},
 "peers":[$peers],$extra}
JSON
  echo "$TMP/node$n.json"
}
key_args() { [ "$ENCRYPT" = 1 ] && echo "--key $TMP/key$1.pem"; }

apply() {  # apply N [EXCLUDED_PEER [EXTRA_JSON]] -> prints the agent's summary line
  # shellcheck disable=SC2046 # word splitting of the optional arguments is intended
  "$AGENT" apply --desired "$(desired "$@")" -n "$(node "$1")" --state-dir "$TMP/state$1" $(key_args "$1") ${BPF_ARGS[$1]:-} 2>&1 | tail -1
}
declare -A BPF_ARGS=()

for n in "${NODES[@]}"; do
  out=$(apply "$n") || { fail "overlay: weft-agent apply on node$n: $out"; }
done

if [ "$ENCRYPT" = 1 ]; then
  # The underlay, seen on the bridge, while every pair pings: ESP only.
  ip netns exec "$SW" tcpdump -i br0 -n -U -l --immediate-mode -Z root 'esp or udp port 4789' > "$TMP/capture" 2> "$TMP/capture.err" &
  capture=$!
  for _ in $(seq 50); do grep -q "listening on" "$TMP/capture.err" && break; sleep 0.1; done
fi
pods=()
for n in "${NODES[@]}"; do pods+=("$n:a:10.244.$n.10" "$n:b:10.244.$n.11"); done
reach() {  # reach FROM_NODE FROM_POD TO_IP: answered within 10 s (retried)
  reach_within "$(pod "$1" "$2")" "$3"
}
silent() {  # silent FROM_NODE FROM_POD TO_IP: one ping unanswered (see each caller for why that is enough)
  unanswered "$(pod "$1" "$2")" "$3"
}
bad=0
for from in "${pods[@]}"; do
  IFS=: read -r fn fp _ <<<"$from"
  for to in "${pods[@]}"; do
    [ "$from" = "$to" ] && continue
    reach "$fn" "$fp" "${to##*:}" || { bad=$((bad + 1)); echo "  no reply: pod $fn$fp -> ${to##*:}"; }
  done
done
[ "$bad" -eq 0 ] && pass "overlay: all 30 pod pairs reach each other over VXLAN ($MODE)" || fail "overlay: $bad of 30 pod pairs unreachable ($MODE)"
if [ "$ENCRYPT" = 1 ]; then
  sleep 0.3; kill -KILL "$capture"; wait "$capture" 2>/dev/null
  esp=$(grep -c ': ESP(spi=' "$TMP/capture") plain=$(grep -c '\.4789: ' "$TMP/capture")
  pairs=$(grep -oE '192\.0\.2\.[0-9] > 192\.0\.2\.[0-9]: ESP' "$TMP/capture" | sort -u | wc -l)
  if [ "$esp" -gt 0 ] && [ "$plain" = 0 ] && [ "$pairs" = 6 ]; then
    pass "overlay: the underlay carried $esp ESP packets on all 6 node directions and no plaintext VXLAN"
  else
    fail "overlay: capture: $esp ESP packets on $pairs of 6 directions, $plain plaintext VXLAN"
  fi
  # Node1 stops encrypting towards node3 (its outbound policy deleted): node3 drops the
  # plaintext VXLAN; the next apply puts exactly that policy back.
  ip -n "$(node 1)" xfrm policy del src 192.0.2.1/32 dst 192.0.2.3/32 proto udp dport 4789 dir out
  # No Weft counter here: the kernel's XFRM policy drops it (not yet the filters).
  if silent 1 a 10.244.3.10; then pass "overlay: plaintext VXLAN from node1 is dropped by node3 (encryption required)"
  else fail "overlay: node3 accepted plaintext VXLAN from node1"; fi
  line=$(apply 1)
  reach 1 a 10.244.3.10 && [[ $line == *"1 kernel writes"* ]] && pass "overlay: the next apply restored node1's outbound policy ($line)" \
    || fail "overlay: after restoring the policy: $line"
fi

# Idempotence under traffic: a flood ping from node1's pod to node3's runs across re-applies.
ip netns exec "$(pod 1 a)" ping -i 0.01 -c 200 -q 10.244.3.10 > "$TMP/ping" 2>&1 &
pinger=$!
writes=""
for n in "${NODES[@]}"; do writes+="$(apply "$n" | sed -E 's/.*, ([0-9]+) kernel writes.*/\1/') "; done
wait "$pinger"
loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' "$TMP/ping")
[ "$writes" = "0 0 0 " ] && pass "overlay: re-applying the same state makes zero kernel writes on every node" \
  || fail "overlay: re-apply wrote: $writes"
[ "$loss" = "0" ] && pass "overlay: 200 pings across the re-apply, 0% loss" || fail "overlay: ping loss $loss% across re-apply"

# The operator's own route on weft0 and a peer removed from node1's desired state.
ip -n "$(node 1)" route add 203.0.113.0/24 dev weft0 proto static
before=$(ip -n "$(node 1)" -j route show proto 87 | jq length)
line=$(apply 1 2)
after=$(ip -n "$(node 1)" -j route show proto 87 | jq length)
nexthops=$(ip -n "$(node 1)" -j nexthop show | jq -r '[.[].gateway] | sort | join(",")')
if [ "$before" = 2 ] && [ "$after" = 1 ] && [ "$nexthops" = "10.244.3.0" ]; then
  pass "overlay: removing peer node2 removed exactly its route and nexthop ($line)"
else
  fail "overlay: after removing node2: routes $before -> $after, nexthops $nexthops ($line)"
fi
# No route to node2's pods is left, so the ping fails at once (no counter to read).
if silent 1 a 10.244.2.10 && reach 1 a 10.244.3.10; then
  pass "overlay: node1 -> node2 cut, node1 -> node3 still reachable"
else
  fail "overlay: connectivity after removing node2 is not as expected"
fi
[ "$(ip -n "$(node 1)" -j route show 203.0.113.0/24 | jq length)" = 1 ] && pass "overlay: the operator's route on weft0 survived" \
  || fail "overlay: the operator's route on weft0 is gone"

# Node1 forgot node2's SAs above; installing them again with the same keys would repeat
# GCM nonces, so the agent refuses to: a new epoch (new keys) brings the pair back.
if [ "$ENCRYPT" = 1 ]; then
  line=$(apply 1)
  case $line in *"refused"*) pass "overlay: re-adding node2 with its old keys is refused ($line)" ;;
    *) fail "overlay: re-adding node2's old SAs was not refused: $line" ;; esac
  EPOCH=2
fi

# --- eBPF trust filters, programmed by the agent ---------------------------------------
if ! scripts/build-bpf --check >/dev/null 2>&1; then
  echo "SKIP: overlay: trust filters: .build/bpf objects missing or stale (scripts/build-bpf)"
  exit "$ksft_rc"
fi
BPFFS=$TMP/bpffs
mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS"
trap 'umount "$BPFFS" 2>/dev/null; cleanup' EXIT
for n in "${NODES[@]}"; do BPF_ARGS[$n]="--bpf .build/bpf --pin-root $BPFFS/node$n"; done
# An operator's tc filters, installed before Weft's at tc's first place (pref 1 handle 1,
# where agents before 2026-12 attached) on node3's uplink0 and weft0: a program that is not
# Weft's (bpf/test/weft_test_mark.c; with its map at zero it only hands packets on). They
# must survive every apply below; Weft's filters sit at their own place, pref/handle 0x5746.
WEFT_PREF=$((0x5746))
optc() { ip netns exec "$(node 3)" env TC_BPF_MNT="$BPFFS" tc "$@"; }
prog_at() {  # prog_at DEV PREF FIELD -> the id or name of the program at that pref on ingress
  optc -j filter show dev "$1" ingress pref "$2" 2>/dev/null | jq -r ".[] | .options.prog.$3 // empty"
}
for dev in uplink0 weft0; do
  optc qdisc add dev "$dev" clsact 2>/dev/null
  optc filter add dev "$dev" ingress pref 1 handle 1 bpf da obj .build/bpf/weft_test_mark.o sec tc \
    || fail "overlay: cannot install the operator's filter on node3 $dev"
done
operator_ids() { echo "$(prog_at uplink0 1 id) $(prog_at weft0 1 id)"; }
operators=$(operator_ids)
# node2 as an earlier agent left it: Weft's uplink program at pref 1 handle 1. The apply
# below moves it to Weft's own place.
ip netns exec "$(node 2)" env TC_BPF_MNT="$BPFFS" tc qdisc add dev uplink0 clsact 2>/dev/null
ip netns exec "$(node 2)" env TC_BPF_MNT="$BPFFS" tc filter add dev uplink0 ingress pref 1 handle 1 bpf da obj .build/bpf/weft_uplink.o sec tc \
  || fail "overlay: cannot install a legacy Weft filter on node2"
# node1 as an agent before connection tracking left its pins: weft_counters with 9 slots.
# libbpf cannot reuse that pin; the loader must replace it (bpftool reads the new one).
mkdir -p "$BPFFS/node1"
bpftool map create "$BPFFS/node1/weft_counters" type percpu_array key 4 value 16 entries 9 name weft_counters \
  || fail "overlay: cannot pin an old-layout weft_counters for node1"
ids='"ipcache":[{"cidr":"10.244.1.10/32","identity":100},{"cidr":"10.244.1.11/32","identity":101},{"cidr":"10.244.2.10/32","identity":200},{"cidr":"10.244.2.11/32","identity":201},{"cidr":"10.244.3.10/32","identity":300},{"cidr":"10.244.3.11/32","identity":301}]'
policy3="$ids,\"policy\":[{\"source\":100,\"destination\":300,\"proto\":\"icmp\",\"port\":0},{\"source\":200,\"destination\":300,\"proto\":\"icmp\",\"port\":0}],\"quarantined\":[]"
out1=$(apply 1 0 "$ids,\"policy\":[],\"quarantined\":[]"); apply 2 0 "$ids,\"policy\":[],\"quarantined\":[]" >/dev/null
legacy=$(ip netns exec "$(node 2)" tc -j filter show dev uplink0 ingress | jq -r '[.[] | select(.options.prog) | "\(.pref):\(.options.prog.name)"] | join(" ")')
[ "$legacy" = "$((0x5746)):weft_uplink_ing" ] && pass "overlay: node2's Weft filter left at pref 1 handle 1 by an earlier agent was moved to Weft's place" \
  || fail "overlay: node2's uplink filters after the apply: $legacy"
slots=$(bpftool -j map show pinned "$BPFFS/node1/weft_counters" | jq .max_entries)
[ "$slots" = 16 ] && pass "overlay: node1's old-layout weft_counters pin (9 slots) was replaced by the current map (16 slots) at load" \
  || fail "overlay: node1's weft_counters after the apply has $slots slots ($out1)"
out3=$(apply 3 0 "$policy3")
counter() { weft_counter "$BPFFS/node$1" "$2"; }  # counter NODE REASON
if reach 1 a 10.244.3.10 && dropped_within "$(pod 1 b)" 10.244.3.10 10 counter 3 drop_policy && reach 2 a 10.244.3.10; then
  pass "overlay: node3's policy: identity 100 and 200 reach pod 3a, identity 101 is dropped and counted ($out3)"
else
  fail "overlay: policy on node3 not enforced as written ($out1 / $out3)"
fi
# The other way: pod 3a pings pod 1b (identity 101, which node3's policy refuses inbound).
# The requests leave through weft0, where weft_overlay_egress records them, so the echo
# replies pass node3's filter as replies of a tracked connection, not by any policy rule.
r0=$(counter 3 pass_reply)
if reach 3 a 10.244.1.11 && [ "$(counter 3 pass_reply)" -ge $((r0 + 1)) ]; then
  pass "overlay: pod 3a's pings to identity 101 get their replies through node3's filter as tracked (pass_reply $r0 -> $(counter 3 pass_reply))"
else
  fail "overlay: replies to pod 3a's own pings: pass_reply $r0 -> $(counter 3 pass_reply)"
fi
ip -n "$(pod 2 a)" addr add 10.244.1.50/32 dev eth0
s0=$(counter 3 drop_spoofed_source)
# The reply would go to node1 anyway, so the counter, not the ping, is the evidence.
ip netns exec "$(pod 2 a)" ping -c 2 -W 1 -q -I 10.244.1.50 10.244.3.10 >/dev/null 2>&1
if [ "$(counter 3 drop_spoofed_source)" -ge $((s0 + 2)) ]; then
  pass "overlay: a node2 pod sending as 10.244.1.50 (node1's CIDR) is dropped at node3 as spoofed"
else
  fail "overlay: a spoofed source from node2 was not counted as spoofed at node3"
fi
out3=$(apply 3 0 "$ids,\"policy\":[{\"source\":100,\"destination\":300,\"proto\":\"icmp\",\"port\":0},{\"source\":200,\"destination\":300,\"proto\":\"icmp\",\"port\":0}],\"quarantined\":[2]")
if dropped_within "$(pod 2 a)" 10.244.3.10 10 counter 3 drop_quarantined && reach 1 a 10.244.3.10; then
  pass "overlay: node2 quarantined in node3's state: cut off from node3, node1 unaffected ($out3)"
else
  fail "overlay: quarantine of node2 at node3 not enforced ($out3)"
fi
again=$(apply 3 0 "$ids,\"policy\":[{\"source\":100,\"destination\":300,\"proto\":\"icmp\",\"port\":0},{\"source\":200,\"destination\":300,\"proto\":\"icmp\",\"port\":0}],\"quarantined\":[2]")
case $again in *", 0 kernel writes, 0 failed") pass "overlay: re-applying with filters attached writes nothing" ;;
  *) fail "overlay: re-apply with filters wrote: $again" ;; esac
policy=$(counter 3 drop_policy) spoofed=$(counter 3 drop_spoofed_source) quarantined=$(counter 3 drop_quarantined)
if [ "$policy" -gt 0 ] && [ "$spoofed" -gt 0 ] && [ "$quarantined" -gt 0 ]; then
  pass "overlay: node3's counters: drop_policy=$policy drop_spoofed_source=$spoofed drop_quarantined=$quarantined"
else
  fail "overlay: node3's counters: drop_policy=$policy drop_spoofed_source=$spoofed drop_quarantined=$quarantined"
fi

WEFTCTL=${WEFTCTL:-.build/debug/weftctl}
# weftctl diff with the pinned maps: nothing to do for the state in force; lifting the
# quarantine would delete exactly node2's weft_quarantine entry and rewrite its
# weft_peers flags, and a dry run writes neither.
quarantine3="$ids,\"policy\":[{\"source\":100,\"destination\":300,\"proto\":\"icmp\",\"port\":0},{\"source\":200,\"destination\":300,\"proto\":\"icmp\",\"port\":0}],\"quarantined\":[2]"
same=$("$WEFTCTL" -n "$(node 3)" diff --desired "$(desired 3 0 "$quarantine3")" $(key_args 3) --pin-root "$BPFFS/node3" 2>&1 | tail -1)
lifted=$("$WEFTCTL" -n "$(node 3)" diff --desired "$(desired 3 0 "$policy3")" $(key_args 3) --pin-root "$BPFFS/node3" 2>&1)
if [ "$same" = "revision 1: 0 changes" ] && grep -q '^delete bpf map weft_quarantine key 0x02000000$' <<<"$lifted" \
   && grep -q '^replace bpf map weft_peers key ' <<<"$lifted" && [[ $(tail -1 <<<"$lifted") == *"bpf map +0 ~1 -1"* ]] \
   && [ "$("$WEFTCTL" -n "$(node 3)" -j bpf pin-root "$BPFFS/node3" | jq .maps.weft_quarantine)" = 1 ]; then
  pass "overlay: weftctl diff --pin-root lists the map entries a reconcile would write (none in force; lifting the quarantine: $(tail -1 <<<"$lifted"))"
else
  fail "overlay: weftctl diff with the pinned maps: '$same' / $(tr '\n' ' ' <<<"$lifted")"
fi
view=$("$WEFTCTL" -n "$(node 3)" -j bpf pin-root "$BPFFS/node3" 2>&1)
if echo "$view" | jq -e --argjson p "$policy" '(.attached | map(.dev + ":" + .direction + ":" + .name) | sort) == ["uplink0:ingress:weft_uplink_ing", "weft0:egress:weft_overlay_eg", "weft0:ingress:weft_overlay_in"]
    and .counters.drop_policy.packets == $p and .maps.weft_policy == 2 and .maps.weft_quarantine == 1' >/dev/null 2>&1; then
  pass "overlay: weftctl bpf shows the three filters attached (uplink ingress, weft0 ingress and egress), the map sizes and the counters bpftool reads"
else
  fail "overlay: weftctl bpf: $view"
fi

if [ "$(operator_ids)" = "$operators" ] && [ "$operators" != " " ] && [ "$(prog_at uplink0 $WEFT_PREF name)" = weft_uplink_ing ] \
   && [ "$(prog_at weft0 $WEFT_PREF name)" = weft_overlay_in ]; then
  pass "overlay: the operator's tc filters at pref 1 handle 1 on node3 survived every apply (ids $operators); Weft's sit at pref $WEFT_PREF"
else
  fail "overlay: operator's filters before/after: '$operators' / '$(operator_ids)'; Weft's: $(prog_at uplink0 $WEFT_PREF name) $(prog_at weft0 $WEFT_PREF name)"
fi
# An operator's program at Weft's own place: refused by name, not replaced.
optc filter del dev uplink0 ingress pref $WEFT_PREF handle 0x5746 bpf
optc filter add dev uplink0 ingress pref $WEFT_PREF handle 0x5746 bpf da obj .build/bpf/weft_test_mark.o sec tc
taken=$(prog_at uplink0 $WEFT_PREF id)
refused=$(apply 3 0 "$ids,\"policy\":[],\"quarantined\":[]")
if [[ $refused == *"which is not ours; refusing to replace it" ]] && [ -n "$taken" ] && [ "$(prog_at uplink0 $WEFT_PREF id)" = "$taken" ]; then
  pass "overlay: an operator's program at Weft's own tc place is refused, not replaced (\"${refused##*: tc }\")"
else
  fail "overlay: an operator's program at Weft's tc place: '$refused', id $taken -> $(prog_at uplink0 $WEFT_PREF id)"
fi
optc filter del dev uplink0 ingress pref $WEFT_PREF handle 0x5746 bpf
apply 3 0 "$policy3" >/dev/null
[ "$(prog_at uplink0 $WEFT_PREF name)" = weft_uplink_ing ] || fail "overlay: Weft's uplink filter did not come back on node3"

# --- weft-agent run: repair within a second, reload on file change, refuse a bad file ---
f=$(desired 1)
port=$((20000 + RANDOM % 20000))
# shellcheck disable=SC2046
"$AGENT" run --desired "$f" -n "$(node 1)" --resync 60 --metrics-port "$port" --state-dir "$TMP/state1" $(key_args 1) 2> "$TMP/run.log" &
agent=$!
http_get() {  # http_get PATH -> status line and body, over bash's /dev/tcp (loopback only)
  exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null && printf 'GET %s HTTP/1.0\r\n\r\n' "$1" >&3 && cat <&3; exec 3<&-
}
first_reconcile() {  # waits (up to 20 s: the VM is emulated) for the first reconcile; prints /metrics
  local m="" i
  for i in $(seq 100); do
    m=$(http_get /metrics 2>/dev/null)
    echo "$m" | grep -q '^weft_agent_reconciles_total [1-9]' && break
    sleep 0.2
  done
  echo "$m"
}
metrics=$(first_reconcile) health=$(http_get /healthz | head -1)
if echo "$metrics" | grep -q '^weft_agent_reconciles_total [1-9]' && echo "$metrics" | grep -q '^weft_agent_applied_revision 1' \
   && [[ $health == *"200 OK"* ]]; then
  pass "overlay: weft-agent run serves /metrics (reconciles, applied revision) and /healthz 200 on 127.0.0.1"
else
  fail "overlay: metrics/healthz: $health / $(echo "$metrics" | grep '^weft' | head -3 | tr '\n' ' ')"
fi
routes_to_node3() { [ "$(ip -n "$(node 1)" -j route show 10.244.3.0/24 proto 87 | jq length)" = "$1" ]; }
ip -n "$(node 1)" route del 10.244.3.0/24 proto 87
t0=$SECONDS
# The resync is 60 s away: only the netlink event can bring it back sooner.
slowwait 30 routes_to_node3 1 \
  && pass "overlay: weft-agent run put back a deleted route on its netlink event (in $((SECONDS - t0)) s; the resync is 60 s away)" \
  || fail "overlay: weft-agent run did not restore the deleted route ($(tail -2 "$TMP/run.log"))"
desired 1 3 >/dev/null   # rewrite node1's file without node3
slowwait 30 routes_to_node3 0 && reach 1 a 10.244.2.10 \
  && pass "overlay: weft-agent run applied the changed file (node3 removed, node2 kept)" \
  || fail "overlay: weft-agent run did not apply the changed file ($(tail -2 "$TMP/run.log"))"
echo '{"version":"1.0","revision":' > "$f"   # truncated: must be refused, nothing removed
if slowwait 30 grep -q "desired state refused" "$TMP/run.log" && reach 1 a 10.244.2.10; then
  pass "overlay: a malformed file is refused and logged; the datapath keeps working"
else
  fail "overlay: malformed file handling ($(tail -2 "$TMP/run.log"))"
fi
# Restart without disruption: a ping runs while the agent is stopped and started again;
# the new agent adopts the kernel state as it finds it and writes nothing.
desired 1 3 >/dev/null
ip netns exec "$(pod 1 a)" ping -i 0.01 -c 400 -q 10.244.2.10 > "$TMP/ping-restart" 2>&1 &
pinger=$!
sleep 0.5
kill -TERM "$agent"; wait "$agent"; status=$?
sed 's/^/  log: /' "$TMP/run.log" | head -8
[ "$status" = 0 ] && reach 1 a 10.244.2.10 && pass "overlay: SIGTERM stops weft-agent run cleanly (exit 0) and the datapath stays" \
  || fail "overlay: weft-agent run exit status $status after SIGTERM"
# shellcheck disable=SC2046
"$AGENT" run --desired "$f" -n "$(node 1)" --resync 60 --metrics-port "$port" --state-dir "$TMP/state1" $(key_args 1) 2> "$TMP/run2.log" &
agent=$!
metrics=$(first_reconcile)
wait "$pinger"
kill -TERM "$agent"; wait "$agent"
loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' "$TMP/ping-restart")
if echo "$metrics" | grep -q '^weft_agent_reconciles_total [1-9]' && echo "$metrics" | grep -q '^weft_agent_kernel_writes_total 0$' \
   && [ "$loss" = 0 ]; then
  pass "overlay: a restarted weft-agent run adopts the kernel state with zero writes; 400 pings across the restart, 0% loss"
else
  fail "overlay: restart: loss ${loss:-?}%, $(echo "$metrics" | grep -E '^weft_agent_(reconciles|kernel_writes)_total' | tr '\n' ' ')"
fi

exit "$ksft_rc"
