import WeftModel
import WeftPlanner

/// What the API says, turned into the planner's input: the objects as listed and watched,
/// and from them a `ClusterSpec` holding only what can be planned. A node without a pod
/// CIDR or an underlay address, a pod without an IPv4 address in its node's CIDR, a policy
/// the compiler refuses: each is left out (a policy is replaced by one that isolates the
/// pods it selects and allows nothing, so a refused policy never opens traffic) and
/// named in `excluded`, the reason for an Event, a log line and a metric.
public struct ClusterState: Sendable {
    public struct Options: Sendable {
        /// Which Node address is the underlay: InternalIP (default) or ExternalIP.
        public var nodeAddressType = "InternalIP"
        public init(nodeAddressType: String = "InternalIP") { self.nodeAddressType = nodeAddressType }
    }
    /// Overrides the Node address as the underlay.
    public static let underlayAnnotation = "weft.dev/underlay-address"

    /// The cluster settings (identity, encryption) from the controller's configuration.
    public let settings: ClusterSpec
    public let options: Options
    public internal(set) var nodes: [String: NodeObject] = [:]
    public internal(set) var namespaces: [String: NamespaceObject] = [:]
    public internal(set) var policies: [ObjectReference: NetworkPolicyObject] = [:]
    public internal(set) var pods: [ObjectReference: PodObject] = [:]
    /// The pods in the plan (as the last spec or change said), and their addresses.
    public internal(set) var planned: [ObjectReference: PodSpec] = [:]
    var owners: [IPv4: ObjectReference] = [:]
    /// The nodes of the last spec: what a pod change is checked against.
    public internal(set) var plannedNodes: [NodeSpec] = []
    /// Objects left out and why.
    public internal(set) var excluded: [InvolvedObject: String] = [:]
    /// The same, keyed by how logs name the object ("node n1", "pod x/a", "networkpolicy x/p").
    public var excludedByName: [String: String] { Dictionary(uniqueKeysWithValues: excluded.map { ($0.key.description, $0.value) }) }

    public init(settings: ClusterSpec, options: Options = Options()) {
        var settings = settings
        settings.nodes = []
        settings.pods = []
        settings.namespaces = []
        settings.networkPolicies = []
        self.settings = settings
        self.options = options
    }

    // MARK: objects in

    public mutating func replace(nodes list: [NodeObject]) { nodes = Dictionary(list.map { ($0.metadata.name, $0) }, uniquingKeysWith: { _, b in b }) }
    public mutating func replace(namespaces list: [NamespaceObject]) { namespaces = Dictionary(list.map { ($0.metadata.name, $0) }, uniquingKeysWith: { _, b in b }) }
    public mutating func replace(policies list: [NetworkPolicyObject]) { policies = Dictionary(list.map { (Self.key($0.metadata), $0) }, uniquingKeysWith: { _, b in b }) }
    public mutating func replace(pods list: [PodObject]) { pods = Dictionary(list.map { (Self.key($0.metadata), $0) }, uniquingKeysWith: { _, b in b }) }

    public mutating func set(node: NodeObject, deleted: Bool) { nodes[node.metadata.name] = deleted ? nil : node }
    public mutating func set(namespace: NamespaceObject, deleted: Bool) { namespaces[namespace.metadata.name] = deleted ? nil : namespace }
    public mutating func set(policy: NetworkPolicyObject, deleted: Bool) { policies[Self.key(policy.metadata)] = deleted ? nil : policy }

    static func key(_ meta: ObjectMeta) -> ObjectReference { ObjectReference(namespace: meta.namespace ?? "default", name: meta.name) }

    // MARK: the spec

    /// Everything plannable, and the plan's pod set reset to it.
    public mutating func spec() -> ClusterSpec {
        var spec = settings
        excluded = [:]
        var cidrs: [String: IPv4Prefix] = [:]
        for node in nodes.values.sorted(by: { $0.metadata.name < $1.metadata.name }) {
            switch plannable(node) {
            case .success(let planned):
                spec.nodes.append(planned)
                cidrs[planned.name] = IPv4Prefix(planned.podCIDR)
            case .failure(let reason):
                excluded[InvolvedObject(.node, name: node.metadata.name)] = reason.description
            }
        }
        spec.namespaces = namespaces.values.map { NamespaceSpec(name: $0.metadata.name, labels: $0.metadata.labels ?? [:]) }.sorted { $0.name < $1.name }
        spec.networkPolicies = policies.keys.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }.map { compilable(policies[$0]!) }
        planned = [:]
        owners = [:]
        for key in pods.keys.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            if let pod = admit(key, pods[key]!, cidrs: cidrs) {
                planned[key] = pod
                if let address = IPv4(pod.address) { owners[address] = key }
            }
        }
        spec.pods = planned.keys.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }.map { planned[$0]! }
        // What the API server would have refused but the planner does too (two nodes on one
        // underlay, overlapping pod CIDRs): the later node is left out, then planned again.
        plannedNodes = spec.nodes
        let problems = spec.problems()
        guard !problems.isEmpty else { return spec }
        var refused: Set<String> = []
        for problem in problems {
            if let i = Self.index(problem.path, "nodes"), i < spec.nodes.count { refused.insert(spec.nodes[i].name); excluded[InvolvedObject(.node, name: spec.nodes[i].name)] = problem.message }
        }
        guard !refused.isEmpty else { return spec }
        let kept = nodes.filter { !refused.contains($0.key) }
        var again = self
        again.nodes = kept
        let retried = again.spec()
        planned = again.planned
        owners = again.owners
        plannedNodes = again.plannedNodes
        excluded.merge(again.excluded) { a, _ in a }
        return retried
    }

    static func index(_ path: String, _ field: String) -> Int? {
        guard path.hasPrefix(field + "[") else { return nil }
        return Int(path.dropFirst(field.count + 1).prefix { $0.isNumber })
    }

    public struct Reason: Error, CustomStringConvertible, Sendable { public var description: String }

    /// A Node as the planner takes it: its underlay (annotation, or the address of the
    /// configured type, IPv4) and its first IPv4 pod CIDR.
    public func plannable(_ node: NodeObject) -> Result<NodeSpec, Reason> {
        let cidrs = (node.spec?.podCIDRs ?? []) + [node.spec?.podCIDR].compactMap { $0 }
        guard let cidr = cidrs.first(where: { IPv4Prefix($0) != nil }) else { return .failure(Reason(description: "no IPv4 pod CIDR (spec.podCIDRs) yet")) }
        let annotated = node.metadata.annotations?[Self.underlayAnnotation]
        let address = annotated ?? node.status?.addresses?.first { $0.type == options.nodeAddressType && IPv4($0.address) != nil }?.address
        guard let address, IPv4(address) != nil else {
            return .failure(Reason(description: annotated != nil ? "annotation \(Self.underlayAnnotation) \"\(annotated!.prefix(64))\" is not an IPv4 address" : "no IPv4 \(options.nodeAddressType) address"))
        }
        return .success(NodeSpec(name: node.metadata.name, underlay: address, podCIDR: cidr))
    }

    /// A policy the compiler refuses (an API server of another version may accept what this
    /// one does not, IPv6 blocks today) is kept as isolation only: its pods allow nothing.
    mutating func compilable(_ object: NetworkPolicyObject) -> NetworkPolicy {
        let key = Self.key(object.metadata)
        let policy = NetworkPolicy(metadata: key, spec: object.spec)
        var probe = settings
        probe.networkPolicies = [policy]
        let problems = probe.problems()
        guard !problems.isEmpty else { return policy }
        excluded[InvolvedObject(.networkPolicy, namespace: key.namespace, name: key.name)] = "refused, enforced as isolation only: " + problems.prefix(3).map(\.description).joined(separator: "; ")
        return NetworkPolicy(metadata: key, spec: NetworkPolicySpec(podSelector: object.spec.podSelector, policyTypes: object.spec.policyTypes))
    }
}
