import Netlink

/// One change to the kernel, of any kind Weft manages: what is done (the verb, as `ip`
/// would be told), to which kind of object, the object's key, and what else the change
/// sets. Everything said about changes (the `apply` listing, logs, per-kind counts,
/// `weftctl diff -j`, the controller's acknowledgement) is derived from these fields.
public struct Change: Hashable, Sendable, CustomStringConvertible {
    public enum Verb: String, Sendable, CaseIterable {
        case create, recreate, update, add, replace, delete

        /// Its column in "+added ~changed -deleted".
        public var tally: Tally {
            switch self {
            case .create, .add: .added
            case .recreate, .update, .replace: .changed
            case .delete: .deleted
            }
        }
    }

    public enum Tally: Sendable { case added, changed, deleted }

    /// In the order a reconcile applies them (removals of the overlay objects go in reverse).
    public enum Kind: String, Sendable, CaseIterable {
        case device = "vxlan device", xfrmState = "xfrm state", xfrmPolicy = "xfrm policy"
        case address, neighbour, fdb, nexthop, route
        case mapEntry = "bpf map", tcFilter = "tc filter"
    }

    public var verb: Verb
    public var kind: Kind
    /// The object's key as iproute2 names it: `10.244.2.0/24`, `id 0x57000003`,
    /// `192.0.2.1 -> 192.0.2.2 spi 0x1002`.
    public var object: String
    /// What else the change sets (`nhid 0x57000003`, `lladdr 02:57:46:00:00:03`), if anything.
    public var detail: String
    /// Why (a device changed in place or recreated), if said.
    public var reason: String?

    public init(_ verb: Verb, _ kind: Kind, _ object: String, detail: String = "", reason: String? = nil) {
        self.verb = verb
        self.kind = kind
        self.object = object
        self.detail = detail
        self.reason = reason
    }

    public var description: String {
        "\(verb) \(kind.rawValue) \(object)" + (detail.isEmpty ? "" : " \(detail)") + (reason.map { ": \($0)" } ?? "")
    }
}

/// A change the kernel refused, with its error (the kernel's errno and message).
public struct FailedChange: Sendable, CustomStringConvertible {
    public var change: Change
    public var error: NetlinkError
    public init(change: Change, error: NetlinkError) { (self.change, self.error) = (change, error) }
    public var description: String { "\(change): \(error)" }
}

/// A change the agent would not make, and why (an SA key installed before: `SALedger`).
public struct RefusedChange: Sendable, CustomStringConvertible {
    public var change: Change
    public var reason: String
    public init(change: Change, reason: String) { (self.change, self.reason) = (change, reason) }
    public var description: String { "\(change): \(reason)" }
}

/// Changes per kind: "+added ~changed -deleted".
public struct ChangeCount: Sendable, Equatable, CustomStringConvertible {
    public var kind: Change.Kind
    public var added = 0, changed = 0, deleted = 0

    public var total: Int { added + changed + deleted }
    public var description: String { "\(kind.rawValue) +\(added) ~\(changed) -\(deleted)" }

    /// One count per kind, in `Change.Kind` order.
    public static func of(_ changes: some Sequence<Change>) -> [ChangeCount] {
        var tally = ChangeTally()
        for change in changes { tally.add(change) }
        return tally.counts
    }
}

/// Counts changes as they go by.
struct ChangeTally {
    private var byKind = Dictionary(uniqueKeysWithValues: Change.Kind.allCases.map { ($0, ChangeCount(kind: $0)) })

    mutating func add(_ change: Change) {
        switch change.verb.tally {
        case .added: byKind[change.kind]!.added += 1
        case .changed: byKind[change.kind]!.changed += 1
        case .deleted: byKind[change.kind]!.deleted += 1
        }
    }

    var counts: [ChangeCount] { Change.Kind.allCases.map { byKind[$0]! } }
}
