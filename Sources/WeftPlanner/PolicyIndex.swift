import WeftModel

/// Which identities each policy selects and admits, kept current as identities come and
/// go: the datapath's side of the compiled policies (`DatapathGrant`). Rules for a node
/// follow from its local identities: a selected identity D admits (S, D, proto, port) for
/// every source S of every grant of every policy selecting D (or (ANY, D, ...) for a grant
/// from anyone; S a CIDR identity for an ipBlock, `CIDRIdentities`; a named port resolved
/// at D, `NamedPorts`); an identity no policy selects admits everything
/// (`PolicyRule.anySource`), but only on a node that has a selected identity at all
/// (elsewhere enforcement is off; where it is on, the planner adds `PolicyRule.enforced`).
///
/// Agents before 2026-12 judged a reply by its reversed tuple, so a node also gets the
/// rules in which its selected identities are the *source*: (D, T, proto, port) for every
/// T that D may reach. Today's filters let replies in by connection tracking and need none
/// of them; they stay while such agents may still run (a rolling upgrade), then go.
///
/// The same index serves egress (`direction: .egress`): there "selected" are the pods a
/// policy isolates for egress and a grant's "sources" are the pods its `to` admits as
/// destinations; a node's egress rules are (S, T, proto, port) for its selected S
/// (`rules(from:)`), and (S, ANY, any, 0) for a local S no egress policy selects.
struct PolicyIndex {
    let direction: PolicyDirection
    /// The policies isolating `direction`, and per policy its grants.
    let policies: [CompiledPolicy]
    let grants: [[DatapathGrant]]
    /// What the datapath leaves out, for every policy of the spec.
    let unenforced: [UnenforcedPolicyPart]
    /// The ipBlock prefixes of every policy, both directions (one table per spec).
    let cidrs: CIDRIdentities
    /// The policies with a named port: their rules change when what a name resolves to at
    /// an identity does.
    let namedPortPolicies: [Int]
    let namespaceLabels: [String: [String: String]]
    /// Identity → indexes of the policies selecting it / admitting it as a source.
    private(set) var selectedBy: [UInt32: [Int]] = [:]
    private(set) var admittedBy: [UInt32: [Int]] = [:]
    /// Policy index → identities it selects / admits as sources (through any grant); and
    /// per grant, its sources.
    private(set) var selected: [Set<UInt32>]
    private(set) var sources: [Set<UInt32>]
    private var grantSources: [[Set<UInt32>]]

    /// "key=value" → policies whose selector (or one of whose peers' pod selectors)
    /// requires it; selectors without labels are always candidates. An identity then
    /// checks only the policies one of its labels names, not all 1,000.
    private var selectorIndex: [String: [Int]] = [:], fromIndex: [String: [Int]] = [:]
    private var selectorAlways: [Int] = [], fromAlways: [Int] = []

    init(spec: ClusterSpec, direction: PolicyDirection = .ingress) {
        self.direction = direction
        var policies: [CompiledPolicy] = [], grants: [[DatapathGrant]] = [], unenforced: [UnenforcedPolicyPart] = []
        let all = CompiledPolicy.all(in: spec)
        cidrs = CIDRIdentities(all)
        for policy in all {
            let compiled = DatapathGrant.compile(policy, direction, cidrs: cidrs)
            unenforced += compiled.unenforced
            guard policy.directions.contains(direction) else { continue }
            policies.append(policy)
            grants.append(compiled.grants)
        }
        self.policies = policies
        self.grants = grants
        namedPortPolicies = grants.indices.filter { grants[$0].contains { $0.ports.contains { $0.name != nil } } }
        self.unenforced = unenforced
        namespaceLabels = Dictionary(spec.namespaces.map { ($0.name, $0.effectiveLabels) }, uniquingKeysWith: { a, _ in a })
        selected = Array(repeating: [], count: policies.count)
        sources = Array(repeating: [], count: policies.count)
        grantSources = grants.map { Array(repeating: [], count: $0.count) }
        for (j, policy) in policies.enumerated() {
            if let label = policy.podSelector.matchLabels.min(by: { $0.key < $1.key }) { selectorIndex[Self.term(label), default: []].append(j) }
            else { selectorAlways.append(j) }
            for peer in grants[j].flatMap(\.peers) {
                if let label = peer.pods?.matchLabels.min(by: { $0.key < $1.key }) { fromIndex[Self.term(label), default: []].append(j) }
                else { fromAlways.append(j) }
            }
        }
    }

    private static func term(_ label: (key: String, value: String)) -> String { "\(label.key)=\(label.value)" }

    /// Policies that may select / admit `key` (a superset; `selects`/`admits` decide).
    private func candidates(_ key: IdentityKey, _ index: [String: [Int]], _ always: [Int]) -> [Int] {
        var found = always
        for label in key.labels { found += index[Self.term(label)] ?? [] }
        return Array(Set(found)).sorted()
    }

    func labels(ofNamespace namespace: String) -> [String: String] {
        namespaceLabels[namespace] ?? [NamespaceSpec.nameLabel: namespace]
    }

    func selects(_ j: Int, _ key: IdentityKey) -> Bool {
        (policies[j].namespace == nil || policies[j].namespace == key.namespace) && policies[j].podSelector.matches(key.labels)
    }

    /// Adds an identity; returns the policies that admit it as a source.
    @discardableResult
    mutating func add(_ identity: UInt32, _ key: IdentityKey) -> [Int] {
        var selecting: [Int] = [], admitting: [Int] = []
        for j in candidates(key, selectorIndex, selectorAlways) where selects(j, key) { selecting.append(j); selected[j].insert(identity) }
        let namespace = labels(ofNamespace: key.namespace)
        for j in candidates(key, fromIndex, fromAlways) {
            var admitted = false
            for (g, grant) in grants[j].enumerated() where grant.admits(key, namespaceLabels: namespace) {
                grantSources[j][g].insert(identity)
                admitted = true
            }
            if admitted { admitting.append(j); sources[j].insert(identity) }
        }
        if !selecting.isEmpty { selectedBy[identity] = selecting }
        if !admitting.isEmpty { admittedBy[identity] = admitting }
        return admitting
    }

    /// Policies selecting the identity (call after `add`).
    func selecting(_ identity: UInt32) -> [Int] { selectedBy[identity] ?? [] }

    mutating func remove(_ identity: UInt32) {
        for j in admittedBy[identity] ?? [] {
            sources[j].remove(identity)
            for g in grantSources[j].indices { grantSources[j][g].remove(identity) }
        }
        for j in selectedBy[identity] ?? [] { selected[j].remove(identity) }
        selectedBy[identity] = nil
        admittedBy[identity] = nil
    }

    func isSelected(_ identity: UInt32) -> Bool { selectedBy[identity] != nil }

    /// The rules admitting traffic to `identity`; named ports resolve at `identity`.
    func rules(to identity: UInt32, named: NamedPorts, into rules: inout Set<PolicyRule>) {
        guard let selecting = selectedBy[identity] else {
            rules.insert(PolicyRule(source: PolicyRule.anySource, destination: identity, proto: "any", port: 0))
            return
        }
        forEachGrant(of: selecting) { grant, _, peers in
            for port in grant.ports {
                guard let port = Self.resolve(port, at: identity, named) else { continue }
                for source in peers { rules.insert(Self.rule(source, identity, port)) }
            }
        }
    }

    /// Egress: the rules letting local `identity` send (the index built for `.egress`).
    /// A named port resolves at each destination identity, so it admits pods only: those
    /// of the grant's peers, or (no `to`) of every identity where the name resolves.
    func rules(from identity: UInt32, named: NamedPorts, into rules: inout Set<PolicyRule>) {
        guard let selecting = selectedBy[identity] else {
            rules.insert(PolicyRule(source: identity, destination: PolicyRule.anySource, proto: "any", port: 0))
            return
        }
        forEachGrant(of: selecting) { grant, pods, peers in
            for port in grant.ports {
                guard let key = port.name else {
                    for target in peers { rules.insert(Self.rule(identity, target, port)) }
                    continue
                }
                for target in grant.fromAnyone ? named.identities(resolving: key) : pods.sorted() {
                    if let resolved = Self.resolve(port, at: target, named) { rules.insert(Self.rule(identity, target, resolved)) }
                }
            }
        }
    }

    /// Each grant of the policies `selecting`, with its pods' identities and every identity
    /// it names: anyone (`PolicyRule.anySource`), its pods', its ipBlocks' CIDR identities.
    private func forEachGrant(of selecting: [Int], _ body: (DatapathGrant, Set<UInt32>, [UInt32]) -> Void) {
        for j in selecting {
            for (g, grant) in grants[j].enumerated() {
                body(grant, grantSources[j][g], (grant.fromAnyone ? [PolicyRule.anySource] : []) + grantSources[j][g] + grant.cidrPeers)
            }
        }
    }

    /// The port as the datapath takes it at destination `identity`: a named one resolved
    /// there, or nil where it does not resolve (it admits nothing there).
    static func resolve(_ port: DatapathGrant.Port, at identity: UInt32, _ named: NamedPorts) -> DatapathGrant.Port? {
        guard let key = port.name else { return port }
        return named.resolve(key, at: identity).map { DatapathGrant.Port(proto: port.proto, port: $0) }
    }

    static func rule(_ source: UInt32, _ destination: UInt32, _ port: DatapathGrant.Port) -> PolicyRule {
        PolicyRule(source: source, destination: destination, proto: port.proto, port: port.port, portEnd: port.end)
    }

    /// The rules in which `identity` is the source: what the reply check needs.
    func reverseRules(from identity: UInt32, named: NamedPorts, into rules: inout Set<PolicyRule>) {
        for j in admittedBy[identity] ?? [] {
            for (g, grant) in grants[j].enumerated() where grantSources[j][g].contains(identity) {
                for target in selected[j] {
                    for port in grant.ports {
                        if let port = Self.resolve(port, at: target, named) { rules.insert(Self.rule(identity, target, port)) }
                    }
                }
            }
        }
    }

    /// The identities a node hosting selected `identity` must resolve (for the ipcache):
    /// its admitted sources (egress: its admitted destinations), and for ingress the targets
    /// it may reach (for the reverse rules).
    func referenced(by identity: UInt32, named: NamedPorts, into set: inout Set<UInt32>) {
        for j in selectedBy[identity] ?? [] {
            set.formUnion(sources[j])
            // egress to anyone on a named port: every identity where the name resolves
            guard direction == .egress else { continue }
            for grant in grants[j] where grant.fromAnyone {
                for key in grant.ports.compactMap(\.name) { set.formUnion(named.identities(resolving: key)) }
            }
        }
        guard direction == .ingress, selectedBy[identity] != nil else { return }
        for j in admittedBy[identity] ?? [] { set.formUnion(selected[j]) }
    }
}
