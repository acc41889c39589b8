import WeftModel

/// Answers "may this packet pass?" from the compiled policies, by NetworkPolicy's rules:
/// a pod selected by some policy for a direction is isolated in it and admits exactly the
/// union of those policies' rules for that direction; a pod no policy selects for it
/// admits everything. A packet passes when the sender's egress and the receiver's
/// ingress both allow it. `weftctl policy check` asks this; the tests hold it to the
/// upstream e2e truth tables.
public struct PolicyEvaluator: Sendable {
    let policies: [CompiledPolicy]
    let namespaceLabels: [String: [String: String]]
    let pods: [ObjectReference: PodSpec]
    let podsByAddress: [IPv4: ObjectReference]

    public init(spec: ClusterSpec) {
        policies = CompiledPolicy.all(in: spec)
        var labels: [String: [String: String]] = [:]
        for namespace in spec.namespaces { labels[namespace.name] = namespace.effectiveLabels }
        namespaceLabels = labels
        pods = Dictionary(spec.pods.map { (ObjectReference(namespace: $0.namespace, name: $0.name), $0) }, uniquingKeysWith: { a, _ in a })
        podsByAddress = Dictionary(pods.compactMap { key, pod in IPv4(pod.address).map { ($0, key) } }, uniquingKeysWith: { a, _ in a })
    }

    /// One end of a packet: a pod, or an address (which is that pod when a pod has it).
    public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
        case pod(ObjectReference)
        case address(IPv4)
        public var description: String {
            switch self {
            case .pod(let pod): pod.description
            case .address(let address): address.description
            }
        }
    }

    public struct Query: Hashable, Sendable {
        public var from: Endpoint, to: Endpoint
        public var proto: CompiledPolicy.PortProtocol
        public var port: UInt16
        public init(from: Endpoint, to: Endpoint, proto: CompiledPolicy.PortProtocol, port: UInt16) {
            self.from = from
            self.to = to
            self.proto = proto
            self.port = port
        }
    }

    public struct UnknownPod: Error, CustomStringConvertible, Sendable {
        public var pod: ObjectReference
        public var description: String { "no pod \(pod) in the cluster state" }
    }

    /// A resolved end: the pod (if it is one) and its address.
    struct End {
        var pod: PodSpec?
        var address: IPv4?
        var namespaceLabels: [String: String]
    }

    func resolve(_ endpoint: Endpoint) throws(UnknownPod) -> End {
        let key: ObjectReference
        switch endpoint {
        case .pod(let pod): key = pod
        case .address(let address):
            guard let owner = podsByAddress[address] else { return End(pod: nil, address: address, namespaceLabels: [:]) }
            key = owner
        }
        guard let pod = pods[key] else { throw UnknownPod(pod: key) }
        let labels = namespaceLabels[pod.namespace] ?? [NamespaceSpec.nameLabel: pod.namespace]
        return End(pod: pod, address: IPv4(pod.address), namespaceLabels: labels)
    }

    public func verdict(_ query: Query) throws(UnknownPod) -> PolicyVerdict {
        let from = try resolve(query.from), to = try resolve(query.to)
        return PolicyVerdict(egress: judge(.egress, at: from, other: to, destination: to, query),
                             ingress: judge(.ingress, at: to, other: from, destination: to, query))
    }

    /// One side: the policies isolating `end` in `direction`, and the rules among theirs
    /// that admit `other` on the query's port (named ports resolved against `destination`).
    func judge(_ direction: PolicyDirection, at end: End, other: End, destination: End, _ query: Query) -> PolicyVerdict.Side {
        guard let pod = end.pod else { return PolicyVerdict.Side(direction: direction, pod: nil) }
        var side = PolicyVerdict.Side(direction: direction, pod: ObjectReference(namespace: pod.namespace, name: pod.name))
        for policy in policies where policy.directions.contains(direction) && selects(policy, pod) {
            side.isolatedBy.append(policy.name)
            for (index, rule) in policy.rules(direction).enumerated()
            where admits(rule.peers, other, in: policy) && covers(rule.ports, query, destination: destination.pod) {
                side.allowedBy.append(RuleReference(policy: policy.name, direction: direction, rule: index))
            }
        }
        return side
    }

    func selects(_ policy: CompiledPolicy, _ pod: PodSpec) -> Bool {
        (policy.namespace == nil || policy.namespace == pod.namespace) && policy.podSelector.matches(pod.labels)
    }

    func admits(_ peers: [CompiledPolicy.Peer], _ other: End, in policy: CompiledPolicy) -> Bool {
        peers.isEmpty || peers.contains { peer in
            switch peer {
            case .block(let cidr, let except):
                guard let address = other.address else { return false }
                return cidr.contains(address) && !except.contains { $0.contains(address) }
            case .nobody:
                return false
            case .pods(let namespaces, let selector):
                guard let pod = other.pod else { return false }
                let inNamespace: Bool
                switch namespaces {
                case .any: inNamespace = true
                case .named(let name): inNamespace = pod.namespace == name
                case .selector(let selector): inNamespace = selector.matches(other.namespaceLabels)
                }
                return inNamespace && (selector?.matches(pod.labels) ?? true)
            }
        }
    }

    func covers(_ ports: [CompiledPolicy.Port], _ query: Query, destination: PodSpec?) -> Bool {
        ports.isEmpty || ports.contains { port in
            guard port.proto == query.proto else { return false }
            switch port.ports {
            case .all: return true
            case .range(let range): return range.contains(query.port)
            case .none: return false
            case .named(let name):
                return destination?.ports.contains { $0.name == name && $0.protocol.rawValue == query.proto.rawValue && $0.containerPort == Int32(query.port) } ?? false
            }
        }
    }
}

/// A rule that admitted a packet: the policy, the direction, the rule's index there.
public struct RuleReference: Hashable, Sendable, CustomStringConvertible {
    public var policy: String
    public var direction: PolicyDirection
    public var rule: Int
    public var description: String { "\(policy) \(direction)[\(rule)]" }
}

/// The answer for one packet, both sides with their reasons.
public struct PolicyVerdict: Hashable, Sendable, CustomStringConvertible {
    public var egress: Side
    public var ingress: Side

    public struct Side: Hashable, Sendable {
        public var direction: PolicyDirection
        /// The pod on this side; nil when that end is not a pod (then nothing is judged here).
        public var pod: ObjectReference?
        public var isolatedBy: [String] = []
        public var allowedBy: [RuleReference] = []

        public var isolated: Bool { !isolatedBy.isEmpty }
        public var allowed: Bool { !isolated || !allowedBy.isEmpty }

        /// "ingress of x/b: isolated by x/deny-all; no rule admits it".
        public var reason: String {
            guard let pod else { return "\(direction): not a pod, not judged" }
            let what = direction == .ingress ? "ingress to \(pod)" : "egress from \(pod)"
            if !isolated { return "\(what): not isolated" }
            if allowedBy.isEmpty { return "\(what): isolated by \(isolatedBy.joined(separator: ", ")); no rule admits it" }
            return "\(what): allowed by \(allowedBy.map(\.description).joined(separator: ", "))"
        }
    }

    public var allowed: Bool { egress.allowed && ingress.allowed }

    public var description: String { "\(allowed ? "allow" : "deny"): \(egress.reason); \(ingress.reason)" }
}
