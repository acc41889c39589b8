import Crypto
import Foundation
import Netlink
import WeftModel

/// The XFRM objects that encrypt the overlay, derived from the desired state and this
/// node's key-agreement private key. Per encrypting peer:
///
/// | object | selector / template |
/// |---|---|
/// | outbound SA  | node → peer, SPI = `outbound.spi`, key derived with this node as source |
/// | inbound SA   | peer → node, SPI = `inbound.spi`, key derived with the peer as source; output-mark = peer's mark |
/// | out policy   | UDP dport 4789 node/32 → peer/32: encrypt with the outbound SA |
/// | in policy    | UDP dport 4789 peer/32 → node/32: level required, so plaintext VXLAN from the peer is dropped |
///
/// VXLAN traffic has destination port 4789 and a hashed source port in both directions,
/// hence `dport` in both selectors. All carry reqid 0x57000000 + peer index (Weft's range).
public struct DesiredEncryption: Hashable, Sendable {
    public var states: [XfrmState] = []
    public var policies: [XfrmPolicy] = []

    public static let aead = "rfc4106(gcm(aes))"
    public static func reqid(peerIndex: UInt32) -> UInt32 { Ownership.reqid(peerIndex: peerIndex) }
    public static func mark(peerIndex: UInt32) -> XfrmMark { Ownership.mark(peerIndex: peerIndex) }

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ state: DesiredNodeState, privateKey: P256.KeyAgreement.PrivateKey?, cache: SharedSecretCache? = nil) throws {
        guard state.cluster.encryption else { return }
        let node = state.node
        guard let local = IPAddress(node.underlay) else { throw Error(description: "node.underlay \"\(node.underlay)\" is not an address") }
        let lifetime = Self.lifetime(state.cluster.saLimits ?? .default)
        var used: Set<SharedSecretCache.Entry> = []
        defer { cache?.retainOnly(used) }
        for (i, peer) in state.peers.enumerated() where peer.encrypt {
            guard let privateKey else { throw Error(description: "peers[\(i)] (\(peer.name)) must encrypt, but the agent has no key-agreement key (--key)") }
            guard let outPlan = peer.activeOutbound, !peer.activeInbound.isEmpty else {
                throw Error(description: "peers[\(i)] (\(peer.name)) must encrypt but has no outbound/inbound SA plan")
            }
            guard let encoded = peer.keyAgreementPublicKey else { throw Error(description: "peers[\(i)].keyAgreementPublicKey is missing") }
            guard let remote = IPAddress(peer.underlay) else { throw Error(description: "peers[\(i)].underlay \"\(peer.underlay)\" is not an address") }
            let reqid = Self.reqid(peerIndex: peer.index)
            let port = state.cluster.port
            func key(_ plan: SAPlan, outbound: Bool) throws -> SecretBytes {
                let (source, destination) = outbound ? (node.name, peer.name) : (peer.name, node.name)
                let (from, to) = outbound ? (local, remote) : (remote, local)
                let context = TrafficKeys.Context(
                    clusterID: state.cluster.id, epoch: plan.epoch, spi: plan.spi, source: source, destination: destination,
                    sourceIncarnation: (outbound ? node.incarnation : peer.incarnation) ?? "",
                    destinationIncarnation: (outbound ? peer.incarnation : node.incarnation) ?? "",
                    sourceAddress: from.description, destinationAddress: to.description)
                used.insert(SharedSecretCache.Entry(peerKey: encoded, context: context))
                let derive = {
                    guard let raw = Data(base64Encoded: encoded), let publicKey = try? P256.KeyAgreement.PublicKey(x963Representation: raw) else {
                        throw Error(description: "peers[\(i)].keyAgreementPublicKey is not a base64 P-256 public key")
                    }
                    return try TrafficKeys.derive(privateKey: privateKey, peerPublicKey: publicKey, context: context)
                }
                return try cache?.key(peerKey: encoded, context: context, derive: derive) ?? derive()
            }

            var out = Self.sa(from: local, to: remote, spi: outPlan.spi, reqid: reqid, key: try key(outPlan, outbound: true), port: port)
            out.replayWindow = 0
            out.lifetime = lifetime
            states.append(out)
            // Both inbound generations during a rotation: the peer may send with either.
            for inPlan in peer.activeInbound {
                var inbound = Self.sa(from: remote, to: local, spi: inPlan.spi, reqid: reqid, key: try key(inPlan, outbound: false), port: port)
                inbound.outputMark = Self.mark(peerIndex: peer.index)
                inbound.lifetime = lifetime
                states.append(inbound)
            }
            policies += [Self.policy(.out, from: local, to: remote, reqid: reqid, port: port),
                         Self.policy(.in, from: remote, to: local, reqid: reqid, port: port)]
        }
    }

    static func lifetime(_ limits: SALimits) -> XfrmLifetime {
        var lifetime = XfrmLifetime()
        lifetime.softPacketLimit = limits.softPackets
        lifetime.hardPacketLimit = limits.hardPackets
        lifetime.softByteLimit = limits.softBytes ?? XfrmLifetime.infinite
        lifetime.hardByteLimit = limits.hardBytes ?? XfrmLifetime.infinite
        return lifetime
    }

    static func sa(from source: IPAddress, to destination: IPAddress, spi: UInt32, reqid: UInt32, key: SecretBytes, port: UInt16) -> XfrmState {
        var sa = XfrmState(source: source, destination: destination, spi: spi, reqid: reqid)
        sa.aead = XfrmAlgorithm(name: aead, key: key, lengthBits: 128)
        sa.replayWindow = 32
        sa.selector = XfrmSelector(source: IPPrefix(source, UInt8(source.bitWidth)), destination: IPPrefix(destination, UInt8(destination.bitWidth)),
                                   protocolID: .udp, destinationPort: port)
        return sa
    }

    static func policy(_ direction: XfrmDirection, from source: IPAddress, to destination: IPAddress, reqid: UInt32, port: UInt16) -> XfrmPolicy {
        let selector = XfrmSelector(source: IPPrefix(source, UInt8(source.bitWidth)), destination: IPPrefix(destination, UInt8(destination.bitWidth)),
                                    protocolID: .udp, destinationPort: port)
        var policy = XfrmPolicy(selector: selector, direction: direction, templates: [XfrmTemplate(source: source, destination: destination, reqid: reqid)])
        policy.priority = Ownership.xfrmPolicyPriority
        return policy
    }
}

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

/// One XFRM change, in the order to apply.
public enum XfrmChange: Hashable, Sendable, CustomStringConvertible {
    case addState(XfrmState), deleteState(XfrmState)
    /// XFRM_MSG_UPDSA: new limits or output mark on a live SA; key and counters stay.
    case updateState(XfrmState)
    case addPolicy(XfrmPolicy), replacePolicy(XfrmPolicy), deletePolicy(XfrmPolicy)

    public var change: Change {
        switch self {
        case .addState(let s): Change(.add, .xfrmState, Self.key(s))
        case .deleteState(let s): Change(.delete, .xfrmState, Self.key(s))
        case .updateState(let s): Change(.update, .xfrmState, Self.key(s))
        case .addPolicy(let p): Change(.add, .xfrmPolicy, Self.key(p))
        case .replacePolicy(let p): Change(.replace, .xfrmPolicy, Self.key(p))
        case .deletePolicy(let p): Change(.delete, .xfrmPolicy, Self.key(p))
        }
    }

    public var description: String { change.description }

    static func key(_ s: XfrmState) -> String { "\(s.source) -> \(s.destination) spi 0x\(String(s.spi, radix: 16))" }
    static func key(_ p: XfrmPolicy) -> String { "\(p.selector.source) -> \(p.selector.destination) dir \(p.direction)" }

    var request: Request {
        switch self {
        case .addState(let s): s.request(.add)
        case .deleteState(let s): s.request(.delete)
        case .updateState(let s): s.request(.replace)
        case .addPolicy(let p): p.request(.add)
        case .replacePolicy(let p): p.request(.replace)
        case .deletePolicy(let p): p.request(.delete)
        }
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
