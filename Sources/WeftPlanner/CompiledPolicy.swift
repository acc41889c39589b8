import WeftModel

/// A policy in the one form the evaluator (`weftctl policy check`) and the datapath
/// compiler read: selectors and blocks parsed, ports resolved to kinds, both cluster-file
/// forms (NetworkPolicy and the first allow-rule form) mapped onto it. Meant for a spec
/// that passed `problems()`; anything else (a block that does not parse, a port out of
/// range) compiles to what matches nothing, never to a crash or a wider rule.
public struct CompiledPolicy: Hashable, Sendable {
    /// "x/allow-a" for a NetworkPolicy, "policies/NAME" for the first form.
    public var name: String
    /// The namespace whose pods it selects; nil (first form only): every namespace.
    public var namespace: String?
    public var podSelector: LabelSelector
    /// The directions in which the selected pods are isolated.
    public var directions: Set<PolicyDirection>
    public var ingress: [Rule]
    public var egress: [Rule]

    public struct Rule: Hashable, Sendable {
        /// Empty: every peer, in the cluster or not.
        public var peers: [Peer]
        /// Empty: every port and protocol.
        public var ports: [Port]
    }

    public enum Peer: Hashable, Sendable {
        /// Pods in the namespaces `namespaces` matches whose labels `pods` matches (nil: all).
        case pods(namespaces: NamespaceMatch, pods: LabelSelector?)
        /// Addresses in `cidr` outside every `except`, pod addresses included.
        case block(cidr: IPv4Prefix, except: [IPv4Prefix])
        /// Matches no one (an unvalidated block that does not parse).
        case nobody
    }

    public enum NamespaceMatch: Hashable, Sendable {
        case named(String)
        case selector(LabelSelector)
        case any
    }

    /// A protocol and the ports it covers.
    public struct Port: Hashable, Sendable {
        public var proto: PortProtocol
        public var ports: PortSet
    }

    /// The protocols a rule can name: NetworkPolicy's three, and ICMP (first form only).
    public enum PortProtocol: String, Hashable, Sendable, CustomStringConvertible {
        case tcp = "TCP", udp = "UDP", sctp = "SCTP", icmp = "ICMP"
        public var description: String { rawValue }
        init(_ proto: TransportProtocol) { self.init(rawValue: proto.rawValue)! }
    }

    public enum PortSet: Hashable, Sendable {
        case all
        case range(ClosedRange<UInt16>)
        /// A container port name, resolved against the destination pod.
        case named(String)
        /// No port (an unvalidated number out of range).
        case none
    }

    public func rules(_ direction: PolicyDirection) -> [Rule] { direction == .ingress ? ingress : egress }
}

extension CompiledPolicy {
    /// A NetworkPolicy that passed validation.
    init(_ policy: NetworkPolicy) {
        name = policy.metadata.description
        namespace = policy.metadata.namespace
        podSelector = policy.spec.podSelector
        directions = Set(policy.spec.policyTypes)
        func rules(_ direction: PolicyDirection) -> [Rule] {
            policy.spec.rules(direction).map { rule in
                Rule(peers: rule.peers.map { Self.peer($0, in: policy.metadata.namespace) }, ports: rule.ports.map(Self.port))
            }
        }
        ingress = directions.contains(.ingress) ? rules(.ingress) : []
        egress = directions.contains(.egress) ? rules(.egress) : []
    }

    static func peer(_ peer: NetworkPolicyPeer, in namespace: String) -> Peer {
        if let block = peer.ipBlock {
            let except = block.except.compactMap(IPv4Prefix.init)
            guard let cidr = IPv4Prefix(block.cidr), except.count == block.except.count else { return .nobody }
            return .block(cidr: cidr, except: except)
        }
        let namespaces: NamespaceMatch = peer.namespaceSelector.map(NamespaceMatch.selector) ?? .named(namespace)
        return .pods(namespaces: namespaces, pods: peer.podSelector)
    }

    static func port(_ port: NetworkPolicyPort) -> Port {
        let ports: PortSet
        switch port.port {
        case nil: ports = .all
        case .name(let name): ports = .named(name)
        case .number(let first):
            if let low = UInt16(exactly: first), let high = UInt16(exactly: port.endPort ?? first), low >= 1, low <= high { ports = .range(low...high) }
            else { ports = .none }
        }
        return Port(proto: PortProtocol(port.protocol), ports: ports)
    }

    /// The first form: an ingress policy with one rule.
    init(_ policy: PolicySpec) {
        name = "policies/\(policy.name)"
        namespace = policy.namespace
        podSelector = LabelSelector(matchLabels: policy.selector)
        directions = [.ingress]
        let peers = policy.from.map { from in
            Peer.pods(namespaces: (from.namespace ?? policy.namespace).map(NamespaceMatch.named) ?? .any, pods: LabelSelector(matchLabels: from.labels))
        }
        let ports: [Port]
        switch policy.proto {
        case "tcp": ports = [Port(proto: .tcp, ports: policy.port == 0 ? .all : .range(policy.port...policy.port))]
        case "udp": ports = [Port(proto: .udp, ports: policy.port == 0 ? .all : .range(policy.port...policy.port))]
        case "icmp": ports = [Port(proto: .icmp, ports: .all)]
        default: ports = []
        }
        ingress = [Rule(peers: peers, ports: ports)]
        egress = []
    }

    /// Every policy of a spec that passed `problems()`, first form first.
    public static func all(in spec: ClusterSpec) -> [CompiledPolicy] {
        spec.policies.map(CompiledPolicy.init) + spec.networkPolicies.map(CompiledPolicy.init)
    }
}
