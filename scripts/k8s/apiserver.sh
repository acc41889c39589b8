# shellcheck shell=bash
# A real kube-apiserver (v1.20.2, scripts/k8s/build) with etcd, for tests and benchmarks:
# both run inside a network namespace of their own with only loopback up (no route
# anywhere), so nothing they do leaves the machine (../shared/k8s/README.md, network
# safety). Sourced after scripts/lib.sh.
#
#   apiserver_up NS DIR      netns NS, CA and serving certificate, tokens, etcd and
#                            kube-apiserver on 127.0.0.1 inside NS; DIR/admin.kubeconfig
#                            (system:masters) and DIR/controller.kubeconfig (user
#                            weft-controller, RBAC as granted by the caller)
#   apiserver_restart        kill kube-apiserver and start it again (etcd keeps the data)
#   apiserver_down           stop both, delete NS (DIR is the caller's)
#   kc ARGS...               kubectl v1.20.2 against it, as admin
#   api METHOD PATH [JSON]   one raw API call as admin (curl, bounded time)
#   etcd_compact             compact etcd at its current revision (old versions are gone)
#   controller_rbac USER     (scripts/k8s/rbac.sh, sourced here) the controller's ClusterRole bound to USER

. scripts/k8s/rbac.sh
K8S_BIN=${K8S_BIN:-${WEFT_K8S_CACHE:-/var/cache/weft/k8s}/bin}
APISERVER_PORT=6443 ETCD_PORT=2379
APISERVER_PID="" ETCD_PID=""

apiserver_up() {
  K8S_NS=$1 K8S_DIR=$2
  ip netns add "$K8S_NS" && ip -n "$K8S_NS" link set lo up || return 1
  local d=$K8S_DIR
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$d/ca.key" -out "$d/ca.crt" -subj /CN=weft-test-ca 2>/dev/null || return 1
  openssl req -newkey rsa:2048 -nodes -keyout "$d/tls.key" -out "$d/tls.csr" -subj /CN=127.0.0.1 2>/dev/null || return 1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/san.ext"
  openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 -extfile "$d/san.ext" -out "$d/tls.crt" 2>/dev/null || return 1
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null && openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null || return 1
  ADMIN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') CONTROLLER_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  (umask 077; printf '%s,admin,1,"system:masters"\n%s,weft-controller,2\n' "$ADMIN_TOKEN" "$CONTROLLER_TOKEN" > "$d/tokens.csv")
  for who in admin controller; do
    local token=$ADMIN_TOKEN; [ "$who" = controller ] && token=$CONTROLLER_TOKEN
    (umask 077; cat > "$d/$who.kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: test
clusters: [{name: test, cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: ca.crt}}]
contexts: [{name: test, context: {cluster: test, user: $who}}]
users: [{name: $who, user: {token: "$token"}}]
YAML
    )
  done
  nsenter --net="/run/netns/$K8S_NS" /usr/bin/etcd --name weft-test --data-dir "$d/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "weft-test=http://127.0.0.1:$((ETCD_PORT + 1))" > "$d/etcd.log" 2>&1 &
  ETCD_PID=$!
  slowwait 30 ip netns exec "$K8S_NS" curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" -o /dev/null || { echo "etcd did not start: $(tail -2 "$d/etcd.log")" >&2; return 1; }
  apiserver_start
}

apiserver_start() {
  local d=$K8S_DIR
  nsenter --net="/run/netns/$K8S_NS" "$K8S_BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
    --tls-cert-file="$d/tls.crt" --tls-private-key-file="$d/tls.key" --client-ca-file="$d/ca.crt" \
    --token-auth-file="$d/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$d/sa.pub" \
    --service-account-signing-key-file="$d/sa.key" --api-audiences=https://kubernetes.default.svc,weft \
    --service-cluster-ip-range=10.96.0.0/12 --disable-admission-plugins=ServiceAccount >> "$d/apiserver.log" 2>&1 &
  APISERVER_PID=$!
  slowwait 90 api_ready || { echo "kube-apiserver did not become ready: $(tail -3 "$d/apiserver.log")" >&2; return 1; }
}

api_ready() { [ "$(ip netns exec "$K8S_NS" curl -s --max-time 2 --cacert "$K8S_DIR/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" "https://127.0.0.1:$APISERVER_PORT/readyz")" = ok ]; }

apiserver_restart() {
  kill -TERM "$APISERVER_PID" 2>/dev/null; wait "$APISERVER_PID" 2>/dev/null
  apiserver_start
}

apiserver_down() {
  for p in $APISERVER_PID $ETCD_PID; do kill -TERM "$p" 2>/dev/null; done
  for p in $APISERVER_PID $ETCD_PID; do wait "$p" 2>/dev/null; done
  [ -n "${K8S_NS:-}" ] && ip netns del "$K8S_NS" 2>/dev/null
  return 0
}

kc() { ip netns exec "$K8S_NS" "$K8S_BIN/kubectl" --kubeconfig "$K8S_DIR/admin.kubeconfig" --request-timeout=20s "$@"; }

api() {
  local method=$1 path=$2 body=${3:-} type=${4:-application/json}
  ip netns exec "$K8S_NS" curl -sS --max-time 20 --cacert "$K8S_DIR/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -X "$method" -H "Content-Type: $type" ${body:+--data "$body"} "https://127.0.0.1:$APISERVER_PORT$path"
}

etcd_compact() {
  local rev
  rev=$(ip netns exec "$K8S_NS" curl -s --max-time 5 -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA=="}' | jq -r .header.revision)
  ip netns exec "$K8S_NS" curl -s --max-time 20 -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
  echo "$rev"
}
