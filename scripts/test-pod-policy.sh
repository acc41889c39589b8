#!/usr/bin/env bash
# The pods' filters (bpf/weft_pod_out.c, weft_pod_in.c), attached by a real weft-agent at
# weft-cni ADD to real pod veths, enforcing policy between pods of one node:
#
#   ns N: node1 (uplink0 192.0.2.1, weft0 10.244.1.0), weft-agent --bpf --cni-socket
#     weftXXXXXXXXXXX  tc ingress weft_pod_out   <-- veth -->  ns Pa eth0 (identity 100)
#                      tc egress  weft_pod_in
#     weftYYYYYYYYYYY  (the same)                <-- veth -->  ns Pb eth0 (identity 200)
#     weftZZZZZZZZZZZ  (the same)                <-- veth -->  ns Pc eth0 (identity 300)
#
# Revision 2 of the node's desired state: 100 -> 300 ICMP only; a and c are isolated, b is
# selected by no policy ({ANY, 200}). Tests: ADD attaches both programs at Weft's place and
# fills weft_endpoints with the pod's address and MAC (bpftool, ip -j); before the policy
# every pod reaches every other; then a reaches c and c's replies reach a as tracked, b is
# denied at c and c is denied at a (drop counters), the node reaches the isolated c (host
# identity); a pod sending from an address or a MAC it was not given is dropped as spoofed;
# with egress policy (revision 3), a sends only what its rules allow, and its answers to
# the node pass as replies; with an ipBlock and a port range (revision 4), c admits UDP
# 7000-7009 from the node's pod CIDR but not from b (the block's except) nor outside the
# range; a new pod the state's podIdentities names (revision 5) has its identity in
# weft_ipcache when ADD returns, and one it does not name is refused; DEL forgets the pod's entry; an agent restart restores a
# removed filter and entry.
# Needs root. Exit 0 all passed, 1 failure, 4 skipped. PASS/FAIL/SKIP lines.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root pod-policy
AGENT=${WEFT_AGENT:-.build/debug/weft-agent}
CNI=${WEFT_CNI:-.build/debug/weft-cni}
WEFTCTL=${WEFTCTL:-.build/debug/weftctl}
require_built pod-policy "$AGENT" "$CNI" "$WEFTCTL"
require_cmd pod-policy jq bpftool tc
scripts/build-bpf --check >/dev/null 2>&1 || skip "pod-policy: .build/bpf objects missing or stale (scripts/build-bpf)"

ID=$(printf '%04x' $RANDOM)
SW=weft-sw-$ID N=weft-n1-$ID
pod() { echo "weft-p$1-$ID"; }
TMP=$(mktemp -d)
SOCK=$TMP/cni.sock STATE=$TMP/state PIN=$TMP/bpffs/node1
agent=""
cleanup() {
  [ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
  for p in a b c d e; do ip netns del "$(pod $p)" 2>/dev/null; done
  ip netns del "$N" 2>/dev/null
  ip netns del "$SW" 2>/dev/null
  umount "$TMP/bpffs" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

underlay_switch "$SW"
underlay_host "$SW" "$N" 1
mkdir -p "$TMP/bpffs" && mount -t bpf bpf "$TMP/bpffs"
cni_node_desired "$TMP/desired.json"
PORT=$((20000 + RANDOM % 20000))
start_agent() {
  "$AGENT" run --desired "$TMP/desired.json" -n "$N" --resync 60 --metrics-port "$PORT" --state-dir "$STATE" \
    --cni-socket "$SOCK" --cni-identity-wait 2 --bpf .build/bpf --pin-root "$PIN" 2>> "$TMP/agent.log" &
  agent=$!
}
stop_agent() { kill "$agent"; wait "$agent" 2>/dev/null; agent=""; }
counter() { weft_counter "$PIN" "$1"; }
status_ok() { cni_conf "$SOCK" 1.1.0 | CNI_COMMAND=STATUS "$CNI" >/dev/null; }

start_agent
slowwait 30 status_ok || { fail "pod-policy: the agent never served weft-cni"; tail -20 "$TMP/agent.log"; exit 1; }

declare -A ADDR HOST
for p in a b c; do
  ip netns add "$(pod $p)" && ip -n "$(pod $p)" link set lo up
  out=$(cni_call "$SOCK" "$CNI" ADD "c$p" "$(pod $p)")
  ADDR[$p]=$(jq -r '.ips[0].address' <<<"$out" 2>/dev/null | cut -d/ -f1)
  HOST[$p]=$(jq -r '.interfaces[0].name' <<<"$out" 2>/dev/null)
  [[ ${ADDR[$p]} == 10.244.1.* ]] || { fail "pod-policy: ADD $p: $out"; tail -5 "$TMP/agent.log"; exit 1; }
done

# --- ADD: both programs at Weft's place, the pod's entry -------------------------------
prog() { tc -n "$N" -j filter show dev "$1" "$2" pref $((0x5746)) 2>/dev/null | jq -r '[.[] | .options.prog.name // empty] | first // "none"'; }
le32_of() { printf '%02x %02x %02x %02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24)); }
endpoint_of() {  # endpoint_of POD: weft_endpoints' value for the pod's node end, as hex
  local index
  index=$(ip -n "$N" -j link show dev "${HOST[$1]}" | jq -r '.[0].ifindex')
  # shellcheck disable=SC2046 # the key: four bytes, little-endian
  bpftool -j map lookup pinned "$PIN/weft_endpoints" key hex $(le32_of "$index") 2>/dev/null \
    | jq -r '.value | map(ltrimstr("0x")) | join("")'
}
want_endpoint() {  # the value the pod should have: be32 address, eth0's MAC, flags 1 (check the MAC)
  local mac
  mac=$(ip -n "$(pod "$1")" -j link show dev eth0 | jq -r '.[0].address')
  printf '%02x%02x%02x%02x%s0100' ${ADDR[$1]//./ } "${mac//:/}"
}
ok=0
for p in a b c; do
  [ "$(prog "${HOST[$p]}" ingress)" = weft_pod_out ] && [ "$(prog "${HOST[$p]}" egress)" = weft_pod_in ] \
    && [ "$(endpoint_of $p)" = "$(want_endpoint $p)" ] || ok=1
done
[ "$ok" = 0 ] && pass "pod-policy: ADD attached weft_pod_out (ingress) and weft_pod_in (egress) at pref $((0x5746)) on each node end, and weft_endpoints holds each pod's address and MAC (a: $(endpoint_of a))" \
  || fail "pod-policy: filters/entries: a $(prog "${HOST[a]}" ingress)/$(prog "${HOST[a]}" egress) $(endpoint_of a) want $(want_endpoint a)"

view=$("$WEFTCTL" -n "$N" -j bpf pin-root "$PIN" 2>&1)
jq -e --arg a "${HOST[a]}" '.maps.weft_endpoints == 3
    and ([.attached[] | select(.dev == $a) | .direction + ":" + .name] | sort) == ["egress:weft_pod_in", "ingress:weft_pod_out"]
    and (.counters | has("pass_pod_out") and has("drop_policy_egress"))' <<<"$view" >/dev/null \
  && pass "pod-policy: weftctl bpf lists each pod veth's two filters, 3 weft_endpoints entries and the pods' verdict counters" \
  || fail "pod-policy: weftctl bpf: $view"

# --- no policy yet: enforcement off ----------------------------------------------------------
i0=$(counter pass_pod_in)
reach_within "$(pod b)" "${ADDR[c]}" 10 && reach_within "$(pod c)" "${ADDR[a]}" 10 && [ "$(counter pass_pod_in)" -gt "$i0" ] \
  && pass "pod-policy: without policy b reaches c and c reaches a through the pods' filters (pass_pod_in $i0 -> $(counter pass_pod_in))" \
  || fail "pod-policy: without policy: b->c / c->a"
u0=$(counter drop_unsupported)
ip netns exec "$(pod a)" ping -6 -c 2 -W 1 -q ff02::1%eth0 >/dev/null 2>&1
[ "$(counter drop_unsupported)" -ge $((u0 + 2)) ] \
  && pass "pod-policy: a pod's IPv6 (Weft gives pods none) is dropped on its veth as drop_unsupported, not as spoofed" \
  || fail "pod-policy: a's IPv6: drop_unsupported $u0 -> $(counter drop_unsupported)"

# --- revision 2: the policy --------------------------------------------------------------------
ipcache="{\"cidr\":\"${ADDR[a]}/32\",\"identity\":100},{\"cidr\":\"${ADDR[b]}/32\",\"identity\":200},{\"cidr\":\"${ADDR[c]}/32\",\"identity\":300}"
rules='{"source":100,"destination":300,"proto":"icmp","port":0},{"source":4294967295,"destination":200,"proto":"any","port":0}'
jq -c ".revision = 2 | .ipcache = [$ipcache] | .policy = [$rules]" "$TMP/desired.json" > "$TMP/desired.next" && mv "$TMP/desired.next" "$TMP/desired.json"
policy_in() { [ "$(bpftool -j map dump pinned "$PIN/weft_policy" | jq length)" = 2 ]; }
slowwait 30 policy_in || fail "pod-policy: the agent did not load revision 2's policy"

r0=$(counter pass_reply)
reach_within "$(pod a)" "${ADDR[c]}" 10 && [ "$(counter pass_reply)" -gt "$r0" ] \
  && pass "pod-policy: a (100) reaches c (300, isolated, 100 -> 300 ICMP allowed) and c's echo replies reach isolated a as tracked (pass_reply $r0 -> $(counter pass_reply))" \
  || fail "pod-policy: a -> c: pass_reply $r0 -> $(counter pass_reply)"
dropped_within "$(pod b)" "${ADDR[c]}" 10 counter drop_policy \
  && pass "pod-policy: b (200) -> c (300) on the same node is dropped by c's filter and counted (drop_policy $(counter drop_policy))" \
  || fail "pod-policy: b -> c was not dropped by policy"
dropped_within "$(pod c)" "${ADDR[a]}" 10 counter drop_policy \
  && pass "pod-policy: c -> a (isolated, no rule from 300) is dropped and counted" \
  || fail "pod-policy: c -> a was not dropped by policy"
reach_within "$(pod c)" "${ADDR[b]}" 10 \
  && pass "pod-policy: c -> b passes (b is selected by no policy: {ANY, 200})" || fail "pod-policy: c -> b"
reach_within "$N" "${ADDR[c]}" 10 \
  && pass "pod-policy: the node itself reaches isolated c (its addresses are WEFT_IDENTITY_HOST in weft_ipcache)" \
  || fail "pod-policy: node -> c was dropped"
# weftctl trace reads the same maps and says who decides: a -> c by the 100 -> 300 ICMP
# entry, b -> c dropped on c's veth (what the counters above saw).
trace_ac=$("$WEFTCTL" -j trace --from "${ADDR[a]}" --to "${ADDR[c]}" --port icmp --pin-root "$PIN" 2>&1)
trace_bc=$("$WEFTCTL" trace --from "${ADDR[b]}" --to "${ADDR[c]}" --port icmp --pin-root "$PIN" 2>&1)
jq -e '.verdict == "allow" and (.steps | map(.reason)) == ["pass_pod_out", "pass_pod_in"] and .steps[1].why == "100 -> 300 icmp (any port)"' <<<"$trace_ac" >/dev/null \
  && [ "$(head -1 <<<"$trace_bc")" = deny ] && grep -q "weft_pod_in (tc egress, the receiver's veth): drop_policy: no weft_policy entry for 200 or anyone -> 300" <<<"$trace_bc" \
  && pass "pod-policy: weftctl trace from the maps: a -> c allowed by entry 100 -> 300 icmp, b -> c dropped by c's weft_pod_in" \
  || fail "pod-policy: weftctl trace: $trace_ac / $trace_bc"
# the same drops per pod: c's own counters hold b's dropped pings, b's its sent ones
pods=$("$WEFTCTL" -n "$N" -j bpf pin-root "$PIN" 2>&1)
jq -e --arg b "${HOST[b]}" --arg c "${HOST[c]}" '(.pods | length) == 3
    and (.pods[] | select(.dev == $c) | .counters.drop_policy.packets) >= 1
    and (.pods[] | select(.dev == $b) | .counters.pass_pod_out.packets) >= 1
    and (.pods[] | select(.dev == $b) | .counters.drop_policy.packets) == 0' <<<"$pods" >/dev/null \
  && pass "pod-policy: weft_pod_counters: weftctl bpf shows c's own drop_policy and b's pass_pod_out (per pod veth, from the kernel)" \
  || fail "pod-policy: per-pod counters: $(jq -c .pods <<<"$pods" 2>/dev/null || echo "$pods")"

# --- revision 3: egress; a may send only ICMP to c --------------------------------------------
egress='{"source":100,"destination":300,"proto":"icmp","port":0},{"source":200,"destination":4294967295,"proto":"any","port":0},{"source":300,"destination":4294967295,"proto":"any","port":0}'
jq -c ".revision = 3 | .egressPolicy = [$egress] | .policy += [{\"source\":200,\"destination\":300,\"proto\":\"tcp\",\"port\":5201}]" "$TMP/desired.json" > "$TMP/desired.next" && mv "$TMP/desired.next" "$TMP/desired.json"
egress_in() { [ "$(bpftool -j map dump pinned "$PIN/weft_egress" | jq length)" = 3 ] && [ "$(bpftool -j map dump pinned "$PIN/weft_policy" | jq length)" = 3 ]; }
slowwait 30 egress_in || fail "pod-policy: the agent did not load revision 3's egress policy"
counter_e() { counter drop_policy_egress; }
reach_within "$(pod a)" "${ADDR[c]}" 10 \
  && pass "pod-policy: egress: a (100 -> 300 ICMP allowed) still reaches c" || fail "pod-policy: egress: a -> c"
dropped_within "$(pod a)" "${ADDR[b]}" 10 counter_e \
  && pass "pod-policy: egress: a -> b (no egress rule, though b admits anyone) is dropped on a's own veth (drop_policy_egress $(counter_e))" \
  || fail "pod-policy: egress: a -> b was not dropped by a's egress policy"
r0=$(counter pass_reply)
reach_within "$N" "${ADDR[a]}" 10 && [ "$(counter pass_reply)" -gt "$r0" ] \
  && pass "pod-policy: egress: the node still reaches egress-isolated a: a's answers pass its egress policy as replies (pass_reply $r0 -> $(counter pass_reply))" \
  || fail "pod-policy: egress: node -> a: pass_reply $r0 -> $(counter pass_reply)"
reach_within "$(pod c)" "${ADDR[b]}" 10 \
  && pass "pod-policy: egress: c ({300, ANY}) still reaches b" || fail "pod-policy: egress: c -> b"
# A bulk TCP transfer b -> c:5201 (allowed) while egress is enforced: every packet of it is
# judged on both veths, c's answers as replies, on both CPUs at once. Not one may be dropped.
ip netns exec "$(pod c)" timeout 30 python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], 5201)); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
open(sys.argv[2], "w").write(str(n))' "${ADDR[c]}" "$TMP/received" &
server=$!
slowwait 10 test -n "$(ip netns exec "$(pod c)" ss -Hltn src "${ADDR[c]}:5201")"
p0=$(counter drop_policy) e0=$(counter drop_policy_egress)
ip netns exec "$(pod b)" timeout 30 python3 -c 'import socket, sys
c = socket.create_connection((sys.argv[1], 5201)); chunk = bytes(1 << 20)
for _ in range(400): c.sendall(chunk)
c.close()' "${ADDR[c]}"
wait "$server"
got=$(cat "$TMP/received" 2>/dev/null || echo 0)
[ "$got" = $((400 << 20)) ] && [ "$(counter drop_policy)" = "$p0" ] && [ "$(counter drop_policy_egress)" = "$e0" ] \
  && pass "pod-policy: 400 MiB b -> c over TCP with both directions enforced: all of it arrived, no packet dropped (drop_policy $p0, drop_policy_egress $e0 unchanged)" \
  || fail "pod-policy: bulk b -> c: received $got of $((400 << 20)); drop_policy $p0 -> $(counter drop_policy), drop_policy_egress $e0 -> $(counter drop_policy_egress)"

# --- revision 4: an ipBlock with an except, a port range ------------------------------------
# a may now send c any UDP; c admits UDP 7000-7009 from 10.244.1.0/24 except b's address:
# the agent writes the range as
# two port blocks (7000/13, 7008/15) and the two prefixes into weft_cidrs. Delivery is read
# in c's own counters (UDP to a closed port: NoPorts), denials in the drop counter.
block='{"source":16777216,"destination":300,"proto":"udp","port":7000,"portEnd":7009}'
cidrs="{\"cidr\":\"10.244.1.0/24\",\"identity\":16777216},{\"cidr\":\"${ADDR[b]}/32\",\"identity\":16777217}"
jq -c ".revision = 4 | .policy += [$block] | .cidrs = [$cidrs] | .egressPolicy += [{\"source\":100,\"destination\":300,\"proto\":\"udp\",\"port\":0}]" "$TMP/desired.json" > "$TMP/desired.next" && mv "$TMP/desired.next" "$TMP/desired.json"
block_in() { [ "$(bpftool -j map dump pinned "$PIN/weft_policy" | jq length)" = 5 ] && [ "$(bpftool -j map dump pinned "$PIN/weft_cidrs" | jq length)" = 2 ]; }
slowwait 30 block_in || fail "pod-policy: the agent did not load revision 4's block and range (weft_policy $(bpftool -j map dump pinned "$PIN/weft_policy" | jq length), weft_cidrs $(bpftool -j map dump pinned "$PIN/weft_cidrs" | jq length))"
delivered() { # FROM PORT: 3 datagrams from pod FROM reach c's closed PORT
  local n0
  n0=$(snmp "$(pod c)" Udp NoPorts)
  udp_burst "$(pod "$1")" "${ADDR[c]}" "$2"
  slowwait 10 test "$(snmp "$(pod c)" Udp NoPorts)" -ge $((n0 + 3))
}
refused() { # FROM PORT: 3 datagrams from pod FROM are dropped by c's filter, none delivered
  local n0 d0
  n0=$(snmp "$(pod c)" Udp NoPorts) d0=$(counter drop_policy)
  udp_burst "$(pod "$1")" "${ADDR[c]}" "$2"
  slowwait 10 test "$(counter drop_policy)" -ge $((d0 + 3)) && [ "$(snmp "$(pod c)" Udp NoPorts)" = "$n0" ]
}
delivered a 7000 && delivered a 7009 \
  && pass "pod-policy: ipBlock: a (in 10.244.1.0/24) reaches c on UDP 7000 and 7009, both ends of the range" \
  || fail "pod-policy: ipBlock: a -> c UDP 7000/7009 not delivered"
refused a 7010 && refused a 6999 \
  && pass "pod-policy: ipBlock: ... and not on 7010 or 6999, past the range (dropped and counted)" \
  || fail "pod-policy: ipBlock: a -> c UDP 7010/6999 was not refused"
refused b 7005 \
  && pass "pod-policy: ipBlock: b, whose address is the block's except, is dropped on UDP 7005" \
  || fail "pod-policy: ipBlock: b -> c UDP 7005 was not refused"

# --- anti-spoofing -----------------------------------------------------------------------------
ip -n "$(pod b)" addr add 10.244.1.99/32 dev eth0
s0=$(counter drop_spoofed_source)
ip netns exec "$(pod b)" ping -c 2 -W 1 -q -I 10.244.1.99 "${ADDR[a]}" >/dev/null 2>&1
[ "$(counter drop_spoofed_source)" -ge $((s0 + 2)) ] \
  && pass "pod-policy: b sending from 10.244.1.99 (not its address) is dropped on its own veth (drop_spoofed_source $s0 -> $(counter drop_spoofed_source))" \
  || fail "pod-policy: b's spoofed source: drop_spoofed_source $s0 -> $(counter drop_spoofed_source)"
ip -n "$(pod b)" addr del 10.244.1.99/32 dev eth0
mac=$(ip -n "$(pod b)" -j link show dev eth0 | jq -r '.[0].address')
ip -n "$(pod b)" link set eth0 address 02:00:00:00:57:99
s0=$(counter drop_spoofed_source)
ip netns exec "$(pod b)" ping -c 2 -W 1 -q "${ADDR[c]}" >/dev/null 2>&1
ip -n "$(pod b)" link set eth0 address "$mac"
# a new MAC flushes the pod's neighbours: put back its permanent gateway, as weft-cni made it
ip -n "$(pod b)" neigh replace 169.254.1.1 lladdr "$(ip -n "$N" -j link show dev "${HOST[b]}" | jq -r '.[0].address')" dev eth0 nud permanent
[ "$(counter drop_spoofed_source)" -ge $((s0 + 2)) ] && reach_within "$(pod b)" 10.244.1.0 10 \
  && pass "pod-policy: b with another MAC is dropped as spoofed; with its own again it reaches the node" \
  || fail "pod-policy: b's spoofed MAC: drop_spoofed_source $s0 -> $(counter drop_spoofed_source)"

# --- revision 5: a new pod's identity from its first packet ---------------------------------------
# The controller names the pods placed on the node (podIdentities) before it knows their
# addresses; ADD puts the new address into weft_ipcache with that identity before it returns.
# d is identity 500, which c admits on UDP 7100 and which may send anywhere.
jq -c '.revision = 5 | .podIdentities = {"test/cd": 500} | .policy += [{"source":500,"destination":300,"proto":"udp","port":7100}]
       | .egressPolicy += [{"source":500,"destination":4294967295,"proto":"any","port":0}]' "$TMP/desired.json" > "$TMP/desired.next" \
  && mv "$TMP/desired.next" "$TMP/desired.json"
policy6() { [ "$(bpftool -j map dump pinned "$PIN/weft_policy" | jq length)" = 6 ]; }
slowwait 30 policy6 || fail "pod-policy: the agent did not load revision 5"
ipcache_of() { # ADDRESS: its weft_ipcache identity (the value, a host-order __u32), or "none"
  local key hex
  # shellcheck disable=SC2086 # split the address on its dots
  key="20 00 00 00 $(printf '%02x %02x %02x %02x' ${1//./ })"
  # shellcheck disable=SC2086 # the key is a list of hex bytes
  hex=$(bpftool -j map lookup pinned "$PIN/weft_ipcache" key hex $key 2>/dev/null | jq -r '.value | map(ltrimstr("0x")) | reverse | join("")' 2>/dev/null)
  [ -n "$hex" ] && echo $((16#$hex)) || echo none
}
ip netns add "$(pod d)" && ip -n "$(pod d)" link set lo up
out=$(cni_call "$SOCK" "$CNI" ADD cd "$(pod d)")
ADDR[d]=$(jq -r '.ips[0].address' <<<"$out" 2>/dev/null | cut -d/ -f1)
at_add=$(ipcache_of "${ADDR[d]}")
[ "$at_add" = 500 ] && ! jq -e --arg a "${ADDR[d]}/32" '.ipcache | any(.cidr == $a)' "$TMP/desired.json" >/dev/null \
  && pass "pod-policy: first packet: when ADD of test/cd returned, weft_ipcache held ${ADDR[d]} as identity 500 (podIdentities; the controller's ipcache has no entry yet)" \
  || fail "pod-policy: first packet: ADD cd: $out; weft_ipcache ${ADDR[d]}: $at_add"
delivered d 7100 && refused d 7101 \
  && pass "pod-policy: first packet: d's traffic is judged as identity 500 (c admits it on UDP 7100, not on 7101)" \
  || fail "pod-policy: first packet: d -> c UDP 7100/7101"
jq -c '.revision = 6 | .policy += [{"source":500,"destination":300,"proto":"udp","port":7102}]' "$TMP/desired.json" > "$TMP/desired.next" \
  && mv "$TMP/desired.next" "$TMP/desired.json"
policy7() { [ "$(bpftool -j map dump pinned "$PIN/weft_policy" | jq length)" = 7 ]; }
slowwait 30 policy7 && [ "$(ipcache_of "${ADDR[d]}")" = 500 ] \
  && pass "pod-policy: first packet: a later reconcile (revision 6) keeps d's entry the controller has not sent yet" \
  || fail "pod-policy: first packet: after revision 6 weft_ipcache ${ADDR[d]} is $(ipcache_of "${ADDR[d]}")"
ip netns add "$(pod e)"
out=$(cni_call "$SOCK" "$CNI" ADD ce "$(pod e)")
jq -e '.msg | test("pod test/ce has no identity in this node.s desired state \\(revision 6\\) yet")' <<<"$out" >/dev/null \
  && [ -z "$(ip netns exec "$(pod e)" ip -j addr show dev eth0 2>/dev/null | jq -r '.[0].addr_info[]?.local' 2>/dev/null)" ] \
  && [ "$(ls "$STATE/ipam" | grep -c '^10\.')" = 4 ] \
  && pass "pod-policy: first packet: ADD of a pod the controller has not named fails after --cni-identity-wait, holding no address and no interface" \
  || fail "pod-policy: first packet: ADD ce: $out (ipam: $(ls "$STATE/ipam" | tr '\n' ' '))"
cni_call "$SOCK" "$CNI" DEL cd "$(pod d)" >/dev/null
[ "$(ipcache_of "${ADDR[d]}")" = none ] \
  && pass "pod-policy: first packet: DEL of test/cd removed its own weft_ipcache entry" \
  || fail "pod-policy: first packet: after DEL weft_ipcache ${ADDR[d]} is $(ipcache_of "${ADDR[d]}")"

# --- DEL, restart ------------------------------------------------------------------------------
cindex=$(ip -n "$N" -j link show dev "${HOST[c]}" | jq -r '.[0].ifindex')
cni_call "$SOCK" "$CNI" DEL cc "$(pod c)" >/dev/null
entries=$(bpftool -j map dump pinned "$PIN/weft_endpoints" | jq length)
[ "$entries" = 2 ] && ! ip -n "$N" link show dev "${HOST[c]}" >/dev/null 2>&1 \
  && pass "pod-policy: DEL removed c's veth (ifindex $cindex) and its weft_endpoints entry (2 left)" \
  || fail "pod-policy: after DEL of c: $entries entries"
stop_agent
tc -n "$N" filter del dev "${HOST[a]}" egress pref $((0x5746))
aindex=$(ip -n "$N" -j link show dev "${HOST[a]}" | jq -r '.[0].ifindex')
# shellcheck disable=SC2046
bpftool map delete pinned "$PIN/weft_endpoints" key hex $(le32_of "$aindex")
start_agent
restored() { [ "$(prog "${HOST[a]}" egress)" = weft_pod_in ] && [ "$(endpoint_of a)" = "$(want_endpoint a)" ]; }
slowwait 30 restored && reach_within "$N" "${ADDR[a]}" 10 \
  && pass "pod-policy: a restarted agent put back a's removed filter and entry (read from the kernel: the veth and its neighbour)" \
  || fail "pod-policy: after restart: a's egress $(prog "${HOST[a]}" egress), entry $(endpoint_of a)"
grep -q "pod filters brought in line" "$TMP/agent.log" || fail "pod-policy: the agent did not log the pod filter sync"

exit "$ksft_rc"
