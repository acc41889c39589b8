/// The one diff every kind of object goes through (the overlay objects, XFRM states and
/// policies, trust-map entries): what must be added, updated and deleted so that what is
/// observed becomes what is desired, for objects identified by a key. Pure.
///
/// Deterministic: additions and updates come in the order `desired` is walked (the
/// caller sorts it where the kernel would not care, or keeps the peer order where it
/// does), deletions in `deleteOrder`. `same` says whether an observed value already is the
/// desired one; it compares only what Weft sets, never what the kernel fills in.
public struct KeyedDiff<Key: Hashable, Value> {
    public enum Edit {
        case add(Key, Value)
        case update(Key, observed: Value, desired: Value)
        case delete(Key, Value)
    }

    /// Additions and updates, in the order of `desired`.
    public private(set) var upserts: [Edit] = []
    /// Deletions, in `deleteOrder`.
    public private(set) var deletes: [Edit] = []

    public var isEmpty: Bool { upserts.isEmpty && deletes.isEmpty }

    /// Later duplicates of a desired key are ignored (the first one wins). Only keys are
    /// remembered while walking `desired`: no copy of its values is made.
    public init(desired: some Sequence<(key: Key, value: Value)>, observed: [Key: Value], same: (Value, Value) -> Bool,
                deleteOrder: (Key, Key) -> Bool) {
        var upserts: [Edit] = [], deletes: [Edit] = []
        Self.walk(desired: desired, observed: observed, same: same, deleteOrder: deleteOrder,
                  upsert: { upserts.append($0) }, delete: { deletes.append($0) })
        (self.upserts, self.deletes) = (upserts, deletes)
    }

    /// The same diff handed out one edit at a time, all upserts first: for callers that turn
    /// edits into their own changes and must not hold every edit of 20,000 peers twice.
    /// `isDesired`, when the caller has the desired keys at hand (a map, a set), answers for
    /// them instead of a set built on the way (whose keys are then unique already).
    public static func walk(desired: some Sequence<(key: Key, value: Value)>, observed: [Key: Value], same: (Value, Value) -> Bool,
                            deleteOrder: (Key, Key) -> Bool, isDesired: ((Key) -> Bool)? = nil,
                            upsert: (Edit) -> Void, delete: (Edit) -> Void) {
        var wanted = Set<Key>(minimumCapacity: isDesired == nil ? observed.count : 0)
        for (key, value) in desired where isDesired != nil || wanted.insert(key).inserted {
            if let current = observed[key] {
                if !same(current, value) { upsert(.update(key, observed: current, desired: value)) }
            } else {
                upsert(.add(key, value))
            }
        }
        let stale = observed.keys.filter { !(isDesired?($0) ?? wanted.contains($0)) }
        for key in stale.sorted(by: deleteOrder) { delete(.delete(key, observed[key]!)) }
    }
}

extension KeyedDiff where Value: Equatable {
    /// Two maps, the desired one walked in key order.
    public init(desired: [Key: Value], observed: [Key: Value], order: (Key, Key) -> Bool) {
        self.init(desired: desired.sorted { order($0.key, $1.key) }.lazy.map { (key: $0.key, value: $0.value) },
                  observed: observed, same: ==, deleteOrder: order)
    }
}

extension KeyedDiff where Value == Bool {
    /// Two sets (objects that are all key): nothing to update, only to add and delete.
    public init(desired: Set<Key>, observed: Set<Key>, order: (Key, Key) -> Bool) {
        self.init(desired: desired.sorted(by: order).lazy.map { (key: $0, value: true) },
                  observed: Dictionary(uniqueKeysWithValues: observed.lazy.map { ($0, true) }), same: ==, deleteOrder: order)
    }
}
