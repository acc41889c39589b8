import WeftModel

/// What the filters enforce of a compiled policy, in one direction: ingress from pods (by
/// identity), from ipBlocks (by CIDR identity, `CIDRIdentities`) or from anyone; egress to
/// the same; on any traffic, on a protocol, on ports and ranges of TCP, UDP and SCTP, or on
/// named ports (resolved per destination identity, `NamedPorts`). What is left (a named
/// port toward an ipBlock, in egress: the destination pod is not known by its address
/// alone) is named as an `UnenforcedPolicyPart` and reported: the controller logs it and
/// counts it in a metric, `weftctl policy check` says so. Where a part is missing the
/// datapath admits less than the policy, never more.
struct DatapathGrant: Hashable, Sendable {
    struct PodPeer: Hashable, Sendable {
        var namespaces: CompiledPolicy.NamespaceMatch
        var pods: LabelSelector?
    }
    /// A protocol word as `PolicyRule` carries it, and its ports (port 0: any).
    struct Port: Hashable, Sendable {
        var proto: String
        var port: UInt16
        /// The last port of a range (nil: `port` alone).
        var end: UInt16? = nil
        /// A named port (then `port` is 0 until resolved at a destination identity).
        var name: NamedPorts.Key? = nil
    }

    var peers: [PodPeer]
    /// The CIDR identities of the rule's ipBlocks (minus their excepts).
    var cidrPeers: [UInt32] = []
    /// No `from` (ingress) or `to` (egress): every peer.
    var fromAnyone: Bool
    var ports: [Port]

    /// One grant per rule of `direction`, in rule order, and what could not be kept.
    static func compile(_ policy: CompiledPolicy, _ direction: PolicyDirection, cidrs: CIDRIdentities) -> (grants: [DatapathGrant], unenforced: [UnenforcedPolicyPart]) {
        var unenforced: [UnenforcedPolicyPart] = []
        guard policy.directions.contains(direction) else { return ([], unenforced) }
        let key = direction == .ingress ? "ingress" : "egress"
        let grants = policy.rules(direction).enumerated().map { index, rule in
            var grant = DatapathGrant(peers: [], fromAnyone: rule.peers.isEmpty, ports: [])
            for peer in rule.peers {
                switch peer {
                case .pods(let namespaces, let pods): grant.peers.append(PodPeer(namespaces: namespaces, pods: pods))
                case .block(let cidr, let except): grant.cidrPeers += cidrs.admitted(by: cidr, except: except)
                case .nobody: break
                }
            }
            if rule.ports.isEmpty { grant.ports = [Port(proto: "any", port: 0)] }
            for (k, port) in rule.ports.enumerated() {
                let proto = port.proto.rawValue.lowercased()
                switch (port.proto, port.ports) {
                case (.icmp, _): grant.ports.append(Port(proto: proto, port: 0))
                case (_, .all): grant.ports.append(Port(proto: proto, port: 0))
                case (_, .range(let range)) where range.count == 1: grant.ports.append(Port(proto: proto, port: range.lowerBound))
                case (_, .range(let range)): grant.ports.append(Port(proto: proto, port: range.lowerBound, end: range.upperBound))
                case (_, .named(let name)):
                    guard let transport = TransportProtocol(rawValue: port.proto.rawValue) else { break }
                    grant.ports.append(Port(proto: proto, port: 0, name: NamedPorts.Key(name: name, proto: transport)))
                    if direction == .egress && !grant.cidrPeers.isEmpty {
                        unenforced.append(UnenforcedPolicyPart(policy: policy.name, at: "\(key)[\(index)].ports[\(k)]",
                                                               what: "named port \(name) toward an ipBlock is not enforced yet: its addresses are denied"))
                    }
                case (_, .none): break
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
        let policies = CompiledPolicy.all(in: spec), cidrs = CIDRIdentities(policies)
        return policies.flatMap { policy in PolicyDirection.allCases.flatMap { DatapathGrant.compile(policy, $0, cidrs: cidrs).unenforced } }
    }
}
