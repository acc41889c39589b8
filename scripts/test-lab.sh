#!/usr/bin/env bash
# Weft as the network of a real Kubernetes cluster (scripts/lab: kube-apiserver, controller
# manager, scheduler, and per node containerd + kubelet, each node in its own namespace;
# weft-controller on the API, a weft-agent per node serving weft-cni):
#   1. `lab up` brings three nodes Ready only once Weft installed its CNI config, and
#      weft-controller sets their NetworkUnavailable condition False (WeftReady)
#   2. pods on both nodes get addresses from their node's pod CIDR through weft-cni
#      (containerd's CRI code calls it) and reach each other across nodes over weft0
#   2b. NetworkPolicy with real TCP and UDP (weft-probe): a policy admitting one client on
#      tcp/80 lets it through and drops the rest, counted by node2's eBPF filter, also for
#      a pod on the server's own node; an egress policy lets its pod reach only the server
#      (node1's drop_policy_egress); weftctl policy check agrees; deleting the policy opens
#      every path again
#   3. a pod deleted and recreated on the other node works under its new address, and its
#      old address is gone from every node's kernel state
#   4. the agent restarted under a running ping: 0% loss; while it is stopped its conflist
#      is gone (the node turns NotReady), and it is back after the restart (Ready again)
#   5. weft-controller restarted under a running ping: 0% loss
#   6. node3 revoked: NetworkUnavailable=True (WeftRevoked) and node1 stops routing to it;
#      node2 drained and deleted (its kubelet stopped): its routes and FDB entry leave node1
#   7. `lab down` leaves nothing behind
# Encryption is off: this kernel has no ESP (the encrypted path is covered in the VM).
# Needs root, scripts/k8s/build and a build. Exit 0 all passed, 1 failure, 4 skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
. scripts/lib.sh
. scripts/k8s/lab-lib.sh
require_root lab
lab_check_tools 2>/dev/null || skip "lab: $(lab_check_tools 2>&1)"
[ -f "$LAB/state" ] && skip "lab: a lab is already up ($(cat "$LAB/state")); this test makes its own"

trap 'scripts/lab down > /dev/null 2>&1' EXIT
echo "test-lab: encryption off (this kernel has no ESP; the VM tests cover it)"
UPLOG=$(mktemp)
t0=$SECONDS
if scripts/lab up --nodes 3 > "$UPLOG" 2>&1; then
  pass "lab: up in $((SECONDS - t0)) s: three nodes Ready once weft-agent installed weft-cni"
else
  fail "lab: up failed: $(tail -5 "$UPLOG")"; rm -f "$UPLOG"; exit 1
fi
rm -f "$UPLOG"
kc() { lab_kubectl "$@"; }
condition() { lab_node_condition "$@"; }
network_ready() { [ "$(condition "$1")" = "False WeftReady" ]; }
slowwait 30 network_ready node1 && slowwait 30 network_ready node2 && slowwait 30 network_ready node3 \
  && pass "lab: weft-controller set every Node's NetworkUnavailable=False (WeftReady) once its agent applied its state" \
  || fail "lab: NetworkUnavailable: node1 $(condition node1), node2 $(condition node2), node3 $(condition node3)"
pod_yaml() {  # pod_yaml NAME NODE
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: probe}}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: weft.local/busybox:1, imagePullPolicy: Never, command: [sleep, "3600"]}]
YAML
}
running() { [ "$(kc get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null)" = Running ]; }
ip_of() { kc get pod "$1" -o jsonpath='{.status.podIP}'; }
reaches() { kc exec "$1" -- ping -c 1 -W 2 "$2" >/dev/null 2>&1; }
# pings FROM DST COUNT OUT: 10 a second in the background, as busybox ping in the pod.
pings() { kc exec "$1" -- ping -i 0.1 -c "$3" -W 1 "$2" > "$4" 2>&1 & PINGER=$!; }
loss() { sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' "$1"; }
node_routes() { ip -n "$(node_ns "$1")" -j route show proto 87 | jq -r '.[].dst' | sort | paste -sd' '; }

# --- 2. pods across nodes ---
pod_yaml a node1 | kc apply -f - >/dev/null; pod_yaml b node2 | kc apply -f - >/dev/null
if slowwait 60 running a && slowwait 60 running b; then
  A=$(ip_of a) B=$(ip_of b)
  cidr1=$(lab_api GET /api/v1/nodes/node1 | jq -r .spec.podCIDR) cidr2=$(lab_api GET /api/v1/nodes/node2 | jq -r .spec.podCIDR)
  [[ $A == "${cidr1%.0/24}".* && $B == "${cidr2%.0/24}".* ]] && slowwait 20 reaches a "$B" && slowwait 20 reaches b "$A" \
    && pass "lab: pod a ($A, node1) and pod b ($B, node2) got addresses from their nodes' pod CIDRs and reach each other over weft0" \
    || fail "lab: a=$A ($cidr1) b=$B ($cidr2): no reach"
  # weft-cni ADD put each pod's identity into its node's weft_ipcache before the pod ran
  # (the controller named it in podIdentities once the pod was scheduled, before its IP)
  first_packet() { grep "pod identity in weft_ipcache before its first packet" "$LAB/n$1-weft-agent.log" | grep "address=$2 " | grep -q "pod=default/$3"; }
  first_packet 1 "$A" a && first_packet 2 "$B" b \
    && pass "lab: weft-cni ADD gave pod a and pod b their identities in their nodes' weft_ipcache before they ran (podIdentities, from the scheduled pod)" \
    || fail "lab: no identity written at ADD for a ($A) / b ($B): $(grep -h "first packet\|CNI ADD" "$LAB"/n[12]-weft-agent.log | tail -4)"
else
  fail "lab: pods not Running: $(kc get pods -o wide 2>&1 | tail -2)"
fi

# --- NetworkPolicy in the datapath, with real TCP and UDP (weft-probe in weft.local/probe:1) ---
probe_pod() {  # probe_pod NAME NODE APP
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $3}}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: weft.local/probe:1, imagePullPolicy: Never, ports: [{name: http, containerPort: 80}, {containerPort: 81}]}]
YAML
}
probe_pod server node2 server | kc apply -f - >/dev/null
probe_pod friend node1 friend | kc apply -f - >/dev/null
probe_pod stranger node1 stranger | kc apply -f - >/dev/null
probe_pod neighbour node2 neighbour | kc apply -f - >/dev/null
slowwait 60 running server && slowwait 60 running friend && slowwait 60 running stranger && slowwait 60 running neighbour \
  || fail "lab: probe pods not Running"
S=$(ip_of server)
answer() { kc exec "$1" -- weft-probe connect --timeout 2 "$2" "$S" "$3" 2>/dev/null; }   # answer FROM PROTO PORT
answers() { [ "$(answer "$@")" = server ]; }
all_open() { answers friend tcp 80 && answers stranger tcp 81 && answers stranger udp 80; }
slowwait 30 all_open && pass "lab: before any policy, friend and stranger (node1) reach server (node2) on tcp/80, tcp/81, udp/80 (server answers with its name)" \
  || fail "lab: probe without policy: $(answer friend tcp 80) / $(answer stranger tcp 81) / $(answer stranger udp 80)"
kc apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-from-friend}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: friend}}}], ports: [{protocol: TCP, port: 80}]}]
YAML
drops() { weft_counter "$LAB/bpffs/n2" drop_policy; }
denied() {  # denied FROM PROTO PORT: no answer, and node2's policy drop counter moved
  local before; before=$(drops)
  ! answers "$@" && [ "$(drops)" -gt "$before" ]
}
enforced() { answers friend tcp 80 && denied stranger tcp 80; }
if slowwait 60 enforced && denied friend tcp 81 && denied friend udp 80 && answers friend tcp 80; then
  pass "lab: NetworkPolicy server-from-friend: friend reaches tcp/80; stranger on tcp/80, friend on tcp/81 and udp/80 are dropped (node2's drop_policy counter, bpftool: $(drops))"
else
  fail "lab: policy: friend tcp/80 '$(answer friend tcp 80)', stranger tcp/80 '$(answer stranger tcp 80)', drops $(drops)"
fi
# Same node: neighbour sits beside server on node2; only server's veth filter can stop it.
# Egress: friend may send only to server tcp/80, so friend -> neighbour is dropped on
# friend's own veth (node1), though neighbour admits anyone.
N2=$(ip_of neighbour)
reply_of() { kc exec "$1" -- weft-probe connect --timeout 2 "$2" "$3" "$4" 2>/dev/null; }   # reply_of FROM PROTO DST PORT
egress_drops() { weft_counter "$LAB/bpffs/n1" drop_policy_egress; }
before=$(drops)
if [ "$(reply_of neighbour tcp "$S" 80)" != server ] && [ "$(drops)" -gt "$before" ]; then
  pass "lab: same node: neighbour (node2) -> server tcp/80 is dropped by server's veth filter (node2's drop_policy: $(drops))"
else
  fail "lab: same node: neighbour -> server answered '$(reply_of neighbour tcp "$S" 80)', drops $before -> $(drops)"
fi
kc apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: friend-to-server}
spec:
  podSelector: {matchLabels: {app: friend}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: server}}}], ports: [{protocol: TCP, port: 80}]}]
YAML
egress_denied() { local b; b=$(egress_drops); [ "$(reply_of friend tcp "$N2" 80)" != neighbour ] && [ "$(egress_drops)" -gt "$b" ]; }
if slowwait 60 egress_denied && answers friend tcp 80 && [ "$(reply_of stranger tcp "$N2" 80)" = neighbour ]; then
  pass "lab: egress friend-to-server: friend still reaches server tcp/80, friend -> neighbour is dropped on friend's veth (node1's drop_policy_egress: $(egress_drops)); stranger reaches neighbour"
else
  fail "lab: egress: friend -> neighbour '$(reply_of friend tcp "$N2" 80)', egress drops $(egress_drops), friend -> server '$(answer friend tcp 80)'"
fi
kc delete networkpolicy friend-to-server >/dev/null
check=$("$BIN/weftctl" -j policy check --from default/stranger --to default/server --port tcp/80 --admin-socket "$LAB/weft-controller/admin/admin.sock" 2>&1 | jq -r .verdict)
[ "$check" = deny ] && pass "lab: weftctl policy check agrees: stranger -> server tcp/80 is deny" || fail "lab: policy check: $check"
kc delete networkpolicy server-from-friend >/dev/null
slowwait 60 all_open && pass "lab: the policy deleted, every path is open again" || fail "lab: after deleting the policy: $(answer stranger tcp 80)"

# --- 3. a pod recreated on the other node ---
kc delete pod b --wait=true >/dev/null 2>&1
old=$B
pod_yaml b node1 | kc apply -f - >/dev/null
gone() { ! node_routes 1 | grep -qw "$old" && ! node_routes 2 | grep -qw "$old"; }
if slowwait 60 running b; then
  B=$(ip_of b)
  [ "$B" != "$old" ] && slowwait 20 reaches a "$B" && slowwait 20 gone \
    && pass "lab: pod b recreated on node1 works under its new address $B; $old is gone from both nodes' routes" \
    || fail "lab: recreated b: $B (old $old), node1 routes: $(node_routes 1)"
else
  fail "lab: b not Running on node1"
fi
pod_yaml c node2 | kc apply -f - >/dev/null
slowwait 60 running c && C=$(ip_of c) && slowwait 20 reaches a "$C" || fail "lab: pod c on node2 unreachable"

# --- 4. the agent restarted under traffic; its conflist while it is stopped ---
pings a "$C" 150 "$LAB/ping-agent"
sleep 2
lab_stop n2-weft-agent
removed() { [ ! -e "$LAB/n2/net.d/10-weft.conflist" ]; }
not_ready() { ! lab_node_ready 2; }
slowwait 10 removed && slowwait 60 not_ready; off=$?
lab_weft_agent 2 >/dev/null 2>&1   # restart: its state directory has its certificate
slowwait 60 lab_node_ready 2; on=$?
wait "$PINGER"
[ "$off" = 0 ] && [ "$on" = 0 ] && [ "$(loss "$LAB/ping-agent")" = 0 ] \
  && pass "lab: node2's agent stopped: its conflist gone and node2 NotReady; restarted: Ready again; 150 pings a -> c across it: 0% loss" \
  || fail "lab: agent restart: off $off on $on, loss $(loss "$LAB/ping-agent")% ($(tail -2 "$LAB/ping-agent" | head -1))"

# --- 5. the controller restarted under traffic ---
pings c "$A" 150 "$LAB/ping-controller"
sleep 2
lab_stop weft-controller
lab_weft_controller >/dev/null 2>&1
converged() { [ "$(lab_weftctl_status -j 2>/dev/null | jq '[.nodes[] | select(.connected and .lag == 0)] | length')" = 3 ]; }
slowwait 60 converged; back=$?
wait "$PINGER"
[ "$back" = 0 ] && [ "$(loss "$LAB/ping-controller")" = 0 ] \
  && pass "lab: weft-controller restarted: all three agents back with lag 0; 150 pings c -> a across it: 0% loss" \
  || fail "lab: controller restart: converged $back, loss $(loss "$LAB/ping-controller")%"

# --- 6. node3 revoked; node2 drained and deleted ---
cidr3=$(lab_api GET /api/v1/nodes/node3 | jq -r .spec.podCIDR)
"$BIN/weftctl" revoke node3 --admin-socket "$LAB/weft-controller/admin/admin.sock" >/dev/null 2>&1
revoked() { [ "$(condition node3)" = "True WeftRevoked" ]; }
cut_off() { ! node_routes 1 | grep -q "$cidr3"; }
slowwait 30 revoked && slowwait 30 cut_off \
  && pass "lab: weftctl revoke node3: its NetworkUnavailable=True (WeftRevoked), and node1 no longer routes $cidr3" \
  || fail "lab: after revoke node3: NetworkUnavailable $(condition node3), node1 routes $(node_routes 1)"
before=$(node_routes 1)
kc drain node2 --ignore-daemonsets --force --grace-period=1 --timeout=60s >/dev/null 2>&1
lab_stop n2-kubelet
kc delete node node2 >/dev/null 2>&1
cidr2_routes_gone() { ! node_routes 1 | grep -q "${cidr2}"; }
fdb_gone() { [ "$(bridge -n "$(node_ns 1)" -j fdb show dev weft0 | jq '[.[] | select(.dst == "192.0.2.2")] | length')" = 0 ]; }
slowwait 60 cidr2_routes_gone && slowwait 30 fdb_gone \
  && pass "lab: node2 drained and deleted: its pod CIDR route and FDB entry left node1 (routes: $before -> $(node_routes 1))" \
  || fail "lab: node2 deleted but node1 still has: $(node_routes 1); fdb $(bridge -n "$(node_ns 1)" fdb show dev weft0 | grep 192.0.2.2)"

# --- 7. down ---
trap - EXIT
out=$(scripts/lab down 2>&1)
[ $? = 0 ] && [[ $out == *"is gone"* ]] && ! ip netns list 2>/dev/null | grep -q '^weft-lab-' && [ ! -e "$LAB" ] \
  && pass "lab: down: $out" || fail "lab: down: $out"
exit "$ksft_rc"
