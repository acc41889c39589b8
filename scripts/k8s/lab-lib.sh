# shellcheck shell=bash
# scripts/lab's pieces (sourced after scripts/lib.sh): the lab's state lives in $LAB; every
# process it starts is recorded there (name and PID) and every change outside it (host
# directories it had to create, sysctls kubelet sets, cgroups) is noted there, so that
# `lab down` removes exactly what `lab up` made.

. scripts/k8s/rbac.sh
K8S_BIN=${K8S_BIN:-${WEFT_K8S_CACHE:-/var/cache/weft/k8s}/bin}
LAB=/run/weft-lab
LAB_LOCK=/run/weft-lab.lock
SW=weft-lab-sw CP=weft-lab-cp
API_ADDR=192.0.2.254 API_PORT=6443
BIN=${WEFT_BIN:-$REPO/.build/debug}
# kubelet sets these host-wide; the lab puts them back.
LAB_SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes"
# Paths kubelet and containerd use whatever their flags say; per node they are bind mounts
# in the node's own mount namespace, but the mount points must exist on the host.
LAB_HOST_DIRS="/var/log/pods /var/log/containers /var/lib/kubelet /var/lib/cni"
# containerd's shims put their sockets under /run/containerd whatever the configuration.
LAB_MADE_DIRS="$LAB_HOST_DIRS /run/containerd"

node_ns() { echo "weft-lab-n$1"; }
lab_log() { printf '[%5ds] %s\n' "$((SECONDS - LAB_T0))" "$*"; }
LAB_T0=$SECONDS

# lab_start NAME CMD...: a daemon in its own session, PID recorded (the command must exec,
# as nsenter does, so that $! is the daemon).
lab_start() {
  local name=$1; shift
  setsid "$@" >> "$LAB/$name.log" 2>&1 < /dev/null 8>&- &  # not the lock (fd 8): it is held while up/down runs only
  echo "$name $!" >> "$LAB/pids"
}
lab_pid() { awk -v n="$1" '$1 == n { print $2 }' "$LAB/pids" 2>/dev/null | tail -1; }
in_cp() { nsenter --net="/run/netns/$CP" "$@"; }
# in_node N CMD...: in node N's network and mount namespaces (where its containerd, kubelet
# and agent live: pod namespaces are mounted there).
in_node() { local n=$1; shift; nsenter --mount="$LAB/n$n/mnt" --net="/run/netns/$(node_ns "$n")" "$@"; }

lab_kubectl() { in_cp "$K8S_BIN/kubectl" --kubeconfig "$LAB/admin.kubeconfig" --request-timeout=20s "$@"; }
lab_api() {  # lab_api METHOD PATH [JSON] -> the body; bounded in time
  in_cp curl -sS --max-time 10 --cacert "$LAB/ca.crt" -H "Authorization: Bearer $(cat "$LAB/admin.token")" \
    -X "$1" -H "Content-Type: ${4:-application/json}" ${3:+--data "$3"} "https://$API_ADDR:$API_PORT$2"
}
lab_require_up() { [ -f "$LAB/state" ] || { echo "lab: no lab is up (scripts/lab up)" >&2; return 1; }; }

lab_check_tools() {
  local missing=()
  for b in kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler pause; do [ -x "$K8S_BIN/$b" ] || missing+=("$K8S_BIN/$b"); done
  for b in weft-controller weft-agent weftctl weft-cni weft-probe; do [ -x "$BIN/$b" ] || missing+=("$BIN/$b"); done
  for c in etcd containerd runc ctr openssl curl jq python3 busybox; do command -v "$c" >/dev/null || missing+=("$c"); done
  [ -x /usr/lib/cni/loopback ] || missing+=(/usr/lib/cni/loopback)
  (cd "$REPO" && scripts/build-bpf --check >/dev/null) || missing+=("up-to-date eBPF objects in $REPO/.build/bpf (scripts/build-bpf)")
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "lab: missing ${missing[*]} (scripts/k8s/build installs and builds Kubernetes; swift build builds Weft)" >&2
  return 1
}

# lab_build: what a first run needs and does not have yet, with the builders' progress:
# Kubernetes and the packages (scripts/k8s/build, cached; ~10 minutes cold), the eBPF
# objects, Weft (swift build).
lab_build() {
  local b missing=0
  for b in kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler pause; do [ -x "$K8S_BIN/$b" ] || missing=1; done
  if [ "$missing" = 1 ] || ! command -v containerd >/dev/null; then
    lab_log "building Kubernetes v1.20.2 and installing containerd, runc, etcd (first run; cached in ${K8S_BIN%/bin})"
    scripts/k8s/build >/dev/null || return 1
  fi
  (cd "$REPO" && scripts/build-bpf --check >/dev/null) || { lab_log "building the eBPF objects"; (cd "$REPO" && scripts/build-bpf >/dev/null) || return 1; }
  for b in weft-controller weft-agent weftctl weft-cni weft-probe; do
    [ -x "$BIN/$b" ] && continue
    lab_log "building Weft (swift build; minutes the first time)"
    PATH="$PATH:/opt/swift/usr/bin" swift build 2>&1 | grep -E '^(Compiling|Build|error)' | tail -3 || return 1
    break
  done
}

# The images every node has: weft.local/pause:3.2 (the sandbox) and weft.local/busybox:1,
# docker-archive tarballs made from directories (no registry, no Docker).
lab_images() {
  local img=$LAB/images r
  mkdir -p "$img/pause" "$img/busybox/bin" "$img/busybox/etc" "$img/busybox/tmp"
  cp "$K8S_BIN/pause" "$img/pause/pause"
  python3 scripts/k8s/image.py "$img/pause" weft.local/pause:3.2 "$img/pause.tar" --entrypoint '["/pause"]' || return 1
  r=$img/busybox
  cp "$(command -v busybox)" "$r/bin/busybox"
  for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"; echo 'root:x:0:' > "$r/etc/group"; chmod 1777 "$r/tmp"
  python3 scripts/k8s/image.py "$r" weft.local/busybox:1 "$img/busybox.tar" --cmd '["sh"]' || return 1
  # weft.local/probe:1: busybox and weft-probe (with the libraries it links).
  cp -a "$r" "$img/probe"
  python3 scripts/k8s/image.py "$img/probe" weft.local/probe:1 "$img/probe.tar" --binary "$BIN/weft-probe:/usr/bin/weft-probe" \
    --entrypoint '["/usr/bin/weft-probe"]' --cmd '["serve", "--ports", "80,81"]'
}

lab_credentials() {
  local d=$LAB
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -keyout "$d/ca.key" -out "$d/ca.crt" -subj /CN=weft-lab-ca 2>/dev/null || return 1
  openssl req -newkey rsa:2048 -nodes -keyout "$d/tls.key" -out "$d/tls.csr" -subj "/CN=$API_ADDR" 2>/dev/null || return 1
  printf 'subjectAltName=IP:%s,IP:127.0.0.1,DNS:localhost\n' "$API_ADDR" > "$d/san.ext"
  openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 7 -extfile "$d/san.ext" -out "$d/tls.crt" 2>/dev/null || return 1
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null && openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null || return 1
  token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  (umask 077
   token > "$d/admin.token"; token > "$d/controller.token"
   { echo "$(cat "$d/admin.token"),admin,1,\"system:masters\""
     echo "$(cat "$d/controller.token"),weft-controller,2"
     for n in $(seq "$1"); do
       token > "$d/kubelet$n.token"
       echo "$(cat "$d/kubelet$n.token"),system:node:node$n,1$n,\"system:nodes,system:masters\""
     done; } > "$d/tokens.csv"
   lab_kubeconfig admin.token > "$d/admin.kubeconfig"
   lab_kubeconfig controller.token > "$d/controller.kubeconfig"
   for n in $(seq "$1"); do lab_kubeconfig "kubelet$n.token" > "$d/kubelet$n.kubeconfig"; done)
}
lab_kubeconfig() {
  cat <<YAML
apiVersion: v1
kind: Config
current-context: lab
clusters: [{name: lab, cluster: {server: "https://$API_ADDR:$API_PORT", certificate-authority: "$LAB/ca.crt"}}]
contexts: [{name: lab, context: {cluster: lab, user: u}}]
users: [{name: u, user: {token: "$(cat "$LAB/$1")"}}]
YAML
}

lab_control_plane() {
  lab_start etcd nsenter --net="/run/netns/$CP" /usr/bin/etcd --name lab --data-dir "$LAB/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster lab=http://127.0.0.1:2380
  slowwait 30 in_cp curl -sf --max-time 2 http://127.0.0.1:2379/health -o /dev/null || { lab_log "etcd did not start"; return 1; }
  lab_start kube-apiserver nsenter --net="/run/netns/$CP" "$K8S_BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=$API_ADDR --secure-port=$API_PORT --advertise-address=$API_ADDR --endpoint-reconciler-type=none \
    --allow-privileged=true --kubelet-preferred-address-types=InternalIP \
    --tls-cert-file="$LAB/tls.crt" --tls-private-key-file="$LAB/tls.key" --client-ca-file="$LAB/ca.crt" \
    --token-auth-file="$LAB/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$LAB/sa.pub" \
    --service-account-signing-key-file="$LAB/sa.key" --service-cluster-ip-range=10.96.0.0/12 \
    --disable-admission-plugins=ServiceAccount
  api_up() { [ "$(lab_api GET /readyz 2>/dev/null)" = ok ]; }
  slowwait 120 api_up || { lab_log "kube-apiserver did not become ready: $(tail -3 "$LAB/kube-apiserver.log")"; return 1; }
  lab_log "kube-apiserver ready on $API_ADDR:$API_PORT"
  mkdir -p "$LAB/kcm" "$LAB/scheduler"
  lab_start kube-controller-manager nsenter --net="/run/netns/$CP" "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$LAB/admin.kubeconfig" --leader-elect=false --port=0 --bind-address=127.0.0.1 --secure-port=10257 \
    --cert-dir="$LAB/kcm" --service-account-private-key-file="$LAB/sa.key" --root-ca-file="$LAB/ca.crt" \
    --use-service-account-credentials=false --controllers='*' --flex-volume-plugin-dir="$LAB/kcm/flex" \
    --allocate-node-cidrs=true --cluster-cidr=10.244.0.0/16 --node-cidr-mask-size=24
  lab_start kube-scheduler nsenter --net="/run/netns/$CP" "$K8S_BIN/kube-scheduler" --kubeconfig="$LAB/admin.kubeconfig" \
    --leader-elect=false --port=0 --bind-address=127.0.0.1 --secure-port=10259 --cert-dir="$LAB/scheduler"
}

# lab_node N: node N's mount namespace (per-node /var/log/pods, /var/lib/kubelet, ...),
# cgroups, containerd with the lab's images, kubelet; returns once the Node is registered.
lab_node() {
  local n=$1 d=$LAB/n$1 c
  mkdir -p "$d/net.d" "$d/cni-bin" "$d/kubelet" "$d/vplugins" "$d/weft"
  ln -sf /usr/lib/cni/loopback "$d/cni-bin/loopback"
  touch "$d/mnt"
  unshare --mount="$d/mnt" --propagation private true || return 1
  for c in $LAB_HOST_DIRS; do
    mkdir -p "$d/host$c" && nsenter --mount="$d/mnt" mount --bind "$d/host$c" "$c" || return 1
  done
  for c in cpu cpuacct cpuset memory pids systemd hugetlb blkio devices freezer net_cls perf_event; do
    [ -d "/sys/fs/cgroup/$c" ] || continue
    mkdir -p "/sys/fs/cgroup/$c/weft-lab-n$n"
    if [ "$c" = cpuset ]; then
      cat /sys/fs/cgroup/cpuset/cpuset.cpus > "/sys/fs/cgroup/cpuset/weft-lab-n$n/cpuset.cpus"
      cat /sys/fs/cgroup/cpuset/cpuset.mems > "/sys/fs/cgroup/cpuset/weft-lab-n$n/cpuset.mems"
    fi
  done
  lab_containerd_config "$n" > "$d/containerd.toml"
  lab_start "n$n-containerd" nsenter --mount="$d/mnt" --net="/run/netns/$(node_ns "$n")" containerd --config "$d/containerd.toml"
  ctr_ready() { ctr --address "$d/containerd.sock" version >/dev/null 2>&1; }
  slowwait 30 ctr_ready || { lab_log "node$n: containerd did not start: $(tail -2 "$LAB/n$n-containerd.log")"; return 1; }
  for image in pause busybox probe; do
    ctr --address "$d/containerd.sock" -n k8s.io images import "$LAB/images/$image.tar" >/dev/null || return 1
  done
  lab_kubelet_config "$n" > "$d/kubelet.yaml"
  lab_start "n$n-kubelet" nsenter --mount="$d/mnt" --net="/run/netns/$(node_ns "$n")" "$K8S_BIN/kubelet" \
    --config="$d/kubelet.yaml" --kubeconfig="$LAB/kubelet$n.kubeconfig" \
    --container-runtime=remote --container-runtime-endpoint="unix://$d/containerd.sock" \
    --pod-infra-container-image=weft.local/pause:3.2 --root-dir="$d/kubelet" --cert-dir="$d/kubelet/pki" \
    --hostname-override="node$n" --node-ip="192.0.2.$n" --v=1
  registered() { lab_api GET "/api/v1/nodes/node$n" 2>/dev/null | jq -e '.metadata.name' >/dev/null; }
  slowwait 90 registered || { lab_log "node$n: kubelet did not register: $(tail -3 "$LAB/n$n-kubelet.log")"; return 1; }
  lab_log "node$n: containerd and kubelet up, Node registered (NotReady until Weft installs its CNI config)"
}

lab_containerd_config() {
  local n=$1 d=$LAB/n$1
  cat <<TOML
version = 2
root = "$d/containerd"
state = "$d/containerd-state"
[grpc]
  address = "$d/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "weft.local/pause:3.2"
  stream_server_address = "127.0.0.1"
  # This machine's sandbox has no CAP_SYS_RESOURCE: kubelet's -998 for the pause container
  # cannot be set, and runc fails without this (../shared/k8s/README.md).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$d/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$d/cni-bin"
    conf_dir = "$d/net.d"
TOML
}

lab_kubelet_config() {
  cat <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 192.0.2.$1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
cgroupDriver: cgroupfs
cgroupRoot: /weft-lab-n$1
failSwapOn: false
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
volumePluginDir: $LAB/n$1/vplugins
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
}

# lab_weft_controller: weft-controller on the API (its RBAC from controller/deployment.yaml,
# bound to the lab's token user), listening on the underlay for the agents.
lab_weft_controller() {
  controller_rbac weft-controller > "$LAB/rbac.yaml" || return 1
  lab_kubectl apply -f "$LAB/rbac.yaml" >/dev/null || return 1
  [ -f "$LAB/settings.yaml" ] || cat > "$LAB/settings.yaml" <<YAML
cluster: { name: lab, id: lab-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n'), vni: 42, port: 4789, underlayMTU: 1500, uplink: uplink0 }
encryption: { enabled: false }
YAML
  lab_start weft-controller nsenter --net="/run/netns/$CP" "$BIN/weft-controller" run --source kubernetes \
    --kubeconfig "$LAB/controller.kubeconfig" --cluster "$LAB/settings.yaml" --state-dir "$LAB/weft-controller" \
    --listen $API_ADDR:7443 --join-listen $API_ADDR:7444 --advertise $API_ADDR --metrics-listen $API_ADDR:9465
  controller_up() { "$BIN/weftctl" status --admin-socket "$LAB/weft-controller/admin/admin.sock" >/dev/null 2>&1; }
  slowwait 60 controller_up || { lab_log "weft-controller did not start: $(tail -3 "$LAB/weft-controller.log")"; return 1; }
  lab_log "weft-controller up (--source kubernetes), encryption off: this kernel has no ESP"
}

lab_weftctl_status() { "$BIN/weftctl" "$@" status --admin-socket "$LAB/weft-controller/admin/admin.sock"; }

# lab_weft_agent N: once the controller plans node N (it has a pod CIDR), a join token and
# weft-agent in the node's namespaces, serving weft-cni and installing its conflist.
lab_weft_agent() {
  local n=$1 d=$LAB/n$1
  planned() { lab_weftctl_status -j 2>/dev/null | jq -e --arg n "node$n" '.nodes[] | select(.name == $n)' >/dev/null; }
  slowwait 60 planned || { lab_log "node$n: the controller never planned it (no pod CIDR?)"; return 1; }
  (umask 077; "$BIN/weftctl" token create --node "node$n" --ttl 10m --admin-socket "$LAB/weft-controller/admin/admin.sock" > "$d/weft/token" 2>/dev/null) || return 1
  lab_start "n$n-weft-agent" nsenter --mount="$d/mnt" --net="/run/netns/$(node_ns "$n")" "$BIN/weft-agent" run \
    --controller $API_ADDR:7443 --join $API_ADDR:7444 --node "node$n" --ca "$LAB/weft-controller/ca.crt" \
    --token-file "$d/weft/token" --state-dir "$d/weft/state" --metrics-port 9464 \
    --cni-socket "$d/weft/cni.sock" --cni-conf-dir "$d/net.d" --cni-bin-dir "$d/cni-bin" --cni-plugin "$BIN/weft-cni" \
    --cni-routes 10.0.0.0/8,192.0.2.0/24 --bpf "$REPO/.build/bpf" --pin-root "$LAB/bpffs/n$n"
}

# lab_node_condition NODE: "STATUS REASON" of the Node's NetworkUnavailable condition.
lab_node_condition() {
  lab_api GET "/api/v1/nodes/$1" | jq -r '.status.conditions[] | select(.type == "NetworkUnavailable") | "\(.status) \(.reason)"'
}

lab_node_ready() {
  lab_api GET "/api/v1/nodes/node$1" 2>/dev/null | jq -e '.status.conditions[] | select(.type == "Ready" and .status == "True")' >/dev/null
}

lab_up() {
  local nodes=$1 n
  exec 8> "$LAB_LOCK"
  flock -n 8 || { echo "lab: another scripts/lab up or down is running" >&2; return 1; }
  if [ -f "$LAB/state" ]; then
    echo "lab: a lab is already up ($(cat "$LAB/state")); only one at a time: scripts/lab down first" >&2
    return 1
  fi
  for ns in "$SW" "$CP" $(for n in $(seq 9); do node_ns "$n"; done); do
    [ -e "/run/netns/$ns" ] && { echo "lab: namespace $ns exists from an earlier lab: scripts/lab down" >&2; return 1; }
  done
  lab_check_tools 2>/dev/null || lab_build || return 1
  lab_check_tools || return 1
  mkdir -p "$LAB" && : > "$LAB/pids"
  echo "nodes=$nodes started=$(date -u +%FT%TZ)" > "$LAB/state"
  for s in $LAB_SYSCTLS; do echo "$s $(sysctl -n "$s")"; done > "$LAB/sysctls"
  for d in $LAB_MADE_DIRS; do [ -e "$d" ] || { mkdir -p "$d" && echo "$d" >> "$LAB/host-dirs"; }; done
  if ! lab_up_steps "$nodes"; then
    echo "lab: up failed; logs in $LAB/*.log; scripts/lab down removes what was made" >&2
    return 1
  fi
  lab_log "lab up: $nodes nodes Ready; scripts/lab kubectl get pods -A, scripts/lab status, scripts/lab down"
}

lab_up_steps() {
  local nodes=$1 n
  lab_log "underlay: $SW bridge, $CP (192.0.2.254), $(for n in $(seq "$nodes"); do printf '%s (192.0.2.%s) ' "$(node_ns "$n")" "$n"; done)"
  underlay_switch "$SW" || return 1
  underlay_host "$SW" "$CP" 254 || return 1
  for n in $(seq "$nodes"); do underlay_host "$SW" "$(node_ns "$n")" "$n" || return 1; done
  lab_images >/dev/null || return 1
  # The agents' eBPF maps, pinned per node on a bpffs of the lab's own (mounted before the
  # nodes' mount namespaces are made, so each sees it).
  mkdir -p "$LAB/bpffs" && mount -t bpf bpf "$LAB/bpffs" || return 1
  lab_credentials "$nodes" || return 1
  lab_control_plane || return 1
  for n in $(seq "$nodes"); do lab_node "$n" || return 1; done
  lab_weft_controller || return 1
  for n in $(seq "$nodes"); do lab_weft_agent "$n" || return 1; done
  for n in $(seq "$nodes"); do
    slowwait 120 lab_node_ready "$n" || { lab_log "node$n: not Ready: $(lab_api GET "/api/v1/nodes/node$n" | jq -c '.status.conditions[] | select(.type == "Ready") | .message')"; return 1; }
    lab_log "node$n: Ready (pod CIDR $(lab_api GET "/api/v1/nodes/node$n" | jq -r .spec.podCIDR), weft-cni installed)"
  done
}

lab_down() {
  exec 8> "$LAB_LOCK"
  flock -w 60 8 || { echo "lab: another scripts/lab up or down is running" >&2; return 1; }
  [ -f "$LAB/state" ] || echo "lab: no lab recorded as up; removing any leftovers"
  # Pods first, while the kubelets and agents still run, so each sandbox goes through CNI DEL.
  if [ -f "$LAB/admin.token" ] && lab_api GET /readyz >/dev/null 2>&1; then
    lab_stop kube-controller-manager kube-scheduler
    lab_kubectl delete pods --all --all-namespaces --grace-period=0 --force --wait=false >/dev/null 2>&1
    local i; for i in $(seq 60); do [ "$(lab_api GET /api/v1/pods | jq '.items | length' 2>/dev/null)" = 0 ] && break; sleep 0.5; done
  fi
  # The kubelets tear down their sandboxes (CNI DEL through weft-cni) before they stop.
  local d c
  for d in "$LAB"/n*/; do
    [ -S "$d/containerd.sock" ] || continue
    for i in $(seq 60); do [ -z "$(ctr --address "$d/containerd.sock" -n k8s.io t ls -q 2>/dev/null)" ] && break; sleep 0.5; done
  done
  lab_stop $(awk '$1 ~ /-kubelet$/ { print $1 }' "$LAB/pids" 2>/dev/null)
  for d in "$LAB"/n*/; do  # whatever containers are left, by force
    [ -S "$d/containerd.sock" ] || continue
    for c in $(ctr --address "$d/containerd.sock" -n k8s.io t ls -q 2>/dev/null); do ctr --address "$d/containerd.sock" -n k8s.io t kill -s KILL "$c" 2>/dev/null; done
  done
  lab_stop $(awk '{ print $1 }' "$LAB/pids" 2>/dev/null | tac)
  # containerd's shims name the lab's directory on their command line.
  for p in $(grep -las "$LAB/n" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do kill -9 "$p" 2>/dev/null; done
  for d in "$LAB"/n*/; do [ -e "$d/mnt" ] && umount "$d/mnt" 2>/dev/null; done
  for m in $(findmnt -rn -o TARGET | grep "^$LAB" | sort -r); do umount -l "$m"; done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^weft-lab-'); do ip netns del "$ns"; done
  for c in /sys/fs/cgroup/*/weft-lab-n*; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; done
  [ -f "$LAB/sysctls" ] && while read -r s v; do sysctl -qw "$s=$v"; done < "$LAB/sysctls"
  [ -f "$LAB/host-dirs" ] && while read -r d; do rm -rf "$d"; done < "$LAB/host-dirs"
  rm -rf "$LAB"
  lab_report_leftovers
}

# lab_stop NAME...: SIGTERM each recorded process, SIGKILL after 10 s.
lab_stop() {
  local name pid pids=()
  for name in "$@"; do pid=$(lab_pid "$name"); [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid"); done
  local i; for i in $(seq 100); do
    local alive=0; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0; sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
}

lab_report_leftovers() {
  local left=()
  ip netns list 2>/dev/null | grep -q '^weft-lab-' && left+=("namespaces: $(ip netns list | grep '^weft-lab-' | awk '{print $1}' | paste -sd' ')")
  grep -lqs "$LAB" /proc/[0-9]*/cmdline 2>/dev/null && left+=("processes naming $LAB")
  ls -d /sys/fs/cgroup/*/weft-lab-n* >/dev/null 2>&1 && left+=("cgroups $(ls -d /sys/fs/cgroup/*/weft-lab-n* | paste -sd' ')")
  [ -e "$LAB" ] && left+=("$LAB")
  if [ ${#left[@]} -eq 0 ]; then
    echo "lab: down; every process, namespace, mount, cgroup, file and sysctl the lab made is gone"
  else
    echo "lab: down, but left behind: ${left[*]}" >&2; return 1
  fi
}

lab_status() {
  lab_require_up || return 1
  echo "lab: $(cat "$LAB/state")"
  lab_kubectl get nodes -o wide
  echo; lab_kubectl get pods -A -o wide
  echo; lab_weftctl_status
}
