#!/usr/bin/env bash
# weft-cni called directly, as the spec defines (CNI_* environment + config on stdin),
# against a real weft-agent programming a real node namespace:
#
#   +-------- ns SW: bridge br0 (underlay 192.0.2.0/24) --------+
#   |                                                           |
#   | ns N  uplink0 192.0.2.1, weft0 10.244.1.0/32 (the agent)  |
#   |   weftXXXXXXXXXXX (node end, no address) ... one per pod  |
#   |      | veth                                               |
#   |   ns P<i>: eth0 10.244.1.x/32, 10.0.0.0/8 via 169.254.1.1 |
#   +-----------------------------------------------------------+
#
# Tests: VERSION; no agent (ADD 11, STATUS 50); ADD (result in 1.0.0 and 0.4.0, the kernel
# state read back with ip -j, pings node->pod and pod->pod); CHECK finds a removed route;
# DEL idempotent (twice, never-seen container, namespace gone); every error path with its
# code and no state changed; 30 ADDs at once, then 30 DELs at once; an agent restart keeps the
# allocations; a claim left by a crash is never reused; GC releases what the runtime no
# longer lists and removes an orphan veth; a hostile peer on the socket; metrics.
# Pods' routes are 10.0.0.0/8 and the underlay 192.0.2.0/24 (no default route in any
# namespace made here).
# Needs root. Exit 0 all passed, 1 failure, 4 skipped. PASS/FAIL/SKIP lines.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root cni
AGENT=${WEFT_AGENT:-.build/debug/weft-agent}
CNI=${WEFT_CNI:-.build/debug/weft-cni}
require_built cni "$AGENT"
require_built cni "$CNI"
require_cmd cni jq
require_cmd cni python3

ID=$(printf '%04x' $RANDOM)
SW=weft-sw-$ID N=weft-n1-$ID
pod() { echo "weft-c$1-$ID"; }
TMP=$(mktemp -d)
SOCK=$TMP/cni.sock STATE=$TMP/state
PODS=()
agent=""
cleanup() {
  [ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
  for p in "${PODS[@]}"; do ip netns del "$p" 2>/dev/null; done
  ip netns del "$N" 2>/dev/null
  ip netns del "$SW" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

underlay_switch "$SW"
underlay_host "$SW" "$N" 1
cni_node_desired "$TMP/desired.json"
PORT=$((20000 + RANDOM % 20000))
start_agent() {  # start_agent [EXTRA_FLAGS...]
  "$AGENT" run --desired "$TMP/desired.json" -n "$N" --resync 60 --metrics-port "$PORT" --state-dir "$STATE" \
    --cni-socket "$SOCK" "$@" 2>> "$TMP/agent.log" &
  agent=$!
}
stop_agent() { kill "$agent"; wait "$agent" 2>/dev/null; agent=""; }

conf() { cni_conf "$SOCK" "$@"; }  # conf VERSION [EXTRA_JSON_FIELDS]
# cni COMMAND CONTAINER NETNS [VERSION [EXTRA]] -> weft-cni's stdout; exit status as weft-cni's
cni() { cni_call "$SOCK" "$CNI" "$@"; }
new_pod() { ip netns add "$1" && ip -n "$1" link set lo up && PODS+=("$1"); }
allocations() { find "$STATE/ipam" -maxdepth 1 -name '10.*' 2>/dev/null | wc -l; }
pod_veths() { ip -n "$N" -j link show | jq '[.[] | select(.ifname | test("^weft[0-9a-f]{11}$"))] | length'; }
code_of() { jq -r '.code // "none"' <<<"$1" 2>/dev/null; }

# --- VERSION and no agent ---
v=$(echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$CNI")
[ "$(jq -c '[.cniVersion, (.supportedVersions | index("0.4.0") != null), (.supportedVersions | index("1.1.0") != null)]' <<<"$v")" = '["1.0.0",true,true]' ] \
  && pass "cni: VERSION lists 0.3.0-1.1.0 and answers in the version asked" || fail "cni: VERSION: $v"
new_pod "$(pod 0)"
out=$(cni ADD c0 "$(pod 0)"); rc=$?
st=$(conf 1.1.0 | CNI_COMMAND=STATUS "$CNI")
[ "$rc" -ne 0 ] && [ "$(code_of "$out")" = 11 ] && [ "$(code_of "$st")" = 50 ] \
  && pass "cni: without an agent ADD is 'try again later' (11) and STATUS 'not available' (50)" \
  || fail "cni: no agent: ADD rc $rc $out; STATUS $st"

start_agent
slowwait 30 test -S "$SOCK" || { fail "cni: the agent did not open $SOCK"; cat "$TMP/agent.log"; exit 1; }
status_ok() { conf 1.1.0 | CNI_COMMAND=STATUS "$CNI" >/dev/null; }
slowwait 30 status_ok && [ "$(stat -c %a "$SOCK")" = 600 ] \
  && pass "cni: STATUS succeeds once the agent has its desired state; the socket is mode 0600" \
  || fail "cni: STATUS: $(conf 1.1.0 | CNI_COMMAND=STATUS "$CNI"); mode $(stat -c %a "$SOCK")"

# --- ADD: the result, then the kernel read back independently ---
out=$(cni ADD c0 "$(pod 0)"); rc=$?
addr=$(jq -r '.ips[0].address' <<<"$out" 2>/dev/null); ip0=${addr%/32}
host=$(jq -r '.interfaces[0].name' <<<"$out" 2>/dev/null)
if [ "$rc" = 0 ] && [[ $addr == 10.244.1.*/32 ]] && [ "$(jq -c '[.ips[0].gateway, .ips[0].interface, .interfaces[1].name, .interfaces[1].sandbox, .routes]' <<<"$out")" \
     = "[\"169.254.1.1\",1,\"eth0\",\"/var/run/netns/$(pod 0)\",[{\"dst\":\"10.0.0.0/8\",\"gw\":\"169.254.1.1\"},{\"dst\":\"192.0.2.0/24\",\"gw\":\"169.254.1.1\"}]]" ]; then
  pass "cni: ADD (1.0.0) returns $addr on eth0, gateway 169.254.1.1, node end $host"
else
  fail "cni: ADD: rc $rc: $out"; tail -5 "$TMP/agent.log"
fi
P0=$(pod 0)
kernel_ok() {
  [ "$(ip -n "$P0" -j addr show dev eth0 | jq -r '.[0] | "\(.mtu) \(.operstate) \(.addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)")"')" = "1450 UP $addr" ] &&
  [ "$(ip -n "$P0" -j route show 10.0.0.0/8 | jq -r '.[0] | "\(.gateway) \(.dev)"')" = "169.254.1.1 eth0" ] &&
  [ "$(ip -n "$P0" -j route show default | jq length)" = 0 ] &&
  [ "$(ip -n "$P0" -j neigh show 169.254.1.1 | jq -r '.[0].state[0]')" = PERMANENT ] &&
  [ "$(ip -n "$N" -j route show "$ip0" | jq -r '.[0] | "\(.dev) \(.scope) \(.protocol)"')" = "$host link 87" ] &&
  [ "$(ip -n "$N" -j neigh show "$ip0" dev "$host" | jq -r '.[0].state[0]')" = PERMANENT ] &&
  [ "$(ip -n "$N" -j addr show dev "$host" | jq '[.[0].addr_info[] | select(.family=="inet")] | length')" = 0 ]
}
kernel_ok && pass "cni: ip -j shows eth0 $addr mtu 1450 up, 10.0.0.0/8 via 169.254.1.1 (no default route), permanent neighbours, node route proto 87" \
  || fail "cni: kernel state: pod $(ip -n "$P0" -br addr; ip -n "$P0" route) node $(ip -n "$N" route show "$ip0")"
new_pod "$(pod 1)"
out1=$(cni ADD c1 "$(pod 1)" 0.4.0)
ip1=$(jq -r '.ips[0].address' <<<"$out1" | cut -d/ -f1)
[ "$(jq -r '.ips[0].version' <<<"$out1")" = 4 ] && [ "$ip1" != "$ip0" ] \
  && pass "cni: ADD (0.4.0) names the IP version; a second pod gets $ip1" || fail "cni: ADD 0.4.0: $out1"
reach_within "$N" "$ip0" 10 && reach_within "$(pod 1)" "$ip0" 10 \
  && pass "cni: the node and another pod reach $ip0 (real ICMP)" || fail "cni: no reach to $ip0"

# --- CHECK ---
prev=$(jq -c . <<<"$out")
cni CHECK c0 "$P0" 1.0.0 "\"prevResult\":$prev" >/dev/null && pass "cni: CHECK with ADD's result succeeds" || fail "cni: CHECK of an intact pod failed"
wrong=$(cni CHECK c0 "$P0" 1.0.0 "\"prevResult\":{\"ips\":[{\"address\":\"10.244.1.250/32\"}]}")
ip -n "$P0" route del 10.0.0.0/8
broken=$(cni CHECK c0 "$P0" 1.0.0 "\"prevResult\":$prev")
[ "$(code_of "$wrong")" = 102 ] && [ "$(code_of "$broken")" = 102 ] && jq -r .details <<<"$broken" | grep -q "no route 10.0.0.0/8" \
  && pass "cni: CHECK fails (102) for a prevResult naming another address and for a removed route, saying which" \
  || fail "cni: CHECK: $wrong / $broken"

# --- error paths: each with its code, none changing state ---
before="$(allocations) $(pod_veths)"
errs=""
expect_code() {  # expect_code CODE DESCRIPTION CMD...
  local want=$1 what=$2 got
  shift 2
  got=$(code_of "$("$@")")
  [ "$got" = "$want" ] || errs+=" [$what: got $got, want $want]"
}
expect_code 4 "no CNI_CONTAINERID" bash -c "conf() { echo '$(conf 1.0.0)'; }; conf | CNI_COMMAND=ADD CNI_NETNS=/var/run/netns/$P0 CNI_IFNAME=eth0 $CNI"
expect_code 4 "bad ifname" bash -c "echo '$(conf 1.0.0)' | CNI_COMMAND=ADD CNI_CONTAINERID=x1 CNI_NETNS=/var/run/netns/$P0 CNI_IFNAME=a/b $CNI"
expect_code 1 "cniVersion 9.9.9" cni ADD x2 "$P0" 9.9.9
expect_code 1 "CHECK in 0.3.1" cni CHECK c0 "$P0" 0.3.1
expect_code 7 "mtu 70000" cni ADD x3 "$P0" 1.0.0 '"mtu":70000'
expect_code 7 "GC without valid-attachments" cni GC "" "" 1.1.0
expect_code 6 "not JSON" bash -c "echo 'garbage' | CNI_COMMAND=ADD CNI_CONTAINERID=x4 CNI_NETNS=/var/run/netns/$P0 CNI_IFNAME=eth1 $CNI"
expect_code 3 "namespace missing" bash -c "echo '$(conf 1.0.0)' | CNI_COMMAND=ADD CNI_CONTAINERID=x5 CNI_NETNS=/var/run/netns/nonexistent-$ID CNI_IFNAME=eth0 $CNI"
expect_code 100 "eth0 taken in the pod" cni ADD x6 "$P0"
after="$(allocations) $(pod_veths)"
[ -z "$errs" ] && [ "$before" = "$after" ] \
  && pass "cni: 9 malformed or impossible requests refused with the spec's codes (4, 1, 7, 6, 3) or Weft's (100); allocations and veths unchanged ($after)" \
  || fail "cni: error paths:$errs; state $before -> $after"

# --- DEL ---
cni DEL c0 "$P0" >/dev/null && d2=$(cni DEL c0 "$P0") && d3=$(cni DEL never-seen "$P0") \
  && ip netns del "$(pod 1)" && d4=$(cni DEL c1 "") \
  && [ "$(pod_veths)" = 0 ] && [ "$(allocations)" = 0 ] && [ -z "$d2$d3$d4" ] \
  && pass "cni: DEL removes veth and address; a second DEL, a never-seen container and a DEL after the namespace is gone all succeed" \
  || fail "cni: DEL: veths $(pod_veths), allocations $(allocations), $d2 $d3 $d4"

# --- 30 at once ---
for i in $(seq 1 30); do new_pod "$(pod "b$i")"; done
adders=()
for i in $(seq 1 30); do cni ADD "b$i" "$(pod "b$i")" > "$TMP/add$i.json" & adders+=($!); done
wait "${adders[@]}"
ok=0; for i in $(seq 1 30); do jq -e '.ips[0].address' "$TMP/add$i.json" >/dev/null 2>&1 && ok=$((ok + 1)); done
unique=$(cat "$TMP"/add*.json | jq -r '.ips[0].address' | sort -u | wc -l)
[ "$ok" = 30 ] && [ "$unique" = 30 ] && [ "$(pod_veths)" = 30 ] && [ "$(allocations)" = 30 ] \
  && pass "cni: 30 ADDs at once: 30 results, 30 distinct addresses, 30 veths (ip -j)" \
  || fail "cni: 30 ADDs: ok $ok unique $unique veths $(pod_veths) allocations $(allocations)"
reach_within "$(pod b1)" "$(jq -r '.ips[0].address' "$TMP/add30.json" | cut -d/ -f1)" 10 \
  && pass "cni: pod b1 reaches pod b30 on the same node" || fail "cni: b1 -> b30 unreachable"

# --- restart: allocations survive; a crash's claim is never reused ---
stop_agent
kept=$(allocations)
echo garbage > "$STATE/ipam/10.244.1.200"   # as if an agent died between claiming and recording
start_agent
slowwait 30 status_ok
for i in $(seq 31 35); do new_pod "$(pod "b$i")"; cni ADD "b$i" "$(pod "b$i")" > "$TMP/add$i.json"; done
reused=$(cat "$TMP"/add*.json | jq -r '.ips[0].address' | sort | uniq -d | wc -l)
again=$(cni ADD b1 "$(pod b1)" | jq -r '.ips[0].address')
[ "$kept" = 30 ] && [ "$reused" = 0 ] && ! grep -q '"10.244.1.200/32"' "$TMP"/add*.json && [ "$again" = "$(jq -r '.ips[0].address' "$TMP/add1.json")" ] \
  && grep -q "unreadable address record kept taken" "$TMP/agent.log" \
  && pass "cni: after a restart 30 allocations remain, new pods get new addresses, an unreadable claim stays taken, a repeated ADD keeps its address" \
  || fail "cni: restart: kept $kept reused $reused again $again"

# --- 30 DELs at once ---
dels=()
for i in $(seq 1 30); do cni DEL "b$i" "$(pod "b$i")" > "$TMP/del$i.out" & dels+=($!); done
failed=0; for pid in "${dels[@]}"; do wait "$pid" || failed=$((failed + 1)); done
[ "$failed" = 0 ] && [ "$(pod_veths)" = 5 ] && [ "$(allocations)" = 6 ] \
  && pass "cni: 30 DELs at once all succeed; the 5 other pods and the unreadable claim remain (ip -j, the ipam directory)" \
  || fail "cni: 30 DELs: $failed failed, veths $(pod_veths), allocations $(allocations)"

# --- GC ---
ip -n "$N" link add weft0123456789a type veth peer name orphan0   # a veth no attachment owns
valid=$(for i in 31 32 33; do echo "{\"containerID\":\"b$i\",\"ifname\":\"eth0\"}"; done | jq -sc .)
cni GC "" "" 1.1.0 "\"cni.dev/valid-attachments\":$valid" >/dev/null
[ "$(allocations)" = 3 ] && [ "$(pod_veths)" = 3 ] && ! ip -n "$N" link show weft0123456789a >/dev/null 2>&1 \
  && [ ! -e "$STATE/ipam/10.244.1.200" ] \
  && pass "cni: GC keeps the 3 listed attachments, releases the 2 others and the unreadable claim no pod uses, removes the orphan veth" \
  || fail "cni: GC: allocations $(allocations) veths $(pod_veths)"

# --- a hostile peer on the socket ---
hostile=$(python3 - "$SOCK" <<'PY'
import socket, sys, json
def ask(data):
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1]); s.sendall(data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b: return out
        out += b
r1 = json.loads(ask(b"GET / HTTP/1.1\r\n\r\n" + b"x" * 100))
r2 = json.loads(ask(b"weft-cni/1 99999999\n"))
r3 = json.loads(ask(b"weft-cni/1 5\n{nope"))
print(" ".join(str(json.loads(r["output"])["code"]) for r in (r1, r2, r3)))
PY
)
[ "$hostile" = "1 6 6" ] && status_ok && pass "cni: a foreign protocol (1), an oversized length (6) and a garbage body (6) are refused; the agent still serves" \
  || fail "cni: hostile peer: $hostile"

metrics=$(exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3)
adds=$(grep '^weft_agent_cni_requests_total{.*command="ADD"' <<<"$metrics" | grep 'result="ok"' | awk '{print $2}')
[ "${adds:-0}" -ge 5 ] && grep -q '^weft_agent_pod_addresses 3' <<<"$metrics" \
  && pass "cni: metrics count requests by command and result (ADD ok since the restart: $adds) and the addresses held (3)" \
  || fail "cni: metrics: $(grep cni <<<"$metrics" | head -5)"

# --- install: weft-cni and its conflist where the runtime looks, gone again on shutdown ---
stop_agent
# No --cni-plugin: the agent copies the weft-cni next to its own executable (/proc/self/exe).
start_agent --cni-conf-dir "$TMP/net.d" --cni-bin-dir "$TMP/bin" --cni-routes 10.0.0.0/8,192.0.2.0/24
CONFLIST=$TMP/net.d/10-weft.conflist
if slowwait 30 test -s "$CONFLIST" && cmp -s "$CNI" "$TMP/bin/weft-cni" && [ -x "$TMP/bin/weft-cni" ] \
   && [ "$(jq -c '[.cniVersion, .name, .plugins[0].type, .plugins[0].socket, .plugins[0].routes]' "$CONFLIST")" \
        = "[\"1.0.0\",\"weft\",\"weft-cni\",\"$SOCK\",[\"10.0.0.0/8\",\"192.0.2.0/24\"]]" ]; then
  pass "cni: the agent installs the weft-cni next to it (0755) and 10-weft.conflist (cniVersion 1.0.0, its socket, the routes) once it serves"
else
  fail "cni: install: $(cat "$CONFLIST" 2>&1)"
fi
# As a runtime does: the plugin's entry of the conflist with name and cniVersion added.
new_pod "$(pod i1)"
inst=$(jq -c '.plugins[0] + {name: .name, cniVersion: .cniVersion}' "$CONFLIST" | CNI_COMMAND=ADD CNI_CONTAINERID=i1 \
  CNI_NETNS="/var/run/netns/$(pod i1)" CNI_IFNAME=eth0 CNI_PATH="$TMP/bin" "$TMP/bin/weft-cni")
reach_within "$N" "$(jq -r '.ips[0].address' <<<"$inst" | cut -d/ -f1)" 10 \
  && pass "cni: the installed plugin with the installed conflist attaches a pod the node reaches" || fail "cni: installed ADD: $inst"
stop_agent
[ ! -e "$CONFLIST" ] && [ -x "$TMP/bin/weft-cni" ] && [ ! -e "$SOCK" ] \
  && pass "cni: on SIGTERM the agent removes its conflist and socket (the binary stays for running invocations)" \
  || fail "cni: after shutdown: conflist $(ls "$TMP/net.d"), socket $(ls "$SOCK" 2>&1)"
exit "$ksft_rc"
