# shellcheck shell=bash
# Sourced by scripts/bench-datapath: pod-to-pod TCP throughput (iperf3, SECS seconds a run,
# ROUNDS rounds of bare then filtered; medians) on the same VXLAN path without Weft's filters
# and with all of them attached and enforcing policy in both directions; cross-node (a
# node's address to a pod behind a veth on the other node) and same-node (pod to pod
# through the node). Prints the JSON member "throughput_gbps" (and filtered/bare ratios).
#
#   ns A 192.0.2.1, lo 10.1.0.10 (client) --- br0 --- ns B 192.0.2.2 (filters here)
#        weft0 VXLAN 42                                  weft0 VXLAN 42
#                                                        h1 <-veth-> ns P1 10.2.0.10 (server)
#                                                        h2 <-veth-> ns P2 10.2.0.11 (client)
throughput() {
  command -v iperf3 >/dev/null || { echo '"throughput":"not measured: iperf3 is not installed (apt-get install iperf3)"'; return; }
  local id=$$ secs=${SECS:-10} ns x
  local sw=wbsw-$id a=wba-$id b=wbb-$id p1=wbp1-$id p2=wbp2-$id pins=$work/tcfs/tc/globals
  NSS=("$sw" "$a" "$b" "$p1" "$p2")
  for ns in "${NSS[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$sw" link add br0 type bridge && ip -n "$sw" link set br0 up
  for x in a b; do
    ns=$a; [ "$x" = b ] && ns=$b
    ip link add eth0 netns "$ns" type veth peer name "p$x" netns "$sw"
    ip -n "$sw" link set "p$x" master br0 up
  done
  node() {  # NS UNDERLAY MAC PREFIX
    ip -n "$1" addr add "$2/24" dev eth0 && ip -n "$1" link set eth0 up
    ip -n "$1" link add weft0 type vxlan id 42 local "$2" dstport 4789 dev eth0 nolearning
    ip -n "$1" link set weft0 address "$3" mtu 1450 up
    ip -n "$1" addr add "$4.0/32" dev weft0
  }
  remote() {  # NS PEER-UNDERLAY PEER-MAC PEER-PREFIX
    ip -n "$1" neigh add "$4.0" lladdr "$3" dev weft0 nud permanent
    ip netns exec "$1" bridge fdb append "$3" dev weft0 dst "$2"
    ip -n "$1" route add "$4.0/24" via "$4.0" dev weft0 onlink
  }
  pod() {  # POD-NS HOST-DEV ADDRESS: a pod as weft-cni makes one (docs/cni.md)
    ip link add "$2" netns "$b" type veth peer name eth0 netns "$1"
    ip -n "$b" link set "$2" up
    ip -n "$1" link set eth0 mtu 1450 up
    ip -n "$1" addr add "$3/32" dev eth0
    ip -n "$1" neigh add 169.254.1.1 lladdr "$(ip -n "$b" -j link show dev "$2" | jq -r '.[0].address')" dev eth0 nud permanent
    ip -n "$1" route add 169.254.1.1/32 dev eth0 scope link
    ip -n "$1" route add 10.0.0.0/8 via 169.254.1.1 dev eth0
    ip -n "$b" neigh add "$3" lladdr "$(ip -n "$1" -j link show dev eth0 | jq -r '.[0].address')" dev "$2" nud permanent
    ip -n "$b" route add "$3/32" dev "$2" scope link
  }
  node "$a" 192.0.2.1 02:57:00:00:00:01 10.1.0
  node "$b" 192.0.2.2 02:57:00:00:00:02 10.2.0
  ip -n "$a" addr add 10.1.0.10/32 dev lo
  remote "$a" 192.0.2.2 02:57:00:00:00:02 10.2.0
  remote "$b" 192.0.2.1 02:57:00:00:00:01 10.1.0
  ip netns exec "$b" sysctl -qw net.ipv4.ip_forward=1
  pod "$p1" h1 10.2.0.10
  pod "$p2" h2 10.2.0.11

  gbps() {  # CLIENT-NS BIND: one SECS-second iperf3 run to P1's server, in Gbit/s
    ip netns exec "$p1" iperf3 -s -1 -B 10.2.0.10 >/dev/null 2>&1 &
    local server=$! i
    for i in $(seq 50); do [ -n "$(ip netns exec "$p1" ss -Hltn src 10.2.0.10:5201)" ] && break; sleep 0.1; done
    ip netns exec "$1" iperf3 -c 10.2.0.10 -B "$2" -t "$secs" -J | jq '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100'
    wait "$server" 2>/dev/null
  }
  mkdir -p "$work/tcfs" && mount -t bpf bpf "$work/tcfs"
  tcb() { ip netns exec "$b" env TC_BPF_MNT="$work/tcfs" tc "$@"; }
  attach_all() {  # every Weft filter on node B, as the agent places them (maps pinned once, reused)
    tcb qdisc add dev eth0 clsact && tcb filter add dev eth0 ingress pref 10 bpf da obj .build/bpf/weft_uplink.o sec tc
    tcb qdisc add dev weft0 clsact && tcb filter add dev weft0 ingress pref 10 bpf da obj .build/bpf/weft_overlay.o sec tc
    tcb filter add dev weft0 egress pref 10 bpf da obj .build/bpf/weft_track.o sec tc
    for x in h1 h2; do
      tcb qdisc add dev "$x" clsact
      tcb filter add dev "$x" ingress pref 10 bpf da obj .build/bpf/weft_pod_out.o sec tc
      tcb filter add dev "$x" egress pref 10 bpf da obj .build/bpf/weft_pod_in.o sec tc
    done
  }
  detach_all() { for x in eth0 weft0 h1 h2; do tcb qdisc del dev "$x" clsact; done; }
  attach_all
  PYTHONPATH=scripts python3 - "$pins" "$work/tput-batch" \
    "$(ip -n "$b" -j link show dev h1 | jq -r '.[0].ifindex')" "$(ip -n "$p1" -j link show dev eth0 | jq -r '.[0].address')" \
    "$(ip -n "$b" -j link show dev h2 | jq -r '.[0].ifindex')" "$(ip -n "$p2" -j link show dev eth0 | jq -r '.[0].address')" <<'PY'
import sys
from bpf_batch import config, endpoint, ip, le32, lpm, policy_key, update
pins, out, h1, mac1, h2, mac2 = sys.argv[1:]
ANY, TCP = 0xffffffff, 6
u = lambda m, k, v: update(pins, m, k, v)
lines = [u("weft_config", le32(0), config(7)),  # ingress and egress enforced, replies tracked
         u("weft_peers", ip("192.0.2.1"), le32(1) + le32(0)),
         u("weft_vtep_macs", bytes.fromhex("025700000001") + b"\0\0", le32(1)),
         u("weft_pod_cidrs", lpm("10.1.0.0", 24), le32(1)), u("weft_pod_cidrs", lpm("10.2.0.0", 24), le32(2)),
         u("weft_ipcache", lpm("10.1.0.10", 32), le32(100)), u("weft_ipcache", lpm("10.2.0.10", 32), le32(200)),
         u("weft_ipcache", lpm("10.2.0.11", 32), le32(300)),
         u("weft_policy", policy_key(100, 200, TCP, 5201), b"\1"), u("weft_policy", policy_key(300, 200, TCP, 5201), b"\1"),
         u("weft_egress", policy_key(300, 200, TCP, 5201), b"\1"),  # P2 isolated for egress: only this
         u("weft_egress", policy_key(200, ANY, 0, 0), b"\1"),      # P1 not: anything
         u("weft_endpoints", le32(int(h1)), endpoint("10.2.0.10", bytes.fromhex(mac1.replace(":", "")))),
         u("weft_endpoints", le32(int(h2)), endpoint("10.2.0.11", bytes.fromhex(mac2.replace(":", ""))))]
open(out, "w").write("".join(lines))
PY
  bpftool batch file "$work/tput-batch" >/dev/null
  # ROUNDS rounds, each bare then filtered, so drift of the machine hits both alike; medians
  local rounds=${ROUNDS:-3} r bx=() bs=() fx=() fs=()
  for r in $(seq "$rounds"); do
    echo "bench-datapath: iperf3 round $r of $rounds: without filters, then with them ($secs s a run)" >&2
    detach_all
    bx+=("$(gbps "$a" 10.1.0.10)") bs+=("$(gbps "$p2" 10.2.0.11)")
    attach_all
    fx+=("$(gbps "$a" 10.1.0.10)") fs+=("$(gbps "$p2" 10.2.0.11)")
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
  local bare_x bare_s filt_x filt_s
  bare_x=$(median "${bx[@]}") bare_s=$(median "${bs[@]}") filt_x=$(median "${fx[@]}") filt_s=$(median "${fs[@]}")
  # the filtered runs must have gone through the filters: verdicts counted, no drops
  local counted
  counted=$(bpftool -j map dump pinned "$pins/weft_counters" | jq '[.[] | {key: .formatted.key, n: ([.formatted.values[].value.packets] | add)}]')
  jq -e '(map(select(.key == 1 or .key == 10 or .key == 11)) | all(.n > 0)) and (map(select(.key == 6 or .key == 13 or .key == 5)) | all(.n == 0))' <<<"$counted" >/dev/null \
    || { echo "bench-datapath: the filtered runs were not judged as expected: $counted" >&2; return 1; }
  for ns in "${NSS[@]}"; do ip netns del "$ns"; done
  NSS=()
  printf '"throughput_gbps":{"seconds":%d,"rounds":%d,"cross_node":{"bare":%s,"filtered":%s,"ratio":%s},"same_node":{"bare":%s,"filtered":%s,"ratio":%s}}' \
    "$secs" "$rounds" "$bare_x" "$filt_x" "$(jq -n "$filt_x / $bare_x * 1000 | round / 1000")" \
    "$bare_s" "$filt_s" "$(jq -n "$filt_s / $bare_s * 1000 | round / 1000")"
}

