import WeftModel

/// What a pod's identity is made of: its namespace and its labels. Pods with the same
/// namespace and label set share one numeric identity (Cilium's model), so policy is
/// compiled per identity, not per pod.
public struct IdentityKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// "ns=default,app=web,tier=front": namespace first, then labels sorted by key.
    public let canonical: String
    public let namespace: String
    public let labels: [String: String]

    public init(namespace: String, labels: [String: String]) {
        self.namespace = namespace
        self.labels = labels
        canonical = (["ns=\(namespace)"] + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: ",")
    }

    public init(_ pod: PodSpec) { self.init(namespace: pod.namespace, labels: pod.labels) }

    public var description: String { canonical }
    public static func < (a: IdentityKey, b: IdentityKey) -> Bool { a.canonical < b.canonical }
    public static func == (a: IdentityKey, b: IdentityKey) -> Bool { a.canonical == b.canonical }
    public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }

    /// Does a selector (labels that must all be present with these values, optionally a
    /// namespace) match this identity? An empty selector matches every identity.
    func matches(namespace wanted: String?, labels selector: [String: String]) -> Bool {
        if let wanted, wanted != namespace { return false }
        return selector.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// Numbers handed out so far, persisted by the controller so that identities and node
/// indexes survive restarts (an agent's maps and SAs are keyed by them). The planner only
/// adds to it; new entries are allocated in sorted order, so the same input always yields
/// the same numbers.
public struct Allocations: Codable, Hashable, Sendable {
    /// Identity key (canonical) → identity. Numbers start at 256 (below: reserved).
    public var identities: [String: UInt32] = [:]
    /// Node name → index (1-65535: it goes into 16-bit marks and SPIs).
    public var nodeIndexes: [String: UInt32] = [:]
    /// The last index handed out: indexes are not reused soon after a node leaves, so an
    /// SPI derived from a departed node's index cannot meet one of its SAs still installed.
    public var lastNodeIndex: UInt32 = 0
    public var lastIdentity: UInt32 = 255

    public init() {}

    public static let firstIdentity: UInt32 = 256

    mutating func identity(for key: IdentityKey) -> UInt32 {
        if let known = identities[key.canonical] { return known }
        lastIdentity += 1
        identities[key.canonical] = lastIdentity
        return lastIdentity
    }

    /// Allocates indexes for the names that have none, in the order given.
    mutating func allocateNodeIndexes(for names: [String]) throws(PlanError) {
        var used = Set(nodeIndexes.values)
        for name in names where nodeIndexes[name] == nil {
            var candidate = lastNodeIndex, found = false
            for _ in 0..<0xffff {
                candidate = candidate % 0xffff + 1
                if used.insert(candidate).inserted { found = true; break }
            }
            guard found else { throw PlanError("no node index left for \(name) (65,535 nodes)") }
            lastNodeIndex = candidate
            nodeIndexes[name] = candidate
        }
    }
}

public struct PlanError: Error, CustomStringConvertible, Hashable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
