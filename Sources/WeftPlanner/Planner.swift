import WeftModel

/// What the controller knows about a joined node beyond the cluster spec: its certified
/// key-agreement public key and its current incarnation (from its join / acknowledgements).
public struct NodeCredentials: Codable, Hashable, Sendable {
    public var keyAgreementPublicKey: String
    public var incarnation: String

    public init(keyAgreementPublicKey: String, incarnation: String) {
        self.keyAgreementPublicKey = keyAgreementPublicKey
        self.incarnation = incarnation
    }
}

/// Cluster spec in, per-node desired state out. Pure: no I/O, no clock, no randomness;
/// the same spec, allocations, credentials and rotation state always give the same
/// documents.
///
/// Incremental: pod changes (the common case) update the indexes in place and report
/// exactly the nodes whose desired state changed; a change to nodes, policies, revocations
/// or cluster settings rebuilds the plan. Per-node documents are materialised on demand
/// (`desiredState(for:)`): the peer list is shared by all nodes, so holding 5,000 full
/// documents is never necessary.
public struct Planner: Sendable {
    /// The spec without its pods (those live in `pods`, indexed).
    public internal(set) var structure: ClusterSpec
    public internal(set) var allocations: Allocations
    public internal(set) var credentials: [String: NodeCredentials]
    public internal(set) var rotation: RotationState
    /// Per node: increases whenever its desired state changes.
    public internal(set) var revisions: [String: UInt64] = [:]

    var topology: Topology
    var pods: [PodKey: PodEntry] = [:]
    var identityKeys: [UInt32: IdentityKey] = [:]
    /// Identity → its pods as (address, node index): compact, because building every
    /// node's ipcache walks these arrays millions of times at 150,000 pods.
    var podsByIdentity: [UInt32: [Member]] = [:]
    struct Member: Hashable { var address: IPv4, node: UInt32 }
    /// Node → local identity → pods of it there.
    var localIdentities: [String: [UInt32: Int]] = [:]
    /// Identity → nodes hosting pods of it.
    var nodesByIdentity: [UInt32: Set<String>] = [:]
    var policy: PolicyIndex
    /// The same for egress: which identities each policy isolates for egress and admits as destinations.
    var egress: PolicyIndex
    /// What each identity's named ports resolve to (their pods' container ports).
    var namedPorts = NamedPorts()
    /// Node → identities its rules name besides its own (sources, reply targets); and the
    /// inverse. Their pods are in the node's ipcache.
    var nodeSources: [String: Set<UInt32>] = [:]
    var nodesBySource: [UInt32: Set<String>] = [:]
    /// Node → digest of its own sections, kept current by every change.
    var digests: [String: NodeDigest] = [:]
    /// While a change is applied: the digests of the nodes it touched, as they were before.
    var touched: [String: NodeDigest] = [:]

    struct PodKey: Hashable {
        var namespace: String, name: String
        /// "namespace/name", as `podIdentities` and CNI's K8S_POD_* name a pod.
        var text: String { "\(namespace)/\(name)" }
    }
    /// `address` nil: scheduled, no address yet (an identity on its node, nothing in any ipcache).
    struct PodEntry { var node: String, address: IPv4?, identity: UInt32, spec: PodSpec }
    /// Pods per identity, addressed or not: an identity lives while one is left.
    var identityPodCounts: [UInt32: Int] = [:]
    /// Node → its pods' identities ("namespace/name"): the desired state's `podIdentities`.
    var podsOnNode: [String: [String: UInt32]] = [:]
    /// Pod address → pod, for uniqueness checks of single-pod changes.
    var addresses: [IPv4: PodKey] = [:]

    public init(spec: ClusterSpec, allocations: Allocations = Allocations(), credentials: [String: NodeCredentials] = [:],
                rotation: RotationState = RotationState()) throws(PlanError) {
        let problems = spec.problems()
        guard problems.isEmpty else { throw PlanError(problems.map(\.description).joined(separator: "; ")) }
        structure = spec
        structure.pods = []
        self.allocations = allocations
        self.credentials = credentials
        self.rotation = rotation
        topology = try Topology(spec: spec, allocations: &self.allocations, credentials: credentials)
        policy = PolicyIndex(spec: spec)
        egress = PolicyIndex(spec: spec, direction: .egress)
        // New identities are numbered in sorted order: the same spec, the same numbers.
        let keys = spec.pods.map(IdentityKey.init)
        for key in Set(keys).sorted() { _ = self.allocations.identity(for: key) }
        for (pod, key) in zip(spec.pods, keys) { addPod(pod, key: key, refreshNow: false) }
        for node in localIdentities.keys { refreshSources(node) }
        touched = [:]
        for node in topology.nodes.keys { revisions[node] = 1 }
    }

    // MARK: reading

    /// The whole spec, pods included (sorted by namespace and name).
    public var spec: ClusterSpec {
        var spec = structure
        spec.pods = pods.values.map(\.spec).sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        return spec
    }

    /// Active nodes: joined (credentials known) and not revoked. Only they get a state.
    public var activeNodes: [String] { topology.active.map(\.name) }

    public func identity(of pod: PodSpec) -> UInt32? { pods[PodKey(namespace: pod.namespace, name: pod.name)]?.identity }

    /// `node`'s desired state, or nil when it is not active.
    public func desiredState(for node: String) -> DesiredNodeState? {
        guard let entry = topology.nodes[node], topology.isActive(node) else { return nil }
        var state = DesiredNodeState(revision: revisions[node] ?? 1, cluster: topology.clusterSettings, node: entry.settings,
                                     peers: topology.peers(of: entry, rotation: rotation), ipcache: ipcache(for: node),
                                     policy: rules(for: node), quarantined: topology.quarantined)
        let egressRules = egressRules(for: node)
        state.egressPolicy = egressRules.isEmpty ? nil : egressRules
        let cidrs = cidrs(for: state.policy, egressRules)
        state.cidrs = cidrs.isEmpty ? nil : cidrs
        state.podIdentities = podsOnNode[node] ?? [:]
        state.node.incarnation = credentials[node]?.incarnation
        return state
    }

    func rules(for node: String) -> [PolicyRule] {
        guard let locals = localIdentities[node], locals.keys.contains(where: policy.isSelected) else { return [] }
        var rules: Set<PolicyRule> = [.enforced]
        for identity in locals.keys {
            policy.rules(to: identity, named: namedPorts, into: &rules)
            if policy.isSelected(identity) { policy.reverseRules(from: identity, named: namedPorts, into: &rules) }
        }
        return rules.sorted { ($0.destination, $0.source, $0.proto, $0.port, $0.portEnd ?? 0) < ($1.destination, $1.source, $1.proto, $1.port, $1.portEnd ?? 0) }
    }

    /// What `node`'s pods may send: empty (not enforced) unless one of them is isolated for egress.
    func egressRules(for node: String) -> [PolicyRule] {
        guard let locals = localIdentities[node], locals.keys.contains(where: egress.isSelected) else { return [] }
        var rules: Set<PolicyRule> = [.enforced]
        for identity in locals.keys { egress.rules(from: identity, named: namedPorts, into: &rules) }
        return rules.sorted { ($0.source, $0.destination, $0.proto, $0.port, $0.portEnd ?? 0) < ($1.source, $1.destination, $1.proto, $1.port, $1.portEnd ?? 0) }
    }

    /// The whole CIDR table when a rule names a CIDR identity (all of it: a prefix no rule
    /// names, an `except`, is what keeps its addresses out of the wider block), else none.
    func cidrs(for rules: [PolicyRule], _ egressRules: [PolicyRule]) -> [IPCacheEntry] {
        let table = policy.cidrs
        guard rules.contains(where: { table.isCIDR($0.source) }) || egressRules.contains(where: { table.isCIDR($0.destination) }) else { return [] }
        return table.entries
    }

    /// Local pods, and the pods of every other identity the node's rules name.
    func ipcache(for node: String) -> [IPCacheEntry] {
        var members: [(IPv4, UInt32)] = []
        forEachIPCacheMember(of: node) { members.append(($0, $1)) }
        return members.sorted { $0.0 < $1.0 }.map { IPCacheEntry(cidr: "\($0.0)/32", identity: $0.1) }
    }

    func forEachIPCacheMember(of node: String, _ body: (IPv4, UInt32) -> Void) {
        let index = topology.nodes[node]?.index ?? 0
        for identity in (localIdentities[node] ?? [:]).keys {
            for member in podsByIdentity[identity] ?? [] where member.node == index { body(member.address, identity) }
        }
        for identity in nodeSources[node] ?? [] {
            for member in podsByIdentity[identity] ?? [] where member.node != index { body(member.address, identity) }
        }
    }

    /// The digest of `node` computed from nothing (tests check the maintained one with it).
    func recomputedDigest(_ node: String) -> NodeDigest {
        var digest = NodeDigest()
        forEachIPCacheMember(of: node) { digest.add($0, $1) }
        for (pod, identity) in podsOnNode[node] ?? [:] { digest.add(pod: pod, identity) }
        digest.rules = rulesHash(node)
        return digest
    }

    func rulesHash(_ node: String) -> Int {
        var hasher = Hasher()
        let rules = rules(for: node), egressRules = egressRules(for: node)
        hasher.combine(rules)
        hasher.combine(egressRules)
        hasher.combine(cidrs(for: rules, egressRules))
        return hasher.finalize()
    }

    /// Remembers `node`'s digest before the change being applied first modifies it.
    mutating func touch(_ node: String) {
        if touched[node] == nil { touched[node] = digests[node] ?? NodeDigest() }
    }
}

extension Planner {
    /// What the datapath leaves out of the spec's policies (reported, never silent).
    public var unenforcedPolicy: [UnenforcedPolicyPart] { policy.unenforced + egress.unenforced }

    /// `weftctl policy check`'s judge over the current spec.
    public func policyEvaluator() -> PolicyEvaluator { PolicyEvaluator(spec: spec) }
}
