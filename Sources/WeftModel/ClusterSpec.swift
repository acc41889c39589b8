/// The cluster as the controller's source describes it: nodes, pods, trust policies and
/// revocations. The embedded source is a YAML cluster file (docs/cluster-file.md); the
/// Kubernetes API and etcd sources produce the same value.
public struct ClusterSpec: Codable, Hashable, Sendable {
    public var cluster: ClusterIdentity
    public var encryption: EncryptionSettings
    public var nodes: [NodeSpec]
    public var pods: [PodSpec]
    /// Namespaces with labels (for namespace selectors); a namespace named only by its pods
    /// or policies has no labels but its name.
    public var namespaces: [NamespaceSpec]
    /// The first policy form, ingress allow-rules (docs/cluster-file.md): kept working.
    public var policies: [PolicySpec]
    /// Kubernetes NetworkPolicy v1, all of it.
    public var networkPolicies: [NetworkPolicy]
    /// Names of revoked nodes: quarantined everywhere, their SAs removed.
    public var revoked: [String]

    public init(cluster: ClusterIdentity, encryption: EncryptionSettings = .init(), nodes: [NodeSpec] = [], pods: [PodSpec] = [],
                namespaces: [NamespaceSpec] = [], policies: [PolicySpec] = [], networkPolicies: [NetworkPolicy] = [], revoked: [String] = []) {
        self.cluster = cluster
        self.encryption = encryption
        self.nodes = nodes
        self.pods = pods
        self.namespaces = namespaces
        self.policies = policies
        self.networkPolicies = networkPolicies
        self.revoked = revoked
    }

    enum CodingKeys: String, CodingKey { case cluster, encryption, nodes, pods, namespaces, policies, networkPolicies, revoked }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cluster = try c.decode(ClusterIdentity.self, forKey: .cluster)
        encryption = try c.decodeIfPresent(EncryptionSettings.self, forKey: .encryption) ?? .init()
        nodes = try c.decodeIfPresent([NodeSpec].self, forKey: .nodes) ?? []
        pods = try c.decodeIfPresent([PodSpec].self, forKey: .pods) ?? []
        namespaces = try c.decodeIfPresent([NamespaceSpec].self, forKey: .namespaces) ?? []
        policies = try c.decodeIfPresent([PolicySpec].self, forKey: .policies) ?? []
        networkPolicies = try c.decodeIfPresent([NetworkPolicy].self, forKey: .networkPolicies) ?? []
        revoked = try c.decodeIfPresent([String].self, forKey: .revoked) ?? []
    }
}

public struct ClusterIdentity: Codable, Hashable, Sendable {
    public var name: String
    /// Goes into every key derivation: two clusters never share a key.
    public var id: String
    public var vni: UInt32
    public var port: UInt16
    /// The underlay MTU; the overlay MTU is derived from it (docs/desired-state.md#mtu).
    public var underlayMTU: UInt32
    /// The uplink interface on every node (a node may override it).
    public var uplink: String

    public init(name: String, id: String, vni: UInt32 = 42, port: UInt16 = 4789, underlayMTU: UInt32 = 1500, uplink: String = "eth0") {
        self.name = name
        self.id = id
        self.vni = vni
        self.port = port
        self.underlayMTU = underlayMTU
        self.uplink = uplink
    }

    enum CodingKeys: String, CodingKey { case name, id, vni, port, underlayMTU, uplink }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        id = try c.decode(String.self, forKey: .id)
        vni = try c.decodeIfPresent(UInt32.self, forKey: .vni) ?? 42
        port = try c.decodeIfPresent(UInt16.self, forKey: .port) ?? 4789
        underlayMTU = try c.decodeIfPresent(UInt32.self, forKey: .underlayMTU) ?? 1500
        uplink = try c.decodeIfPresent(String.self, forKey: .uplink) ?? "eth0"
    }
}

public struct EncryptionSettings: Codable, Hashable, Sendable {
    public var enabled: Bool
    /// Seconds between key epochs (0: no periodic rotation).
    public var rotationSeconds: UInt64

    public init(enabled: Bool = false, rotationSeconds: UInt64 = 86_400) {
        self.enabled = enabled
        self.rotationSeconds = rotationSeconds
    }

    enum CodingKeys: String, CodingKey { case enabled, rotationSeconds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? false
        rotationSeconds = try c.decodeIfPresent(UInt64.self, forKey: .rotationSeconds) ?? 86_400
    }
}

public struct NodeSpec: Codable, Hashable, Sendable {
    public var name: String
    public var underlay: String
    public var podCIDR: String
    public var uplink: String?

    public init(name: String, underlay: String, podCIDR: String, uplink: String? = nil) {
        self.name = name
        self.underlay = underlay
        self.podCIDR = podCIDR
        self.uplink = uplink
    }
}

public struct PodSpec: Codable, Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var node: String
    /// Its IPv4 address; "" while it has none yet (scheduled, not started): it has an
    /// identity, and its node enforces that identity's policy, before its first packet.
    public var address: String
    public var labels: [String: String]
    /// Its containers' ports: what named ports in policies resolve against.
    public var ports: [ContainerPort]

    public init(namespace: String = "default", name: String, node: String, address: String, labels: [String: String] = [:],
                ports: [ContainerPort] = []) {
        self.namespace = namespace
        self.name = name
        self.node = node
        self.address = address
        self.labels = labels
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey { case namespace, name, node, address, labels, ports }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace) ?? "default"
        name = try c.decode(String.self, forKey: .name)
        node = try c.decode(String.self, forKey: .node)
        address = try c.decodeIfPresent(String.self, forKey: .address) ?? ""
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        ports = try c.decodeIfPresent([ContainerPort].self, forKey: .ports) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(namespace, forKey: .namespace)
        try c.encode(name, forKey: .name)
        try c.encode(node, forKey: .node)
        try c.encode(address, forKey: .address)
        try c.encode(labels, forKey: .labels)
        if !ports.isEmpty { try c.encode(ports, forKey: .ports) }
    }
}

/// A namespace and its labels. Every namespace also carries
/// `kubernetes.io/metadata.name: NAME`, as API servers from 1.21 on set it (1.20 does not).
public struct NamespaceSpec: Codable, Hashable, Sendable {
    public static let nameLabel = "kubernetes.io/metadata.name"

    public var name: String
    public var labels: [String: String]

    public init(name: String, labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
    }

    /// The labels selectors see: the declared ones and the name label.
    public var effectiveLabels: [String: String] { labels.merging([Self.nameLabel: name]) { _, named in named } }

    enum CodingKeys: String, CodingKey { case name, labels }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}

/// "Pods matching `selector` (in `namespace`, or any) accept `proto`/`port` from pods
/// matching any of `from`". A pod no policy selects accepts everything; a selected pod
/// accepts only what its policies allow (as Kubernetes NetworkPolicy ingress).
public struct PolicySpec: Codable, Hashable, Sendable {
    public var name: String
    public var namespace: String?
    public var selector: [String: String]
    public var from: [PeerSelector]
    /// "tcp", "udp", "icmp" or "any".
    public var proto: String
    /// 0 = any port.
    public var port: UInt16

    public init(name: String, namespace: String? = nil, selector: [String: String], from: [PeerSelector], proto: String = "any", port: UInt16 = 0) {
        self.name = name
        self.namespace = namespace
        self.selector = selector
        self.from = from
        self.proto = proto
        self.port = port
    }

    enum CodingKeys: String, CodingKey { case name, namespace, selector, from, proto, port }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        selector = try c.decodeIfPresent([String: String].self, forKey: .selector) ?? [:]
        from = try c.decodeIfPresent([PeerSelector].self, forKey: .from) ?? []
        proto = try c.decodeIfPresent(String.self, forKey: .proto) ?? "any"
        port = try c.decodeIfPresent(UInt16.self, forKey: .port) ?? 0
    }
}

/// Source pods of a policy: label selector, optionally limited to one namespace.
public struct PeerSelector: Codable, Hashable, Sendable {
    public var namespace: String?
    public var labels: [String: String]

    public init(namespace: String? = nil, labels: [String: String]) {
        self.namespace = namespace
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey { case namespace, labels }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}
