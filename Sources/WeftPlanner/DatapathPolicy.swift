import WeftModel

/// What the filters enforce of a compiled policy today, in one direction: ingress from pods
/// (by identity) or from anyone, egress to pods or to anyone, on any traffic or on TCP/UDP
/// ports and ranges of up to `widestRange` ports. The rest (ipBlock, named ports, SCTP,
/// wider ranges) is named as an `UnenforcedPolicyPart` and reported: the controller logs it
/// and counts it in a metric, `weftctl policy check` says so. Where a part is missing the
/// datapath admits less than the policy, never more.
struct DatapathGrant: Hashable, Sendable {
    struct PodPeer: Hashable, Sendable {
        var namespaces: CompiledPolicy.NamespaceMatch
        var pods: LabelSelector?
    }
    /// The identity map's protocol words and port (0: any), as `PolicyRule` carries them.
    struct Port: Hashable, Sendable {
        var proto: String
        var port: UInt16
    }

    var peers: [PodPeer]
    /// No `from` (ingress) or `to` (egress): every peer.
    var fromAnyone: Bool
    var ports: [Port]

    static let widestRange = 64

    /// One grant per rule of `direction`, in rule order, and what could not be kept.
    static func compile(_ policy: CompiledPolicy, _ direction: PolicyDirection) -> (grants: [DatapathGrant], unenforced: [UnenforcedPolicyPart]) {
        var unenforced: [UnenforcedPolicyPart] = []
        func note(_ at: String, _ what: String) { unenforced.append(UnenforcedPolicyPart(policy: policy.name, at: at, what: what)) }
        guard policy.directions.contains(direction) else { return ([], unenforced) }
        let (key, peersKey) = direction == .ingress ? ("ingress", "from") : ("egress", "to")
        let grants = policy.rules(direction).enumerated().map { index, rule in
            var grant = DatapathGrant(peers: [], fromAnyone: rule.peers.isEmpty, ports: [])
            for (k, peer) in rule.peers.enumerated() {
                switch peer {
                case .pods(let namespaces, let pods): grant.peers.append(PodPeer(namespaces: namespaces, pods: pods))
                case .block(let cidr, _): note("\(key)[\(index)].\(peersKey)[\(k)]", "ipBlock \(cidr) is not enforced yet: its addresses are denied")
                case .nobody: break
                }
            }
            if rule.ports.isEmpty { grant.ports = [Port(proto: "any", port: 0)] }
            for (k, port) in rule.ports.enumerated() {
                let at = "\(key)[\(index)].ports[\(k)]"
                let proto: String
                switch port.proto {
                case .tcp: proto = "tcp"
                case .udp: proto = "udp"
                case .icmp: grant.ports.append(Port(proto: "icmp", port: 0)); continue
                case .sctp: note(at, "SCTP is not enforced yet: denied"); continue
                }
                switch port.ports {
                case .all: grant.ports.append(Port(proto: proto, port: 0))
                case .range(let range) where range.count <= widestRange: grant.ports += range.map { Port(proto: proto, port: $0) }
                case .range(let range): note(at, "port range \(range.lowerBound)-\(range.upperBound) is wider than \(widestRange) ports and not enforced yet: denied")
                case .named(let name): note(at, "named port \(name) is not enforced yet: denied")
                case .none: break
                }
            }
            return grant
        }
        return (grants, unenforced)
    }

    func admits(_ key: IdentityKey, namespaceLabels: [String: String]) -> Bool {
        peers.contains { peer in
            let inNamespace: Bool
            switch peer.namespaces {
            case .any: inNamespace = true
            case .named(let name): inNamespace = key.namespace == name
            case .selector(let selector): inNamespace = selector.matches(namespaceLabels)
            }
            return inNamespace && (peer.pods?.matches(key.labels) ?? true)
        }
    }
}

/// A part of a policy the datapath does not enforce yet, with where it is and what that means.
public struct UnenforcedPolicyPart: Hashable, Sendable, CustomStringConvertible {
    public var policy: String
    /// "ingress[0].from[1]", "egress[0].ports[0]".
    public var at: String
    public var what: String
    public var description: String { "\(policy) \(at): \(what)" }
}

extension UnenforcedPolicyPart {
    /// What the datapath leaves out of a spec's policies (as `Planner.unenforcedPolicy`,
    /// without planning): for the Kubernetes source's Events.
    public static func all(in spec: ClusterSpec) -> [UnenforcedPolicyPart] {
        CompiledPolicy.all(in: spec).flatMap { policy in PolicyDirection.allCases.flatMap { DatapathGrant.compile(policy, $0).unenforced } }
    }
}
