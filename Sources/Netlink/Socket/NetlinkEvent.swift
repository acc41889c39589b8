/// A multicast notification decoded into the object it is about.
public enum NetlinkEvent: Sendable {
    case link(Link, removed: Bool)
    case address(Address, removed: Bool)
    case neighbour(Neighbour, removed: Bool)
    case fdb(FDBEntry, removed: Bool)
    case route(Route, removed: Bool)
    case nexthop(Nexthop, removed: Bool)
    case xfrmState(XfrmState, removed: Bool)
    case xfrmPolicy(XfrmPolicy, removed: Bool)
    case xfrmExpire(XfrmExpire)
    case xfrmFlush(what: String)
    /// A message type this decoder does not model.
    case other(MessageType)

    public init(decoding message: Message, family: NetlinkFamily) throws(WireError) {
        let type = message.header.type
        if family == .xfrm {
            self = try Self.xfrm(message)
            return
        }
        switch type {
        case .newLink, .delLink: self = .link(try Link(decoding: message), removed: type == .delLink)
        case .newAddr, .delAddr: self = .address(try Address(decoding: message), removed: type == .delAddr)
        case .newRoute, .delRoute: self = .route(try Route(decoding: message), removed: type == .delRoute)
        case .newNexthop, .delNexthop: self = .nexthop(try Nexthop(decoding: message), removed: type == .delNexthop)
        case .newNeigh, .delNeigh:
            if FDBEntry.isMember(message) {
                self = .fdb(try FDBEntry(decoding: message), removed: type == .delNeigh)
            } else {
                self = .neighbour(try Neighbour(decoding: message), removed: type == .delNeigh)
            }
        default: self = .other(type)
        }
    }

    private static func xfrm(_ message: Message) throws(WireError) -> NetlinkEvent {
        switch message.header.type {
        case .xfrmNewSA, .xfrmUpdSA: return .xfrmState(try XfrmState(decoding: message), removed: false)
        case .xfrmNewPolicy, .xfrmUpdPolicy: return .xfrmPolicy(try XfrmPolicy(decoding: message), removed: false)
        case .xfrmExpire: return .xfrmExpire(try XfrmExpire(decoding: message))
        case .xfrmDelSA:
            // xfrm_usersa_id, then the whole SA in XFRMA_SA.
            let embedded = try embeddedInfo(message, idSize: 24, attribute: 6, context: "XFRMA_SA")
            return .xfrmState(try XfrmState(decoding: embedded), removed: true)
        case .xfrmDelPolicy:
            // xfrm_userpolicy_id, then the whole policy in XFRMA_POLICY.
            let embedded = try embeddedInfo(message, idSize: 64, attribute: 7, context: "XFRMA_POLICY")
            return .xfrmPolicy(try XfrmPolicy(decoding: embedded), removed: true)
        case .xfrmFlushSA: return .xfrmFlush(what: "states")
        case .xfrmFlushPolicy: return .xfrmFlush(what: "policies")
        default: return .other(message.header.type)
        }
    }

    private static func embeddedInfo(_ message: Message, idSize: Int, attribute: UInt16, context: String) throws(WireError) -> Message {
        let r = ByteReader(message.payload, context: context)
        let attributes = try AttributeSet(parsing: try r.rest(from: idSize), context: context)
        guard let info = attributes[attribute] else { throw WireError(context, "delete notification without the deleted object") }
        return Message(header: message.header, payload: info.payload)
    }
}
