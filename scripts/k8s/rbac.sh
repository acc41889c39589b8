# shellcheck shell=bash
# controller_rbac USER: the ClusterRole of controller/deployment.yaml (the one place it is
# written) and a binding of it to USER, as YAML for kubectl apply. The tests and the lab
# give weft-controller exactly what the deployment gives it.
controller_rbac() {
  python3 - controller/deployment.yaml <<'PY' || return 1
import sys
docs = open(sys.argv[1]).read().split("\n---")
print("\n---".join(d for d in docs if "\nkind: ClusterRole\n" in "\n" + d.strip() + "\n"))
PY
  cat <<YAML
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: weft-controller-$1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: weft-controller}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: $1}]
YAML
}
