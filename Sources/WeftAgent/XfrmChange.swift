import Netlink

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
