import WeftModel

/// The keying plan: which SAs exist between which nodes, with which SPI and epoch. Keys
/// themselves are derived on the nodes (docs/desired-state.md); nothing here can compute
/// one.
///
/// SPIs are a function of the sender's index and the epoch, chosen for the receiver:
/// `epoch mod 256` in the top byte, the sender's 16-bit index below it, 0x57 at the bottom
/// (never < 256, never 0). Per receiving node they are unique across senders (indexes
/// are), and one sender's SPI comes back only 256 epochs later, long after its SA is gone;
/// node indexes are not reused soon after a node leaves (`Allocations`).
public enum Keying {
    public static func spi(senderIndex: UInt32, epoch: UInt32) -> UInt32 {
        (epoch & 0xff) << 24 | (senderIndex & 0xffff) << 8 | 0x57
    }
}

/// Rotation progress, advanced only by agent acknowledgements (make-before-break):
///
/// 1. `startRotation()`: target = current + 1. Every receiver gets `inboundNext` (target).
/// 2. A node that acknowledged a revision holding its target-epoch inbound SAs for all its
///    peers is `inboundReady`; its peers' `outboundNext` towards it turn `ready`, and they
///    switch.
/// 3. A node that acknowledged a revision in which it sends with the target epoch to all its
///    peers is `outboundSwitched`; its peers then drop the old inbound SA from it.
/// 4. When every node has switched, current = target and the rotation is over.
public struct RotationState: Codable, Hashable, Sendable {
    public var currentEpoch: UInt32 = 1
    public var targetEpoch: UInt32 = 1
    /// Node → highest epoch whose inbound SAs (from every peer) it acknowledged installing.
    public var inboundReady: [String: UInt32] = [:]
    /// Node → highest epoch it acknowledged sending with, towards every peer.
    public var outboundSwitched: [String: UInt32] = [:]

    public init() {}

    public var rotating: Bool { targetEpoch != currentEpoch }

    /// Starts a rotation unless one is under way. Returns whether it started.
    public mutating func startRotation() -> Bool {
        guard !rotating else { return false }
        targetEpoch = currentEpoch &+ 1
        return true
    }

    /// What the controller learned from an acknowledged revision of `node`'s state.
    public mutating func acknowledge(node: String, inboundEpoch: UInt32?, outboundEpoch: UInt32?) {
        if let inboundEpoch, inboundEpoch > inboundReady[node, default: 0] { inboundReady[node] = inboundEpoch }
        if let outboundEpoch, outboundEpoch > outboundSwitched[node, default: 0] { outboundSwitched[node] = outboundEpoch }
    }

    /// Ends the rotation once every node in `nodes` has switched. Returns whether it ended.
    public mutating func completeIfDone(nodes: some Sequence<String>) -> Bool {
        guard rotating, nodes.allSatisfy({ outboundSwitched[$0, default: 0] >= targetEpoch }) else { return false }
        currentEpoch = targetEpoch
        return true
    }

    /// The SA plans of node `me` (index `meIndex`) for peer `peer`.
    func plans(me: String, meIndex: UInt32, peer: String, peerIndex: UInt32)
        -> (outbound: SAPlan, outboundNext: SAPlan?, inbound: SAPlan, inboundNext: SAPlan?) {
        let current = currentEpoch, target = targetEpoch
        func toPeer(_ epoch: UInt32, ready: Bool? = nil) -> SAPlan {
            SAPlan(spi: Keying.spi(senderIndex: meIndex, epoch: epoch), epoch: epoch, ready: ready)
        }
        func fromPeer(_ epoch: UInt32) -> SAPlan { SAPlan(spi: Keying.spi(senderIndex: peerIndex, epoch: epoch), epoch: epoch) }
        guard rotating else { return (toPeer(current), nil, fromPeer(current), nil) }
        let outbound: (SAPlan, SAPlan?) = outboundSwitched[me, default: 0] >= target
            ? (toPeer(target), nil)
            : (toPeer(current), toPeer(target, ready: inboundReady[peer, default: 0] >= target))
        let inbound: (SAPlan, SAPlan?) = outboundSwitched[peer, default: 0] >= target
            ? (fromPeer(target), nil)
            : (fromPeer(current), fromPeer(target))
        return (outbound.0, outbound.1, inbound.0, inbound.1)
    }
}
