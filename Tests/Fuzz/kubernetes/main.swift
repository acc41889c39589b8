// libFuzzer target: Kubernetes API objects as the controller receives them (scripts/fuzz).
// The first byte picks the kind (Node, Pod, Namespace, NetworkPolicy); the rest is its
// JSON, decoded as the client decodes list items and watch objects, put into a cluster
// state beside a valid node and namespace, turned into the plan's input, and planned.
// Anything the API server could send must end in a plan or a named refusal.
import Foundation

let settings = ClusterSpec(cluster: ClusterIdentity(name: "fuzz", id: "fuzz"))
let baseNode = try! JSONDecoder().decode(NodeObject.self, from: Data(#"{"metadata":{"name":"n1"},"spec":{"podCIDR":"10.244.1.0/24","podCIDRs":["10.244.1.0/24"]},"status":{"addresses":[{"type":"InternalIP","address":"192.0.2.1"}]}}"#.utf8))
let baseNamespace = try! JSONDecoder().decode(NamespaceObject.self, from: Data(#"{"metadata":{"name":"default","labels":{"team":"a"}}}"#.utf8))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKubernetes(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Data(bytes: data + 1, count: size - 1)
    var state = ClusterState(settings: settings)
    state.set(node: baseNode, deleted: false)
    state.set(namespace: baseNamespace, deleted: false)
    let decoder = JSONDecoder()
    switch data[0] % 4 {
    case 0: guard let node = try? decoder.decode(NodeObject.self, from: body) else { return 0 }; state.set(node: node, deleted: false)
    case 1: guard let pod = try? decoder.decode(PodObject.self, from: body) else { return 0 }; _ = state.set(pod: pod, deleted: false)
    case 2: guard let namespace = try? decoder.decode(NamespaceObject.self, from: body) else { return 0 }; state.set(namespace: namespace, deleted: false)
    default: guard let policy = try? decoder.decode(NetworkPolicyObject.self, from: body) else { return 0 }; state.set(policy: policy, deleted: false)
    }
    let spec = state.spec()
    _ = state.excluded
    _ = try? Planner(spec: spec)
    return 0
}
