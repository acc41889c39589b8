#!/usr/bin/env bash
# weft-controller with the Kubernetes API as its source, against a real kube-apiserver
# (v1.20.2 from scripts/k8s/build) and etcd: the objects created with kubectl and raw API
# calls are what the controller plans, and each path of its list/watch is exercised:
#   1. the first list: nodes (one without a pod CIDR is left out until it gets one, with a
#      Warning Event saying why), namespaces, pods (their IPs from status patches),
#      NetworkPolicies (one with a part the datapath cannot enforce gets an Event)
#   2. watch events: a pod that gets its IP enters the plan, a deleted one leaves it
#   3. the API server restarts: the watches reconnect (with backoff) and resume
#   4. the controller is stopped (SIGSTOP) while the API server restarts, objects change
#      and etcd is compacted: on SIGCONT its resourceVersion is gone (410), it lists
#      again, and what vanished meanwhile is deleted from the plan
#   5. every cell of the upstream NetworkPolicy e2e tables, each case's policies applied
#      with kubectl and asked over the admin socket (swift test, KubernetesTruthTable)
#   6. node identity: agents join with projected service-account tokens, reviewed by the
#      API server (TokenReview); a token of a pod on node-x cannot join node-y, another
#      service account's, another audience's, an expired and a deleted pod's token are refused
#
#   +------------------- ns K8S (loopback only, no route) --------------------+
#   | etcd 127.0.0.1:2379   kube-apiserver 127.0.0.1:6443   weft-controller   |
#   +--------------------------------------------------------------------------+
#   weftctl and the tests reach the controller over its admin socket (a Unix socket).
#
# Needs root, a build (swift build --build-tests) and scripts/k8s/build. Exit 0 all
# passed, 1 failure, 4 skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/k8s/apiserver.sh
require_root kubernetes
BIN=.build/debug
require_built kubernetes "$BIN/weft-controller" "$BIN/weftctl" "$BIN/weft-agent"
[ -x "$K8S_BIN/kube-apiserver" ] && [ -x "$K8S_BIN/kubectl" ] || skip "kubernetes: no kube-apiserver/kubectl in $K8S_BIN (run scripts/k8s/build)"
require_cmd kubernetes etcd openssl jq curl

ID=$(printf '%04x' $RANDOM)
TMP=$(mktemp -d)
CONTROLLER=""
cleanup() {
  [ -n "$CONTROLLER" ] && { kill -CONT "$CONTROLLER"; kill -TERM "$CONTROLLER"; wait "$CONTROLLER"; } 2>/dev/null
  apiserver_down
  rm -rf "$TMP"
}
trap cleanup EXIT
apiserver_up "weft-k8s-$ID" "$TMP" || { fail "kubernetes: the API server did not start"; exit 1; }
echo "test-kubernetes: kube-apiserver $("$K8S_BIN/kube-apiserver" --version | cut -d' ' -f2) in ns $K8S_NS"

# What the controller may do, and nothing more (docs/operations.md#rbac): the ClusterRole
# of controller/deployment.yaml.
controller_rbac weft-controller | kc apply -f - > /dev/null || fail "kubernetes: RBAC not applied"

# The world of the upstream tables: namespaces x, y, z, one node each (pod CIDR
# 10.(10+i).0.0/16), pods a, b, c serving 80 and 81 on TCP, UDP and SCTP.
node_json() { echo "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$1\"},\"spec\":{$2}}"; }
node_address() { api PATCH "/api/v1/nodes/$1/status" "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$2\"}]}}" application/merge-patch+json >/dev/null; }
pod_ip() { api PATCH "/api/v1/namespaces/$1/pods/$2/status" "{\"status\":{\"podIP\":\"$3\",\"podIPs\":[{\"ip\":\"$3\"}]}}" application/merge-patch+json >/dev/null; }
pod_json() {  # pod_json NS NAME NODE
  local ports="" p
  for p in 80 81; do for proto in TCP UDP SCTP; do
    ports+="{\"name\":\"serve-$p-${proto,,}\",\"containerPort\":$p,\"protocol\":\"$proto\"},"
  done; done
  echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$2\",\"namespace\":\"$1\",\"labels\":{\"pod\":\"$2\"}},
    \"spec\":{\"nodeName\":\"$3\",\"containers\":[{\"name\":\"c\",\"image\":\"weft.local/probe:1\",\"ports\":[${ports%,}]}]}}"
}
i=0
for ns in x y z; do
  kc create namespace "$ns" > /dev/null && kc label namespace "$ns" "ns=$ns" > /dev/null
  node_json "node-$ns" "\"podCIDR\":\"10.$((10 + i)).0.0/16\",\"podCIDRs\":[\"10.$((10 + i)).0.0/16\"]" | kc create -f - > /dev/null
  node_address "node-$ns" "192.0.2.$((i + 1))"
  j=0
  for p in a b c; do
    pod_json "$ns" "$p" "node-$ns" | kc create -f - > /dev/null
    pod_ip "$ns" "$p" "10.$((10 + i)).$j.10"
    j=$((j + 1))
  done
  i=$((i + 1))
done
node_json node-late "" | kc create -f - > /dev/null
node_address node-late 192.0.2.9

cat > "$TMP/settings.yaml" <<YAML
cluster: { name: k8s-test, id: k8s-$ID, vni: 42, port: 4789, underlayMTU: 1500, uplink: uplink0 }
encryption: { enabled: false }
YAML
ADMIN=$TMP/controller/admin/admin.sock
nsenter --net="/run/netns/$K8S_NS" "$BIN/weft-controller" run --source kubernetes --kubeconfig "$TMP/controller.kubeconfig" \
  --cluster "$TMP/settings.yaml" --state-dir "$TMP/controller" --listen 127.0.0.1:7443 --join-listen 127.0.0.1:7444 \
  --metrics-listen 127.0.0.1:9465 2> "$TMP/controller.log" &
CONTROLLER=$!

check() { "$BIN/weftctl" policy check --from "$1" --to "$2" --port tcp/80 --admin-socket "$ADMIN" > /dev/null 2>&1; }
known() { check "$1" x/a; }        # the pod is in the controller's plan
unknown() { ! known "$1"; }
planned_nodes() { "$BIN/weftctl" -j status --admin-socket "$ADMIN" 2>/dev/null | jq -r '[.nodes[].name] | join(" ")'; }

# 1. The first list.
if slowwait 60 known z/c; then
  nodes=$(planned_nodes)
  [ "$nodes" = "node-x node-y node-z" ] && grep -q 'object=node node-late reason=no IPv4 pod CIDR' "$TMP/controller.log" \
    && pass "kubernetes: first list: 3 nodes and 9 pods planned; node-late (no pod CIDR) left out with the reason" \
    || fail "kubernetes: first list: nodes \"$nodes\", log: $(grep 'not planned' "$TMP/controller.log" | head -2)"
else
  fail "kubernetes: the controller never planned z/c: $(tail -3 "$TMP/controller.log")"
fi
event_for() {  # event_for NS KIND NAME REASON: such an Event exists
  [ "$(kc get events -n "$1" -o json 2>/dev/null | jq --arg k "$2" --arg n "$3" --arg r "$4" \
    '[.items[] | select(.involvedObject.kind == $k and .involvedObject.name == $n and .reason == $r and .type == "Warning")] | length')" -gt 0 ]
}
slowwait 30 event_for default Node node-late WeftNotPlanned \
  && [ "$(ip netns exec "$K8S_NS" curl -s --max-time 5 http://127.0.0.1:9465/metrics 2>/dev/null | sed -n 's/^weft_controller_objects_not_planned //p')" = 1.0 ] \
  && pass "kubernetes: a Warning Event WeftNotPlanned on node-late says why it is not planned; weft_controller_objects_not_planned 1" \
  || fail "kubernetes: no WeftNotPlanned event on node-late: $(kc get events -A 2>&1 | tail -3)"
kc apply -f - > /dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: by-name, namespace: z}
spec:
  podSelector: {matchLabels: {pod: c}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.10.0.0/16}}], ports: [{port: serve-80-tcp}]}]
YAML
slowwait 30 event_for z NetworkPolicy by-name WeftPolicyNotEnforced \
  && pass "kubernetes: a policy with a part the datapath does not enforce (a named port toward an ipBlock) gets a WeftPolicyNotEnforced Event ($(kc get events -n z -o json | jq -r '[.items[] | select(.reason == "WeftPolicyNotEnforced")][0].message'))" \
  || fail "kubernetes: no WeftPolicyNotEnforced event on z/by-name"
kc delete networkpolicy -n z by-name > /dev/null
api PATCH /api/v1/nodes/node-late '{"spec":{"podCIDR":"10.20.0.0/16","podCIDRs":["10.20.0.0/16"]}}' application/merge-patch+json > /dev/null
nodes_are() { [ "$(planned_nodes)" = "$1" ]; }
slowwait 30 nodes_are "node-late node-x node-y node-z" \
  && pass "kubernetes: node-late is planned as soon as it has a pod CIDR" || fail "kubernetes: node-late not planned: $(planned_nodes)"

# 2. Watch events.
# whose pod an address is, in the controller's plan ("" for none)
owner_of() { "$BIN/weftctl" -j policy check --from x/a --to "$1" --port tcp/80 --admin-socket "$ADMIN" 2>/dev/null | jq -r '.ingress.pod // ""'; }
owned_by() { [ "$(owner_of "$1")" = "$2" ]; }
pod_json x late node-x | kc create -f - > /dev/null
if slowwait 30 known x/late && owned_by 10.10.9.10 ""; then
  pass "kubernetes: a scheduled pod enters the plan before it has an IP (its node learns its identity for weft-cni ADD), without an address"
else
  fail "kubernetes: x/late before its IP: $(known x/late && echo planned || echo 'not planned'), 10.10.9.10 is $(owner_of 10.10.9.10)'s"
fi
pod_ip x late 10.10.9.10
slowwait 30 owned_by 10.10.9.10 x/late && pass "kubernetes: its address enters the plan when the IP appears (status patch)" \
  || fail "kubernetes: 10.10.9.10 never became x/late's: $(owner_of 10.10.9.10)"
kc delete pod -n x late --grace-period=0 --force > /dev/null 2>&1
slowwait 30 unknown x/late && pass "kubernetes: a deleted pod leaves the plan" || fail "kubernetes: x/late still planned after its deletion"

# 3. The API server restarts under the watches.
apiserver_restart || fail "kubernetes: the API server did not restart"
pod_json y after-restart node-y | kc create -f - > /dev/null && pod_ip y after-restart 10.11.9.10
slowwait 60 known y/after-restart && pass "kubernetes: after an API server restart the watches resume (a pod created then is planned)" \
  || fail "kubernetes: nothing seen after the restart: $(grep -E 'failed|gone' "$TMP/controller.log" | tail -2)"

# 4. Compacted away while the controller was stopped: 410, a relist, synthesised deletes.
kill -STOP "$CONTROLLER"
apiserver_restart
kc delete pod -n y after-restart --grace-period=0 --force > /dev/null 2>&1
pod_json z while-stopped node-z | kc create -f - > /dev/null && pod_ip z while-stopped 10.12.9.10
for n in $(seq 5); do kc annotate namespace z "bump=$n" --overwrite > /dev/null; done
rev=$(etcd_compact)
kill -CONT "$CONTROLLER"
if slowwait 90 known z/while-stopped && unknown y/after-restart && grep -q "resource version gone; listing again" "$TMP/controller.log"; then
  pass "kubernetes: after etcd compaction (revision $rev) the controller got 410, listed again, planned the new pod and deleted the vanished one"
else
  fail "kubernetes: after compaction: z/while-stopped $(known z/while-stopped && echo planned || echo missing), y/after-restart $(known y/after-restart && echo 'still planned' || echo gone); $(grep -cE 'gone' "$TMP/controller.log") 410s in the log"
fi
kc delete pod -n z while-stopped --grace-period=0 --force > /dev/null 2>&1

# 5. The upstream tables through kubectl and the controller.
WEFT_TEST_K8S_NETNS=$K8S_NS WEFT_TEST_KUBECTL="$K8S_BIN/kubectl" WEFT_TEST_KUBECONFIG="$TMP/admin.kubeconfig" WEFT_TEST_ADMIN_SOCKET=$ADMIN \
  swift test --skip-build --filter KubernetesTruthTable > "$TMP/tables.log" 2>&1
# Its result line, for the summary: the main swift test run skips this test (no API server there).
grep -aE '^(✔|✘|➜) Test "every cell of every table, the policies created with kubectl"' "$TMP/tables.log"
if grep -q "✔ Test \"every cell" "$TMP/tables.log"; then
  pass "kubernetes: every cell of the upstream NetworkPolicy tables, the policies created with kubectl: $(grep -oE '[0-9]+ cases, [0-9]+ cells' "$TMP/tables.log" | head -1)"
else
  fail "kubernetes: the upstream tables through the API server: $(grep -E '✘|cells wrong|Expectation' "$TMP/tables.log" | head -3)"
fi
# 6. Node identity from the API: agents join with their pods' projected service-account
# tokens (audience weft), reviewed by the API server; a token proves only its own pod's node.
kc create namespace weft-system > /dev/null
for sa in weft-agent intruder; do kc -n weft-system create serviceaccount "$sa" > /dev/null; done
agent_pod() {  # agent_pod NAME NODE SERVICEACCOUNT
  echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"weft-system\"},
    \"spec\":{\"nodeName\":\"$2\",\"serviceAccountName\":\"$3\",\"containers\":[{\"name\":\"agent\",\"image\":\"weft.local/probe:1\"}]}}" | kc create -f - > /dev/null
}
agent_pod agent-x node-x weft-agent; agent_pod agent-y node-y weft-agent; agent_pod intruder-x node-x intruder
sa_token() {  # sa_token SERVICEACCOUNT POD [AUDIENCE] -> a token bound to the pod, in a 0600 file
  local uid f=$TMP/sa-$1-$2-${3:-weft}.token
  uid=$(kc -n weft-system get pod "$2" -o jsonpath='{.metadata.uid}')
  (umask 077; api POST "/api/v1/namespaces/weft-system/serviceaccounts/$1/token" \
    "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{\"audiences\":[\"${3:-weft}\"],\"expirationSeconds\":600,\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":\"$2\",\"uid\":\"$uid\"}}}" \
    | jq -r .status.token > "$f")
  echo "$f"
}
join_as() {  # join_as NODE TOKEN_FILE -> 0 when the agent got a certificate, 1 when refused
  local state=$TMP/join-$1-$RANDOM agent
  nsenter --net="/run/netns/$K8S_NS" "$BIN/weft-agent" run --controller 127.0.0.1:7443 --join 127.0.0.1:7444 --node "$1" \
    --ca "$TMP/controller/ca.crt" --token-file "$2" --state-dir "$state" --metrics-port 9470 2> "$state.log" &
  agent=$!
  finished() { [ -s "$state/node.crt" ] || ! kill -0 "$agent" 2>/dev/null; }
  slowwait 30 finished
  kill "$agent" 2>/dev/null; wait "$agent" 2>/dev/null
  [ -s "$state/node.crt" ]
}
refused_for() { grep "join-refused" "$TMP/controller/audit.log" | grep -c "$1"; }
certs_before=$("$BIN/weftctl" -j status --admin-socket "$ADMIN" | jq '[.nodes[] | select(.certificate_expires != null)] | length')
own=$(sa_token weft-agent agent-x)
join_as node-y "$own"; other_node=$?
join_as node-x "$(sa_token intruder intruder-x)"; intruder=$?
join_as node-x "$(sa_token weft-agent agent-x other-audience)"; audience=$?
# expired_token SERVICEACCOUNT POD: a token exactly like the API server's own (signed with
# its service-account key, bound to the pod), but one that expired a minute ago: the API
# server's shortest token lives 10 minutes, so the test signs this one itself.
expired_token() {
  local sa_uid pod_uid f=$TMP/expired-$1-$2.token
  sa_uid=$(kc -n weft-system get serviceaccount "$1" -o jsonpath='{.metadata.uid}')
  pod_uid=$(kc -n weft-system get pod "$2" -o jsonpath='{.metadata.uid}')
  (umask 077; python3 - "$TMP/sa.key" "$1" "$sa_uid" "$2" "$pod_uid" > "$f" <<'PY'
import base64, json, subprocess, sys, time
key, sa, sa_uid, pod, pod_uid = sys.argv[1:]
b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
now = int(time.time())
claims = {"iss": "https://kubernetes.default.svc", "aud": ["weft"], "sub": f"system:serviceaccount:weft-system:{sa}",
          "iat": now - 720, "nbf": now - 720, "exp": now - 60,
          "kubernetes.io": {"namespace": "weft-system", "serviceaccount": {"name": sa, "uid": sa_uid}, "pod": {"name": pod, "uid": pod_uid}}}
signing_input = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(), capture_output=True, check=True).stdout
print(signing_input + "." + b64(signature))
PY
  )
  echo "$f"
}
join_as node-x "$(expired_token weft-agent agent-x)"; expired=$?
gone=$(sa_token weft-agent agent-y); kc -n weft-system delete pod agent-y --grace-period=0 --force > /dev/null 2>&1
join_as node-y "$gone"; deleted=$?
certs_refused=$("$BIN/weftctl" -j status --admin-socket "$ADMIN" | jq '[.nodes[] | select(.certificate_expires != null)] | length')
if [ "$other_node" = 1 ] && [ "$intruder" = 1 ] && [ "$audience" = 1 ] && [ "$expired" = 1 ] && [ "$deleted" = 1 ] \
   && [ "$certs_refused" = "$certs_before" ] \
   && [ "$(refused_for 'runs on node-x, not on node-y')" -ge 1 ] && [ "$(refused_for 'intruder')" -ge 1 ] \
   && [ "$(refused_for 'not accept the token')" -ge 3 ] && [ "$(refused_for 'Token has expired')" -ge 1 ] \
   && [ "$(refused_for 'Token has been invalidated')" -ge 1 ]; then
  pass "kubernetes: service-account joins refused, each audited with its reason and no certificate issued: agent-x's token for node-y, another service account's, another audience's, an expired one, a deleted pod's"
else
  fail "kubernetes: refusals: node-y with agent-x's token $other_node, intruder $intruder, audience $audience, expired $expired, deleted pod $deleted (1 = refused); certificates $certs_before -> $certs_refused; audit: $(grep join-refused "$TMP/controller/audit.log" | tail -4 | cut -c1-300)"
fi
if join_as node-x "$own"; then
  pass "kubernetes: agent-x's projected token (audience weft, bound to its pod on node-x) joins node-x: TokenReview and the pod checked, no join token"
else
  fail "kubernetes: the agent with its own token was refused: $(grep join-refused "$TMP/controller/audit.log" | tail -1 | cut -c1-300)"
fi
grep -qF "$(cat "$own")" "$TMP/controller.log" "$TMP/controller/audit.log" && fail "kubernetes: a service-account token appears in the controller's log or audit"

if grep -qE "$ADMIN_TOKEN|$CONTROLLER_TOKEN" "$TMP/controller.log"; then fail "kubernetes: a token appears in the controller's log"
else pass "kubernetes: no API token in the controller's log"; fi
exit "$ksft_rc"
