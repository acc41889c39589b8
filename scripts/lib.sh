# The network-namespace pieces the shell tests and the demo build their topologies from
# (sourced; the callers draw the whole picture in their headers). Documentation and 10.x
# addresses only, inside namespaces the caller creates and deletes.
# shellcheck shell=bash

# underlay_switch SW: namespace SW holding the underlay bridge br0.
underlay_switch() {
  ip netns add "$1"
  ip -n "$1" link add br0 type bridge
  ip -n "$1" link set br0 up
}

# underlay_host SW NS INDEX: namespace NS on the bridge as 192.0.2.INDEX/24 on uplink0
# (bridge port "portINDEX"), forwarding on.
underlay_host() {
  local sw=$1 ns=$2 index=$3
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$sw" link add "port$index" type veth peer name uplink0 netns "$ns"
  ip -n "$sw" link set "port$index" master br0 up
  ip -n "$ns" addr add "192.0.2.$index/24" dev uplink0
  ip -n "$ns" link set uplink0 up
}

# attach_pod NODE POD ADDRESS DEV: namespace POD with eth0 ADDRESS/32 and a default route
# via 169.254.1.1, the node's end DEV of the veth (Calico-style: a /32 route per pod).
attach_pod() {
  local node=$1 pod=$2 address=$3 dev=$4
  ip netns add "$pod"
  ip -n "$pod" link set lo up
  ip -n "$node" link add "$dev" type veth peer name eth0 netns "$pod"
  ip -n "$node" addr add 169.254.1.1/32 dev "$dev"
  ip -n "$node" link set "$dev" up
  ip -n "$node" route add "$address/32" dev "$dev" scope link
  ip -n "$pod" addr add "$address/32" dev eth0
  ip -n "$pod" link set eth0 up
  ip -n "$pod" route add default via 169.254.1.1 dev eth0 onlink
}

# cni_node_desired FILE: the desired state of node1 alone (192.0.2.1 on uplink0, pod CIDR
# 10.244.1.0/24, MTU 1450, no peers): enough for weft-agent to serve weft-cni.
cni_node_desired() {
  cat > "$1" <<JSON
{"version":"1.3","revision":1,"cluster":{"id":"cnitest","vni":42,"port":4789,"encryption":false},
 "node":{"name":"node1","index":1,"underlay":"192.0.2.1","uplink":"uplink0","device":"weft0","incarnation":"boot-1",
         "vtepMAC":"02:57:46:00:00:01","vtepAddress":"10.244.1.0","podCIDR":"10.244.1.0/24","mtu":1450},
 "peers":[],"ipcache":[],"policy":[],"quarantined":[]}
JSON
}

# cni_conf SOCKET VERSION [EXTRA_FIELDS]: a weft-cni network configuration whose pods route
# 10.0.0.0/8 and the underlay through the gateway (no default route in test namespaces).
cni_conf() {
  echo "{\"cniVersion\":\"$2\",\"name\":\"weft\",\"type\":\"weft-cni\",\"socket\":\"$1\",\"routes\":[\"10.0.0.0/8\",\"192.0.2.0/24\"]${3:+,$3}}"
}

# cni_call SOCKET PLUGIN COMMAND CONTAINER NETNS [VERSION [EXTRA]]: weft-cni (PLUGIN) run as
# a runtime runs it, for CONTAINER's eth0 in netns NETNS (a name under /var/run/netns)
cni_call() {
  local netns=${5:+/var/run/netns/$5}
  cni_conf "$1" "${6:-1.0.0}" "${7:-}" | env CNI_COMMAND="$3" CNI_CONTAINERID="$4" CNI_NETNS="$netns" CNI_IFNAME=eth0 \
    CNI_ARGS="K8S_POD_NAMESPACE=test;K8S_POD_NAME=$4" CNI_PATH=/opt/cni/bin "$2"
}

# kselftest's exit codes: 0 every test passed, 1 a test failed, 4 skipped (with a SKIP line).
KSFT_PASS=0 KSFT_FAIL=1 KSFT_SKIP=4

# Results, kselftest style: one line each. fail marks the script failed (it ends with
# `exit "$ksft_rc"`); skip ends it at once with KSFT_SKIP and the reason.
ksft_rc=$KSFT_PASS
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; ksft_rc=$KSFT_FAIL; }
skip() { echo "SKIP: $*"; exit "$KSFT_SKIP"; }

# require_root WHAT, require_cmd WHAT CMD..., require_built WHAT FILE...: skip WHAT (the
# test's name) with the reason unless root, the commands, the built files are there.
require_root() { [ "$(id -u)" -eq 0 ] || skip "$1: needs root"; }
require_cmd() {
  local what=$1 cmd
  shift
  for cmd in "$@"; do command -v "$cmd" >/dev/null || skip "$what: $cmd missing"; done
}
require_built() {
  local what=$1 file
  shift
  for file in "$@"; do [ -x "$file" ] || skip "$what: $file not built (swift build)"; done
}

# esp_mode: ENCRYPT=1 where this kernel can install ESP SAs (the VM), else 0;
# WEFT_ENCRYPT=0|1 decides instead.
esp_mode() {
  ENCRYPT=${WEFT_ENCRYPT:-auto}
  if [ "$ENCRYPT" = auto ]; then
    if scripts/vm/can-esp.sh >/dev/null 2>&1; then ENCRYPT=1; else ENCRYPT=0; fi
  fi
}

# suite LOG NAME FILTER CMD...: runs one test script, appending all it prints to LOG and
# showing the lines the extended regex FILTER selects ('' shows all). A script that exits
# with anything but 0 or KSFT_SKIP adds "FAIL: NAME exited N" to LOG: the verdict is built
# from the result lines, and a script that died before printing its own (a crash, a
# timeout, an unbound variable) must count too. Returns 1 then, else 0.
suite() {
  local log=$1 name=$2 filter=$3 status
  shift 3
  if [ -n "$filter" ]; then
    "$@" 2>&1 | tee -a "$log" | { grep -aE "$filter" || true; }
  else
    "$@" 2>&1 | tee -a "$log"
  fi
  status=${PIPESTATUS[0]}
  case $status in
    "$KSFT_PASS"|"$KSFT_SKIP") return 0 ;;
    *) echo "FAIL: $name exited $status" | tee -a "$log"; return 1 ;;
  esac
}

# Probes. A slow machine (an emulated VM, the other core busy) makes them slower, never
# wrong: an allowed path is retried until a deadline, and a denial is proven by the drop
# counter moving, not by silence.
#
# reach_within NS DST [SECONDS]: true as soon as a ping from NS to DST is answered; one
# ping (waiting 1 s) after another until SECONDS (10) have passed.
reach_within() {
  local ns=$1 dst=$2 deadline=$((SECONDS + ${3:-10}))
  until ip netns exec "$ns" ping -c 1 -W 1 -q "$dst" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

# unanswered NS DST [WAIT]: one ping gets no answer within WAIT seconds (1). For paths with
# no drop counter to read (no route, a kernel XFRM policy); say why the silence is enough.
unanswered() { ! ip netns exec "$1" ping -c 1 -W "${3:-1}" -q "$2" >/dev/null 2>&1; }

# dropped_within NS DST SECONDS COUNTER...: true when a ping from NS to DST goes unanswered
# while the drop counter COUNTER... prints moves; false as soon as one is answered, or when
# SECONDS pass without the counter moving.
dropped_within() {
  local ns=$1 dst=$2 deadline=$((SECONDS + $3)) before
  shift 3
  before=$("$@")
  while :; do
    ip netns exec "$ns" ping -c 1 -W 1 -q "$dst" >/dev/null 2>&1 && return 1
    [ "$("$@")" -gt "$before" ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
  done
}

# snmp NS PROTO FIELD: a /proc/net/snmp counter of namespace NS (Udp NoPorts: datagrams
# that reached it for a closed port, i.e. that every filter on the way let through)
snmp() {
  # shellcheck disable=SC2016 # awk program
  ip netns exec "$1" awk -v p="$2:" -v f="$3" '$1 == p {
    if (!n) { for (i = 2; i <= NF; i++) h[i] = $i; n = 1 }
    else { for (i = 2; i <= NF; i++) if (h[i] == f) print $i } }' /proc/net/snmp
}

# udp_burst NS DST PORT [COUNT]: COUNT (3) datagrams from NS to DST:PORT
udp_burst() {
  ip netns exec "$1" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[3])): s.sendto(b"weft", (sys.argv[1], int(sys.argv[2])))' "$2" "$3" "${4:-3}"
}

# slowwait SECONDS CMD...: true as soon as CMD succeeds (tried every 0.1 s), false when
# SECONDS pass first (kselftest's name).
slowwait() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# Verdict counters of Weft's eBPF filters, by reason name (drop_policy, pass_uplink, ...):
# the names and their keys come from bpf/weft_maps.h, their one definition.
#
# reason_index NAME: the weft_counters key of reason NAME.
reason_index() {
  local index
  index=$(sed -nE "s/^[[:space:]]*WEFT_${1^^} = ([0-9]+),.*/\1/p" bpf/weft_maps.h)
  [ -n "$index" ] || { echo "reason_index: no reason $1 in bpf/weft_maps.h" >&2; return 1; }
  echo "$index"
}

# weft_counter PIN_DIR REASON: packets counted for REASON (summed over CPUs) in the
# weft_counters map pinned under PIN_DIR, read with bpftool; 0 when there is none yet.
weft_counter() {
  local index
  index=$(reason_index "$2") || { echo 0; return 1; }
  bpftool -j map lookup pinned "$1/weft_counters" key "$index" 0 0 0 2>/dev/null \
    | jq '[.formatted.values[].value.packets] | add // 0' 2>/dev/null || echo 0
}
