/// `XFRM_STATE_*` flags.
public struct XfrmStateFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let noECN = XfrmStateFlags(rawValue: 1)
    public static let decapDSCP = XfrmStateFlags(rawValue: 2)
    public static let noPMTUDisc = XfrmStateFlags(rawValue: 4)
    public static let wildcardReceive = XfrmStateFlags(rawValue: 8)
    public static let icmp = XfrmStateFlags(rawValue: 16)
    public static let afUnspec = XfrmStateFlags(rawValue: 32)
    public static let align4 = XfrmStateFlags(rawValue: 64)
    public static let esn = XfrmStateFlags(rawValue: 128)

    public static let names: [(XfrmStateFlags, String)] = [
        (.noECN, "noecn"), (.decapDSCP, "decap-dscp"), (.noPMTUDisc, "nopmtudisc"), (.wildcardReceive, "wildrecv"),
        (.icmp, "icmp"), (.afUnspec, "af-unspec"), (.align4, "align4"), (.esn, "esn"),
    ]
}

/// An IPsec security association (`XFRM_MSG_NEWSA`), like
/// `ip xfrm state add src A dst B proto esp spi S reqid R mode transport aead NAME KEY ICV`.
///
/// Identity (what the kernel looks SAs up by): destination + SPI + protocol (+ mark).
/// `counters` and `replayStats` are observed only; they are never sent.
public struct XfrmState: NetlinkObject {
    public static let kindName = "xfrm state"
    public static let family = NetlinkFamily.xfrm
    public static let dumpReplyTypes: Set<MessageType> = [.xfrmNewSA]

    public var source: IPAddress
    public var destination: IPAddress
    public var spi: UInt32
    public var protocolID: IPProtocol = .esp
    public var mode: XfrmMode = .transport
    public var reqid: UInt32 = 0
    public var replayWindow: UInt8 = 0
    public var flags: XfrmStateFlags = []
    public var selector: XfrmSelector
    public var lifetime = XfrmLifetime()
    public var aead: XfrmAlgorithm?
    public var encryption: XfrmAlgorithm?
    public var authentication: XfrmAlgorithm?
    /// Which packets this SA applies to on output (`mark`).
    public var mark: XfrmMark?
    /// The mark decrypted packets get (`output-mark`, XFRMA_SET_MARK[_MASK]).
    public var outputMark: XfrmMark?
    public var interfaceID: UInt32?
    public var counters = XfrmCounters()
    public var replayStats = XfrmReplayStats()

    public init(source: IPAddress, destination: IPAddress, spi: UInt32, reqid: UInt32 = 0, mode: XfrmMode = .transport) {
        self.source = source
        self.destination = destination
        self.spi = spi
        self.reqid = reqid
        self.mode = mode
        selector = XfrmSelector(family: .unspecified)
    }

    static let infoSize = 224  // sizeof(struct xfrm_usersa_info)

    private var identity: String {
        "src \(source) dst \(destination) proto \(protocolID) spi 0x\(String(spi, radix: 16))"
    }

    public func request(_ operation: Operation) -> Request {
        if operation == .delete { return deleteRequest() }
        // XFRM has no append; UPDSA replaces an existing SA, NEWSA refuses one (EEXIST).
        let type: MessageType = operation == .replace ? .xfrmUpdSA : .xfrmNewSA
        // The xfrm family ignores NLM_F_CREATE/EXCL (the message type decides), so send none, as iproute2.
        var message = MessageBuilder(type: type, flags: [.request, .ack], capacity: 400)
        message.body { encodeInfo(into: &$0) }
        message.attributes { a in
            if let aead { a.bytes(XfrmAttr.algAEAD, aead.encodeWithLength()) }
            if let encryption { a.bytes(XfrmAttr.algCrypt, encryption.encodePlain()) }
            if let authentication { a.bytes(XfrmAttr.algAuthTrunc, authentication.encodeWithLength()) }
            if let mark { a.xfrmMark(XfrmAttr.mark, mark) }
            if let outputMark {
                a.u32(XfrmAttr.setMark, outputMark.value)
                // Without a mask attribute the kernel uses 0xffffffff.
                if outputMark.mask != 0xffff_ffff { a.u32(XfrmAttr.setMarkMask, outputMark.mask) }
            }
            if let interfaceID { a.u32(XfrmAttr.ifID, interfaceID) }
        }
        return Request(bytes: message.finish(), summary: "\(operation == .replace ? "update" : "add") xfrm state \(identity)")
    }

    private func encodeInfo(into w: inout ByteWriter) {
        selector.encode(into: &w)
        w.append(destination.xfrmBytes)     // xfrm_id.daddr
        w.be32(spi)
        w.u8(protocolID.rawValue)
        w.zeros(3)
        w.append(source.xfrmBytes)          // saddr
        lifetime.encode(into: &w)
        w.zeros(32 + 12)                    // curlft and stats are the kernel's to fill
        w.u32(0)                            // seq
        w.u32(reqid)
        w.u16(UInt16(source.family.rawValue))
        w.u8(mode.rawValue)
        w.u8(replayWindow)
        w.u8(flags.rawValue)
        w.zeros(7)
    }

    private func deleteRequest() -> Request { idRequest(.xfrmDelSA, flags: [.request, .ack], verb: "delete") }

    /// Looks one SA up by destination, SPI and protocol, like `ip xfrm state get`.
    public func getRequest() -> Request { idRequest(.xfrmGetSA, flags: [.request], verb: "get") }

    /// A request carrying `struct xfrm_usersa_id` (destination, SPI, family, protocol).
    private func idRequest(_ type: MessageType, flags: MessageFlags, verb: String) -> Request {
        var message = MessageBuilder(type: type, flags: flags)
        message.body { w in
            w.append(destination.xfrmBytes)
            w.be32(spi)
            w.u16(UInt16(destination.family.rawValue))
            w.u8(protocolID.rawValue)
            w.u8(0)
        }
        message.attributes { a in
            a.bytes(XfrmAttr.sourceAddress, source.xfrmBytes)
            if let mark { a.xfrmMark(XfrmAttr.mark, mark) }
        }
        return Request(bytes: message.finish(), summary: "\(verb) xfrm state \(identity)")
    }

    public static func dumpRequest(family: AddressFamily) -> Request {
        var message = MessageBuilder(type: .xfrmGetSA, flags: [.request, .dump])
        // No fixed header: the kernel parses a dump request's attributes right after nlmsghdr.
        return Request(bytes: message.finish(), summary: "dump xfrm states")
    }

    public init(decoding message: Message) throws(WireError) {
        let r = ByteReader(message.payload, context: "xfrm_usersa_info")
        try self.init(info: r)
        let attributes = try AttributeSet(parsing: try r.rest(from: Self.infoSize), context: "xfrm state")
        try decodeAttributes(attributes)
    }

    /// Decodes the fixed part; shared with XFRM_MSG_EXPIRE, which embeds it.
    init(info r: ByteReader) throws(WireError) {
        try r.require(Self.infoSize)
        let family = AddressFamily(rawValue: UInt8(truncatingIfNeeded: try r.u16(212)))
        guard family == .inet || family == .inet6 else { throw WireError("xfrm_usersa_info", "family \(family.rawValue) is not inet or inet6") }
        selector = try XfrmSelector(decoding: r, at: 0)
        destination = try xfrmAddress(r, 56, family)
        spi = try r.be32(72)
        protocolID = IPProtocol(rawValue: try r.u8(76))
        source = try xfrmAddress(r, 80, family)
        lifetime = try XfrmLifetime(decoding: r, at: 96)
        counters = try XfrmCounters(decoding: r, at: 160)
        replayStats = XfrmReplayStats(replayWindow: try r.u32(192), replay: try r.u32(196), integrityFailed: try r.u32(200))
        reqid = try r.u32(208)
        mode = XfrmMode(rawValue: try r.u8(214))
        replayWindow = try r.u8(215)
        flags = XfrmStateFlags(rawValue: try r.u8(216))
    }

    private mutating func decodeAttributes(_ attributes: AttributeSet) throws(WireError) {
        var setMark: UInt32?, setMarkMask: UInt32?
        for attribute in attributes.all {
            switch attribute.type {
            case XfrmAttr.algAEAD: aead = try XfrmAlgorithm(decoding: attribute, hasLength: true, context: "XFRMA_ALG_AEAD")
            case XfrmAttr.algCrypt: encryption = try XfrmAlgorithm(decoding: attribute, hasLength: false, context: "XFRMA_ALG_CRYPT")
            case XfrmAttr.algAuthTrunc: authentication = try XfrmAlgorithm(decoding: attribute, hasLength: true, context: "XFRMA_ALG_AUTH_TRUNC")
            case XfrmAttr.algAuth where authentication == nil:
                authentication = try XfrmAlgorithm(decoding: attribute, hasLength: false, context: "XFRMA_ALG_AUTH")
            case XfrmAttr.mark: mark = try attribute.xfrmMark("XFRMA_MARK")
            case XfrmAttr.setMark: setMark = try attribute.u32("XFRMA_SET_MARK")
            case XfrmAttr.setMarkMask: setMarkMask = try attribute.u32("XFRMA_SET_MARK_MASK")
            case XfrmAttr.ifID: interfaceID = try attribute.u32("XFRMA_IF_ID")
            default: break
            }
        }
        if let setMark { outputMark = XfrmMark(value: setMark, mask: setMarkMask ?? 0xffff_ffff) }
    }
}

/// `struct xfrm_stats`: replay-window and integrity counters. Observed only.
public struct XfrmReplayStats: Hashable, Sendable {
    public var replayWindow: UInt32 = 0, replay: UInt32 = 0, integrityFailed: UInt32 = 0

    public init(replayWindow: UInt32 = 0, replay: UInt32 = 0, integrityFailed: UInt32 = 0) {
        self.replayWindow = replayWindow
        self.replay = replay
        self.integrityFailed = integrityFailed
    }
}

/// `XFRM_MSG_EXPIRE`: an SA reached a soft limit (rotate now) or a hard one (it is gone).
public struct XfrmExpire: Hashable, Sendable {
    public var state: XfrmState
    public var hard: Bool

    public init(state: XfrmState, hard: Bool) {
        self.state = state
        self.hard = hard
    }

    public init(decoding message: Message) throws(WireError) {
        let r = ByteReader(message.payload, context: "xfrm_user_expire")
        try r.require(XfrmState.infoSize + 1)
        state = try XfrmState(info: r)
        hard = try r.u8(XfrmState.infoSize) != 0
    }
}
