/// A Kubernetes NetworkPolicy (networking.k8s.io/v1), as the cluster file writes it and
/// the API serves it: only the fields Weft needs are decoded, everything else is ignored.
/// Decoding applies the API server's defaulting (`policyTypes`, a port's protocol), so a
/// policy means the same whether it passed through an API server or not.
public struct NetworkPolicy: Codable, Hashable, Sendable {
    public var metadata: ObjectReference
    public var spec: NetworkPolicySpec

    public init(metadata: ObjectReference, spec: NetworkPolicySpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// `metadata.namespace`/`metadata.name`; a missing namespace is "default", as kubectl does.
public struct ObjectReference: Codable, Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String = "default", name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(namespace)/\(name)" }

    enum CodingKeys: String, CodingKey { case namespace, name }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace) ?? "default"
    }
}

public enum PolicyDirection: String, StrictChoice, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case ingress = "Ingress", egress = "Egress"

    public var description: String { rawValue.lowercased() }
}

public struct NetworkPolicySpec: Codable, Hashable, Sendable {
    /// The pods of the policy's namespace it applies to (absent: all of them, as the API's
    /// zero value).
    public var podSelector: LabelSelector
    public var ingress: [NetworkPolicyIngressRule]
    public var egress: [NetworkPolicyEgressRule]
    /// Defaulted as the API server does: Ingress always, Egress when there are egress rules.
    public var policyTypes: [PolicyDirection]

    public init(podSelector: LabelSelector = .everything, ingress: [NetworkPolicyIngressRule] = [], egress: [NetworkPolicyEgressRule] = [],
                policyTypes: [PolicyDirection]? = nil) {
        self.podSelector = podSelector
        self.ingress = ingress
        self.egress = egress
        self.policyTypes = policyTypes.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultTypes(egress: egress)
    }

    static func defaultTypes(egress: [NetworkPolicyEgressRule]) -> [PolicyDirection] {
        egress.isEmpty ? [.ingress] : [.ingress, .egress]
    }

    /// The rules of one direction as (peers, ports) pairs: `from` for ingress, `to` for egress.
    public func rules(_ direction: PolicyDirection) -> [(peers: [NetworkPolicyPeer], ports: [NetworkPolicyPort])] {
        switch direction {
        case .ingress: ingress.map { ($0.from, $0.ports) }
        case .egress: egress.map { ($0.to, $0.ports) }
        }
    }

    enum CodingKeys: String, CodingKey { case podSelector, ingress, egress, policyTypes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(podSelector: try c.decodeIfPresent(LabelSelector.self, forKey: .podSelector) ?? .everything,
                  ingress: try c.decodeIfPresent([NetworkPolicyIngressRule].self, forKey: .ingress) ?? [],
                  egress: try c.decodeIfPresent([NetworkPolicyEgressRule].self, forKey: .egress) ?? [],
                  policyTypes: try c.decodeIfPresent([PolicyDirection].self, forKey: .policyTypes))
    }
}

/// An ingress rule: traffic from any of `from` (none listed: from anywhere) to any of
/// `ports` (none listed: every port).
public struct NetworkPolicyIngressRule: Codable, Hashable, Sendable {
    public var from: [NetworkPolicyPeer]
    public var ports: [NetworkPolicyPort]

    public init(from: [NetworkPolicyPeer] = [], ports: [NetworkPolicyPort] = []) {
        self.from = from
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey { case from, ports }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        from = try c.decodeIfPresent([NetworkPolicyPeer].self, forKey: .from) ?? []
        ports = try c.decodeIfPresent([NetworkPolicyPort].self, forKey: .ports) ?? []
    }
}

/// An egress rule: traffic to any of `to` (none listed: anywhere) on any of `ports`.
public struct NetworkPolicyEgressRule: Codable, Hashable, Sendable {
    public var to: [NetworkPolicyPeer]
    public var ports: [NetworkPolicyPort]

    public init(to: [NetworkPolicyPeer] = [], ports: [NetworkPolicyPort] = []) {
        self.to = to
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey { case to, ports }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        to = try c.decodeIfPresent([NetworkPolicyPeer].self, forKey: .to) ?? []
        ports = try c.decodeIfPresent([NetworkPolicyPort].self, forKey: .ports) ?? []
    }
}

/// Who is on the other side: pods (by pod selector in the policy's namespace, by namespace
/// selector, or both at once: pods matching both), or an address block.
public struct NetworkPolicyPeer: Codable, Hashable, Sendable {
    public var podSelector: LabelSelector?
    public var namespaceSelector: LabelSelector?
    public var ipBlock: IPBlock?

    public init(podSelector: LabelSelector? = nil, namespaceSelector: LabelSelector? = nil, ipBlock: IPBlock? = nil) {
        self.podSelector = podSelector
        self.namespaceSelector = namespaceSelector
        self.ipBlock = ipBlock
    }
}

public struct IPBlock: Codable, Hashable, Sendable {
    public var cidr: String
    public var except: [String]

    public init(cidr: String, except: [String] = []) {
        self.cidr = cidr
        self.except = except
    }

    enum CodingKeys: String, CodingKey { case cidr, except }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cidr = try c.decode(String.self, forKey: .cidr)
        except = try c.decodeIfPresent([String].self, forKey: .except) ?? []
    }
}
