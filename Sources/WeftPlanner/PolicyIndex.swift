import WeftModel

/// Which identities each policy selects and admits, kept current as identities come and
/// go. Rules for a node follow from its local identities: a selected identity D admits
/// (S, D, proto, port) for every source S of every policy selecting D; an identity no
/// policy selects admits everything (`PolicyRule.anySource`), but only on a node that has
/// a selected identity at all (elsewhere enforcement is off).
///
/// The filter is stateless and judges a reply by its reversed tuple, so a node also needs
/// the rules in which its selected identities are the *source*: (D, T, proto, port) for
/// every T that D may reach. Without them the reply to D's own connection to T would
/// meet no rule at D's node.
struct PolicyIndex {
    let policies: [PolicySpec]
    /// Identity → indexes of the policies selecting it / admitting it as a source.
    private(set) var selectedBy: [UInt32: [Int]] = [:]
    private(set) var admittedBy: [UInt32: [Int]] = [:]
    /// Policy index → identities it selects / admits as sources.
    private(set) var selected: [Set<UInt32>]
    private(set) var sources: [Set<UInt32>]

    /// "key=value" → policies whose selector (or one of whose `from` selectors) requires
    /// it; selectors without labels match on namespace alone and are always candidates.
    /// An identity then checks only the policies one of its labels names, not all 1,000.
    private var selectorIndex: [String: [Int]] = [:], fromIndex: [String: [Int]] = [:]
    private var selectorAlways: [Int] = [], fromAlways: [Int] = []

    init(policies: [PolicySpec]) {
        self.policies = policies
        selected = Array(repeating: [], count: policies.count)
        sources = Array(repeating: [], count: policies.count)
        for (j, policy) in policies.enumerated() {
            if let label = policy.selector.min(by: { $0.key < $1.key }) { selectorIndex["\(label.key)=\(label.value)", default: []].append(j) }
            else { selectorAlways.append(j) }
            for from in policy.from {
                if let label = from.labels.min(by: { $0.key < $1.key }) { fromIndex["\(label.key)=\(label.value)", default: []].append(j) }
                else { fromAlways.append(j) }
            }
        }
    }

    /// Policies that may select / admit `key` (a superset; `selects`/`admits` decide).
    private func candidates(_ key: IdentityKey, _ index: [String: [Int]], _ always: [Int]) -> [Int] {
        var found = always
        for (name, value) in key.labels { found += index["\(name)=\(value)"] ?? [] }
        return Array(Set(found)).sorted()
    }

    func selects(_ j: Int, _ key: IdentityKey) -> Bool {
        key.matches(namespace: policies[j].namespace, labels: policies[j].selector)
    }

    func admits(_ j: Int, _ key: IdentityKey) -> Bool {
        policies[j].from.contains { key.matches(namespace: $0.namespace ?? policies[j].namespace, labels: $0.labels) }
    }

    /// Adds an identity; returns the policies that admit it as a source.
    @discardableResult
    mutating func add(_ identity: UInt32, _ key: IdentityKey) -> [Int] {
        var selecting: [Int] = [], admitting: [Int] = []
        for j in candidates(key, selectorIndex, selectorAlways) where selects(j, key) { selecting.append(j); selected[j].insert(identity) }
        for j in candidates(key, fromIndex, fromAlways) where admits(j, key) { admitting.append(j); sources[j].insert(identity) }
        if !selecting.isEmpty { selectedBy[identity] = selecting }
        if !admitting.isEmpty { admittedBy[identity] = admitting }
        return admitting
    }

    /// Policies selecting the identity (call after `add`).
    func selecting(_ identity: UInt32) -> [Int] { selectedBy[identity] ?? [] }

    mutating func remove(_ identity: UInt32) {
        selectedBy[identity] = nil
        admittedBy[identity] = nil
        for j in policies.indices {
            selected[j].remove(identity)
            sources[j].remove(identity)
        }
    }

    func isSelected(_ identity: UInt32) -> Bool { selectedBy[identity] != nil }

    /// The rules admitting traffic to `identity`.
    func rules(to identity: UInt32, into rules: inout Set<PolicyRule>) {
        guard let selecting = selectedBy[identity] else {
            rules.insert(PolicyRule(source: PolicyRule.anySource, destination: identity, proto: "any", port: 0))
            return
        }
        for j in selecting {
            for source in sources[j] {
                rules.insert(PolicyRule(source: source, destination: identity, proto: policies[j].proto, port: policies[j].port))
            }
        }
    }

    /// The rules in which `identity` is the source: what the reply check needs.
    func reverseRules(from identity: UInt32, into rules: inout Set<PolicyRule>) {
        for j in admittedBy[identity] ?? [] {
            for target in selected[j] {
                rules.insert(PolicyRule(source: identity, destination: target, proto: policies[j].proto, port: policies[j].port))
            }
        }
    }

    /// The identities a node hosting selected `identity` must resolve (for the ipcache):
    /// its admitted sources, and the targets it may reach (for replies).
    func referenced(by identity: UInt32, into set: inout Set<UInt32>) {
        for j in selectedBy[identity] ?? [] { set.formUnion(sources[j]) }
        guard selectedBy[identity] != nil else { return }
        for j in admittedBy[identity] ?? [] { set.formUnion(selected[j]) }
    }
}
