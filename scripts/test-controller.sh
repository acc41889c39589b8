#!/usr/bin/env bash
# weft-controller and two weft-agents, end to end over real TLS on loopback: the agents
# join with tokens, watch their desired state, program their node namespaces, and pods
# on the two nodes reach each other. Then: the controller goes away (the datapath stays),
# comes back with the same state (the agents reconnect with their certificates), an
# operator's `weftctl revoke node2` cuts node2 off (the cluster file saying the same
# later changes nothing), and the audit log verifies offline. `weftctl status` and both
# daemons' /metrics are checked against what happened.
# Where the kernel has ESP the cluster is encrypted, and keys rotate every 4 s under a
# continuous ping that must lose nothing.
#
#        +------------- ns SW: bridge br0 (underlay 192.0.2.0/24) -------------+
#        |                                                                      |
#   +----+-----------------------+                          +--------------------+-----+
#   | ns N1 uplink0 192.0.2.1    |                          | ns N2 uplink0 192.0.2.2  |
#   | weft0 (by weft-agent)      |                          | weft0 (by weft-agent)    |
#   | veth -> pod 10.244.1.10    |                          | veth -> pod 10.244.2.10  |
#   +----------------------------+                          +--------------------------+
#   weft-controller and both weft-agent processes run in the root namespace; the agents
#   program their node's namespace (-n) and talk to the controller on 127.0.0.1.
#
# Needs root and a build (swift build). Exit 0 all passed, 1 failure, 4 skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_root controller
BIN=.build/debug
require_built controller "$BIN/weft-controller" "$BIN/weft-agent" "$BIN/weftctl"
esp_mode
ENC=$([ "$ENCRYPT" = 1 ] && echo true || echo false)
# Encrypted: a new key epoch every 4 s, so rotations run under the traffic below.
ROTATE=$([ "$ENCRYPT" = 1 ] && echo 4 || echo 0)
echo "test-controller: encryption $ENC (kernel $(uname -r))"

ID=$(printf '%04x' $RANDOM)
SW=weft-csw-$ID
node() { echo "weft-cn$1-$ID"; }
pod() { echo "weft-cp$1-$ID"; }
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  for n in 1 2; do ip netns del "$(node $n)" 2>/dev/null; ip netns del "$(pod $n)" 2>/dev/null; done
  ip netns del "$SW" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

underlay_switch "$SW"
for n in 1 2; do
  underlay_host "$SW" "$(node $n)" "$n"
  attach_pod "$(node $n)" "$(pod $n)" "10.244.$n.10" veth0
done

cluster() {  # cluster [REVOKED]
  cat > "$TMP/cluster.yaml.new" <<YAML
cluster: { name: e2e, id: e2e-$ID, vni: 42, port: 4789, underlayMTU: 1500, uplink: uplink0 }
encryption: { enabled: $ENC, rotationSeconds: $ROTATE }
nodes:
  - { name: node1, underlay: 192.0.2.1, podCIDR: 10.244.1.0/24 }
  - { name: node2, underlay: 192.0.2.2, podCIDR: 10.244.2.0/24 }
pods:
  - { name: a, node: node1, address: 10.244.1.10, labels: { app: a } }
  - { name: b, node: node2, address: 10.244.2.10, labels: { app: b } }
revoked: [ ${1:-} ]
YAML
  mv "$TMP/cluster.yaml.new" "$TMP/cluster.yaml"
}
cluster
PORT=$((20000 + RANDOM % 20000)) JPORT=$((PORT + 1)) MPORT=$((PORT + 4))
ADMIN="$TMP/controller/admin/admin.sock"
start_controller() {
  "$BIN/weft-controller" run --cluster "$TMP/cluster.yaml" --state-dir "$TMP/controller" \
    --listen "127.0.0.1:$PORT" --join-listen "127.0.0.1:$JPORT" --metrics-listen "127.0.0.1:$MPORT" 2>> "$TMP/controller.log" &
  CONTROLLER=$!
  PIDS+=("$CONTROLLER")
  for _ in $(seq 300); do [ -s "$TMP/controller/ca.crt" ] && [ -S "$ADMIN" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
start_controller || { fail "controller: weft-controller did not start: $(tail -3 "$TMP/controller.log")"; exit 1; }

for n in 1 2; do
  token=$("$BIN/weftctl" token create --node "node$n" --ttl 5m --state-dir "$TMP/controller" 2>/dev/null)
  "$BIN/weft-agent" run --controller "127.0.0.1:$PORT" --join "127.0.0.1:$JPORT" --node "node$n" --ca "$TMP/controller/ca.crt" \
    --token "$token" --state-dir "$TMP/agent$n" -n "$(node $n)" --metrics-port $((PORT + 1 + n)) --resync 5 2> "$TMP/agent$n.log" &
  PIDS+=($!)
done
reach() { ip netns exec "$(pod "$1")" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }
converged=""
for i in $(seq 40); do
  if reach 1 10.244.2.10 && reach 2 10.244.1.10; then converged=$i; break; fi
  sleep 0.5
done
if [ -n "$converged" ]; then
  pass "controller: two agents joined with tokens, watched their state, and pods reach each other (after ~$((converged / 2)) s, encryption $ENC)"
else
  fail "controller: no pod connectivity; agent1: $(tail -2 "$TMP/agent1.log" | tr '\n' ' ') controller: $(tail -2 "$TMP/controller.log" | tr '\n' ' ')"
fi
modes=$(stat -c '%a' "$TMP/agent1/node.key" "$TMP/agent1/kex.key" "$TMP/controller/ca.key" "$TMP/controller/tokens.json" | tr '\n' ' ')
[ "$modes" = "600 600 600 600 " ] && pass "controller: private keys and the token store are mode 0600" || fail "controller: file modes $modes"
if grep -qiE "weft-join\.[0-9a-f]+\.[0-9a-f]{32}|PRIVATE KEY" "$TMP"/*.log; then fail "controller: a secret appears in a log"
else pass "controller: no token secret or private key in the controller's or the agents' logs"; fi

# weftctl status over the admin socket: both nodes connected, and (once the agents'
# acknowledgements are in) no revision lag. The metrics say the same.
lagfree=""
for _ in $(seq 40); do
  "$BIN/weftctl" -j status --admin-socket "$ADMIN" > "$TMP/status.json" 2>"$TMP/status.err" || true
  if python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["nodes"]; sys.exit(0 if len(n)==2 and all(x["connected"] and (x["lag"]==0 or (sys.argv[2]=="1" and x["applied_revision"]>0)) for x in n) else 1)' "$TMP/status.json" "$ENCRYPT" 2>/dev/null
  then lagfree=1; break; fi
  sleep 0.25
done
sock_mode=$(stat -c '%a' "$ADMIN" 2>/dev/null)
if [ -n "$lagfree" ] && [ "$sock_mode" = 600 ]; then
  pass "controller: weftctl status over the 0600 admin socket: 2 nodes connected, revision lag 0 ($("$BIN/weftctl" status --admin-socket "$ADMIN" | tail -1 | tr -s ' '))"
else
  fail "controller: weftctl status (socket mode ${sock_mode:-none}): $(cat "$TMP/status.json" "$TMP/status.err" 2>/dev/null | head -c 300)"
fi
cmetrics=$(curl -s "http://127.0.0.1:$MPORT/metrics") ametrics=$(curl -s "http://127.0.0.1:$((PORT + 2))/metrics")
if grep -q '^weft_controller_connected_agents 2' <<<"$cmetrics" && grep -q '^weft_controller_certificates_issued_total 2' <<<"$cmetrics" \
   && grep -q '^weft_controller_convergence_seconds_count [1-9]' <<<"$cmetrics" && grep -q '^weft_agent_controller_connected 1' <<<"$ametrics" \
   && grep -q '^weft_agent_controller_snapshots_total [1-9]' <<<"$ametrics" && [ "$(curl -s "http://127.0.0.1:$MPORT/healthz")" = ok ]; then
  pass "controller: /metrics: 2 connected agents, 2 certificates issued, convergence observed; agent1 connected with a snapshot; /healthz ok"
else
  fail "controller: metrics: $(grep -E '^weft_controller_(connected|certificates_issued|convergence_seconds_count)' <<<"$cmetrics" | tr '\n' ' ') / $(grep '^weft_agent_controller' <<<"$ametrics" | tr '\n' ' ')"
fi

if [ "$ENCRYPT" = 1 ]; then
  # Continuous traffic across several controller-driven rotations (make-before-break,
  # advanced by the agents' acknowledgements): no ping may be lost.
  epoch() { ip -n "$(node 1)" xfrm state | sed -nE 's/.*spi 0x([0-9a-f]{2})[0-9a-f]{6}.*/\1/p' | sort -u | tail -1; }
  e0=$(epoch)
  ip netns exec "$(pod 1)" ping -i 0.05 -c 300 -q 10.244.2.10 > "$TMP/ping-rotation" 2>&1
  e1=$(epoch)
  loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' "$TMP/ping-rotation")
  esp=$(ip -n "$(node 1)" -s xfrm state | grep -cE "^ +[0-9]+\(bytes\), [1-9][0-9]*\(packets\)")
  if [ "$loss" = 0 ] && [ -n "$e0" ] && [ -n "$e1" ] && [ $((16#$e1)) -gt $((16#$e0)) ]; then
    pass "controller: key epochs rotated under 300 pings (SPI epoch byte 0x$e0 -> 0x$e1) with 0% loss"
  else
    fail "controller: rotation under traffic: loss ${loss:-?}%, epoch 0x${e0:-?} -> 0x${e1:-?}, $esp SAs with traffic"
  fi
fi

# The controller goes away: the datapath keeps working.
kill -TERM "$CONTROLLER"; wait "$CONTROLLER" 2>/dev/null
ip netns exec "$(pod 1)" ping -i 0.05 -c 60 -q 10.244.2.10 > "$TMP/ping-outage" 2>&1
loss=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' "$TMP/ping-outage")
[ "$loss" = 0 ] && grep -q "controller unreachable" "$TMP/agent1.log" \
  && pass "controller: with the controller down the agents keep the last state: 60 pings, 0% loss" \
  || fail "controller: outage: loss ${loss:-?}%, agent log: $(tail -1 "$TMP/agent1.log")"

# It comes back with the same state directory; the agents reconnect with their certificates.
start_controller || fail "controller: restart failed"
for _ in $(seq 60); do grep -q "revision" "$TMP/controller.log" 2>/dev/null; sleep 0.5
  [ "$(grep -c 'controller unreachable' "$TMP/agent1.log")" -ge 1 ] && break; done
sleep 3

# node1 "reboots": its agent stops, the kernel forgets node1's overlay and SAs, and the
# boot id changes. The restarted agent must bring its new incarnation to the controller
# (a renewal at once), so both nodes derive new keys: traffic resumes within seconds and
# the SA ledger, which never installs a key twice, has nothing to refuse.
sa_keys() { ip -n "$(node 1)" xfrm state 2>/dev/null | sed -nE 's/.*aead rfc4106\(gcm\(aes\)\) (0x[0-9a-f]+).*/\1/p' | sort -u; }
keys_before=$(sa_keys)
agent1_pid=$(pgrep -f -- "--state-dir $TMP/agent1 " | head -1)
kill -TERM "$agent1_pid" 2>/dev/null; for _ in $(seq 50); do kill -0 "$agent1_pid" 2>/dev/null || break; sleep 0.1; done
ip -n "$(node 1)" xfrm state flush; ip -n "$(node 1)" xfrm policy flush; ip -n "$(node 1)" link del weft0 2>/dev/null
old_incarnation=$(cut -d' ' -f2 "$TMP/agent1/incarnation")
echo "00000000-0000-4000-8000-000000000000 $old_incarnation" > "$TMP/agent1/incarnation"
"$BIN/weft-agent" run --controller "127.0.0.1:$PORT" --join "127.0.0.1:$JPORT" --node node1 --ca "$TMP/controller/ca.crt" \
  --state-dir "$TMP/agent1" -n "$(node 1)" --metrics-port $((PORT + 2)) --resync 5 2>> "$TMP/agent1.log" &
PIDS+=($!)
resumed=""
for i in $(seq 60); do
  if reach 1 10.244.2.10 && reach 2 10.244.1.10; then resumed=$i; break; fi
  sleep 0.5
done
new_incarnation=$(cut -d' ' -f2 "$TMP/agent1/incarnation")
if [ -n "$resumed" ] && [ "$new_incarnation" != "$old_incarnation" ] \
   && grep -q "\"incarnation\":\"$new_incarnation\".*\"event\":\"renew\"" "$TMP/controller/audit.log" \
   && [ -z "$(comm -12 <(echo "$keys_before") <(sa_keys) | grep .)" ]; then
  pass "controller: node1 rebooted (kernel state gone, new boot): its new incarnation reached the controller and traffic resumed after ~$((resumed / 2)) s; no SA key of the old boot installed again ($(sa_keys | grep -c .) SAs now)"
else
  fail "controller: reboot: resumed=${resumed:-no}, incarnation $old_incarnation -> $new_incarnation, audit: $(grep -c '"renew"' "$TMP/controller/audit.log") renewals; agent1: $(tail -2 "$TMP/agent1.log" | tr '\n' ' ')"
fi

start=$(date +%s%N)
revoke_out=$("$BIN/weftctl" revoke node2 --admin-socket "$ADMIN" 2>&1)
cut=""
for i in $(seq 40); do
  if ! reach 1 10.244.2.10; then cut=$(( ($(date +%s%N) - start) / 1000000 )); break; fi
  sleep 0.25
done
if [ -n "$cut" ]; then
  pass "controller: after a controller restart, weftctl revoke node2 (\"$revoke_out\") cuts node2 off at node1 in $cut ms"
else
  fail "controller: revocation of node2 not enforced at node1 ($revoke_out; $(tail -2 "$TMP/controller.log" | tr '\n' ' '))"
fi
# The cluster file catching up changes nothing; the revocation stays in force.
cluster node2
sleep 1.5
state=$("$BIN/weftctl" -j status --admin-socket "$ADMIN" \
  | python3 -c 'import json,sys; print(" ".join(n["name"] + ":" + ("revoked" if n["revoked"] else "ok") for n in json.load(sys.stdin)["nodes"]))')
again=$("$BIN/weftctl" revoke node2 --admin-socket "$ADMIN" 2>&1)
if [ "$state" = "node1:ok node2:revoked" ] && [ "$again" = "node2 was revoked already" ] && ! reach 1 10.244.2.10; then
  pass "controller: weftctl status shows node2 revoked; revoking again changes nothing"
else
  fail "controller: after revocation: status \"$state\", revoke again: \"$again\""
fi

kill -TERM "$CONTROLLER"; wait "$CONTROLLER" 2>/dev/null
verify=$("$BIN/weftctl" audit verify "$TMP/controller/audit.log" --ca "$TMP/controller/ca.crt" 2>&1)
if [[ $verify == *"chain intact"* ]] && grep -q '"event":"issue"' "$TMP/controller/audit.log" \
   && python3 -c 'import json,sys; sys.exit(0 if any(e["event"] == "revoke" and e["detail"].get("reason") == "operator" for e in map(json.loads, open(sys.argv[1]))) else 1)' "$TMP/controller/audit.log"; then
  pass "controller: the audit log (issues, the operator's revocation) verifies offline (${verify##*: })"
else
  fail "controller: audit: $verify"
fi
exit "$ksft_rc"
