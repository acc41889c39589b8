import Netlink

/// Identity of an SA as the kernel looks it up.
struct StateKey: Hashable, Comparable {
    var destination: IPAddress, spi: UInt32
    init(_ s: XfrmState) { destination = s.destination; spi = s.spi }
    static func < (a: StateKey, b: StateKey) -> Bool { (a.destination, a.spi) < (b.destination, b.spi) }
}

/// Identity of a policy: selector + direction.
struct PolicyKey: Hashable, Comparable {
    var source: IPPrefix, destination: IPPrefix, direction: UInt8
    init(_ p: XfrmPolicy) { source = p.selector.source; destination = p.selector.destination; direction = p.direction.rawValue }
    static func < (a: PolicyKey, b: PolicyKey) -> Bool {
        (a.source.address, a.destination.address, a.direction) < (b.source.address, b.destination.address, b.direction)
    }
}

/// `a + b`, sharing the storage of the one that is not empty when the other is: XFRM changes
/// are large values, and the first programming of 5,000 peers has 20,000 of them.
func joined<T>(_ a: [T], _ b: [T]) -> [T] { b.isEmpty ? a : a.isEmpty ? b : a + b }

/// Weft's SAs and policies in the kernel (by reqid), keyed as the diff compares them; the
/// first of duplicates kept. Filled from the dumps one object at a time, so neither dump is
/// ever held whole, and nothing that is not Weft's is kept at all.
struct ObservedXfrm {
    var states: [StateKey: XfrmState] = [:]
    var policies: [PolicyKey: XfrmPolicy] = [:]

    init() {}

    init(dumping xfrm: NetlinkSocket) throws {
        self = try xfrm.dump(XfrmState.self, into: Self()) { $0.add($1) }
        self = try xfrm.dump(XfrmPolicy.self, into: self) { $0.add($1) }
    }

    mutating func add(_ state: XfrmState) {
        guard Ownership.isWeft(reqid: state.reqid) else { return }
        let key = StateKey(state)
        if states[key] == nil { states[key] = state }
    }

    mutating func add(_ policy: XfrmPolicy) {
        guard policy.templates.contains(where: { Ownership.isWeft(reqid: $0.reqid) }) else { return }
        let key = PolicyKey(policy)
        if policies[key] == nil { policies[key] = policy }
    }
}

/// Pure XFRM diff. SAs are compared by (destination, SPI) and content. Limits and the
/// output mark are updated in place (the key and the sequence counter stay); any other
/// difference deletes the SA and adds it again, which the reconciler allows only with a
/// key never installed before (`SALedger`).
/// Order: SAs before the policies that use them; on removal, policies first. A rotated
/// outbound SA (new SPI) is added before the old one is removed: the kernel picks the
/// newest matching SA, so traffic moves over without a gap.
public func diffXfrm(desired: DesiredEncryption, observedStates: [XfrmState], observedPolicies: [XfrmPolicy]) -> (adds: [XfrmChange], deletes: [XfrmChange]) {
    var observed = ObservedXfrm()
    observedStates.forEach { observed.add($0) }
    observedPolicies.forEach { observed.add($0) }
    return diffXfrm(desired: desired, observed: observed)
}

func diffXfrm(desired: DesiredEncryption, observed: ObservedXfrm) -> (adds: [XfrmChange], deletes: [XfrmChange]) {
    // Desired order (peer by peer) for what is wanted; sorted order for what is stale.
    // Walked, not collected: an edit holds two ~400-byte SAs, and 20,000 of them would be
    // 16 MB held for nothing.
    var replaced: [XfrmChange] = [], adds: [XfrmChange] = [], stalePolicies: [XfrmChange] = [], staleStates: [XfrmChange] = []
    KeyedDiff.walk(desired: desired.states.lazy.map { (key: StateKey($0), value: $0) }, observed: observed.states,
                   same: { sameSA($0, $1) && !needsUpdate($0, to: $1) }, deleteOrder: <, upsert: { edit in
        switch edit {
        case .add(_, let state): adds.append(.addState(state))
        case .update(_, let current, let state) where !sameSA(current, state):
            // A field that cannot change on a live SA: removed, then added again.
            replaced.append(.deleteState(current))
            adds.append(.addState(state))
        case .update(_, _, let state): adds.append(.updateState(state))
        case .delete: break
        }
    }, delete: { edit in
        if case .delete(_, let state) = edit { staleStates.append(.deleteState(state)) }
    })
    KeyedDiff.walk(desired: desired.policies.lazy.map { (key: PolicyKey($0), value: $0) }, observed: observed.policies,
                   same: { $0.templates == $1.templates && $0.priority == $1.priority }, deleteOrder: <, upsert: { edit in
        switch edit {
        case .add(_, let policy): adds.append(.addPolicy(policy))
        case .update(_, _, let policy): adds.append(.replacePolicy(policy))
        case .delete: break
        }
    }, delete: { edit in
        if case .delete(_, let policy) = edit { stalePolicies.append(.deletePolicy(policy)) }
    })
    // A changed SA is removed before its replacement is added (same SPI); stale ones after
    // the policies that used them.
    return (adds: joined(replaced, adds), deletes: joined(stalePolicies, staleStates))
}

/// Limits and the output mark are updated in place on a live SA (the key and the
/// sequence counter stay).
func needsUpdate(_ current: XfrmState, to state: XfrmState) -> Bool {
    current.lifetime.limits != state.lifetime.limits || current.outputMark != state.outputMark
}

/// Compares the fields that cannot change on a live SA; kernel-filled fields (counters,
/// replay stats) and the updatable ones (limits, output mark) are not compared.
func sameSA(_ a: XfrmState, _ b: XfrmState) -> Bool {
    a.source == b.source && a.reqid == b.reqid && a.aead == b.aead
        && a.selector.destinationPort == b.selector.destinationPort && a.mode == b.mode
}

extension XfrmLifetime {
    /// The packet and byte limits Weft sets (soft, hard).
    var limits: [UInt64] { [softPacketLimit, hardPacketLimit, softByteLimit, hardByteLimit] }
}
