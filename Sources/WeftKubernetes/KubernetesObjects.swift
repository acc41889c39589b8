import WeftModel

/// The few fields of each API object Weft reads; everything else in the JSON is ignored.
public struct ObjectMeta: Decodable, Hashable, Sendable {
    public var name: String
    public var namespace: String?
    public var resourceVersion: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var deletionTimestamp: String?
    public var uid: String?
}

public struct NodeObject: Decodable, Hashable, Sendable {
    public struct Spec: Decodable, Hashable, Sendable {
        public var podCIDR: String?
        public var podCIDRs: [String]?
    }
    public struct Address: Decodable, Hashable, Sendable {
        public var type: String
        public var address: String
    }
    public struct Status: Decodable, Hashable, Sendable {
        public var addresses: [Address]?
    }
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?
}

public struct PodObject: Decodable, Hashable, Sendable {
    public struct Port: Decodable, Hashable, Sendable {
        public var name: String?
        public var containerPort: Int32
        public var `protocol`: String?
    }
    public struct Container: Decodable, Hashable, Sendable {
        public var ports: [Port]?
    }
    public struct Spec: Decodable, Hashable, Sendable {
        public var nodeName: String?
        public var hostNetwork: Bool?
        public var containers: [Container]?
        public var serviceAccountName: String?
    }
    public struct IP: Decodable, Hashable, Sendable { public var ip: String }
    public struct Status: Decodable, Hashable, Sendable {
        public var phase: String?
        public var podIP: String?
        public var podIPs: [IP]?
    }
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?
}

public struct NamespaceObject: Decodable, Hashable, Sendable {
    public var metadata: ObjectMeta
}

/// A NetworkPolicy as the API serves it: the model's own decoding reads the spec.
public struct NetworkPolicyObject: Decodable, Hashable, Sendable {
    public var metadata: ObjectMeta
    public var spec: NetworkPolicySpec
}

/// A page of a list (`limit`/`continue`).
struct ListPage<Item: Decodable>: Decodable {
    struct Metadata: Decodable {
        var resourceVersion: String?
        var `continue`: String?
    }
    var metadata: Metadata
    var items: [Item]
}

/// `metav1.Status`: what an error response or a watch ERROR event carries.
public struct StatusObject: Decodable, Hashable, Sendable {
    public var code: Int?
    public var reason: String?
    public var message: String?
}

/// The four kinds Weft lists and watches, with their paths.
public enum WatchedResource: String, Sendable, CaseIterable {
    case nodes, namespaces, pods, networkPolicies

    var path: String {
        switch self {
        case .nodes: "/api/v1/nodes"
        case .namespaces: "/api/v1/namespaces"
        case .pods: "/api/v1/pods"
        case .networkPolicies: "/apis/networking.k8s.io/v1/networkpolicies"
        }
    }
}
