import Netlink
import Synchronization
import WeftAgent

/// The soft expiries seen since the last acknowledgement to the controller, and the
/// node's underlay address they are judged against (an expiry names the SA by its
/// addresses; the direction follows from which one is ours).
public final class ExpiryLog: Sendable {
    private struct State {
        var underlay: IPAddress?
        var soft: [UInt32] = []
    }
    /// Enough for every SA of a large cluster twice over; more (a flood of expiries)
    /// keeps the newest, and the controller rotates on any of them.
    static let limit = 65_536
    private let state = Mutex(State())

    public init() {}

    public var localUnderlay: IPAddress? {
        get { state.withLock { $0.underlay } }
        set { state.withLock { $0.underlay = newValue } }
    }

    /// The expiry an event reports (nil: not one of Weft's SAs); a soft one is kept.
    func record(_ event: XfrmExpire) -> SAExpiry? {
        state.withLock { state in
            guard let expiry = SAExpiry(event, localUnderlay: state.underlay) else { return nil }
            if !expiry.hard {
                if state.soft.count >= Self.limit { state.soft.removeFirst(state.soft.count / 2) }
                state.soft.append(expiry.spi)
            }
            return expiry
        }
    }

    /// The soft-expired SPIs seen since the last call.
    public func drainSoft() -> [UInt32] {
        state.withLock { state in
            defer { state.soft = [] }
            return state.soft
        }
    }
}
