/// `XFRM_POLICY_IN/OUT/FWD`.
public struct XfrmDirection: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let `in` = XfrmDirection(rawValue: 0)
    public static let out = XfrmDirection(rawValue: 1)
    public static let forward = XfrmDirection(rawValue: 2)

    public var description: String {
        switch self {
        case .in: "in"
        case .out: "out"
        case .forward: "fwd"
        default: "\(rawValue)"
        }
    }
}

/// One template of a policy (`struct xfrm_user_tmpl`, 64 bytes): which SA must process
/// matching packets. `optional == false` is iproute2's `level required`: a packet that
/// arrives without this transform is dropped.
public struct XfrmTemplate: Hashable, Sendable {
    static let size = 64

    public var source: IPAddress
    public var destination: IPAddress
    public var protocolID: IPProtocol = .esp
    public var spi: UInt32 = 0
    public var mode: XfrmMode = .transport
    public var reqid: UInt32 = 0
    public var optional = false
    public var share: UInt8 = 0

    public init(source: IPAddress, destination: IPAddress, reqid: UInt32, mode: XfrmMode = .transport) {
        self.source = source
        self.destination = destination
        self.reqid = reqid
        self.mode = mode
    }

    func encode(into w: inout ByteWriter) {
        w.append(destination.xfrmBytes)
        w.be32(spi)
        w.u8(protocolID.rawValue)
        w.zeros(3)
        w.u16(UInt16(source.family.rawValue))
        w.zeros(2)
        w.append(source.xfrmBytes)
        w.u32(reqid)
        w.u8(mode.rawValue)
        w.u8(share)
        w.u8(optional ? 1 : 0)
        w.u8(0)
        // Algorithm masks: any algorithm (iproute2's default).
        w.u32(0xffff_ffff)
        w.u32(0xffff_ffff)
        w.u32(0xffff_ffff)
    }

    init(decoding r: ByteReader, at o: Int) throws(WireError) {
        try r.require(o + Self.size)
        let family = AddressFamily(rawValue: UInt8(truncatingIfNeeded: try r.u16(o + 24)))
        destination = try xfrmAddress(r, o, family)
        spi = try r.be32(o + 16)
        protocolID = IPProtocol(rawValue: try r.u8(o + 20))
        source = try xfrmAddress(r, o + 28, family)
        reqid = try r.u32(o + 44)
        mode = XfrmMode(rawValue: try r.u8(o + 48))
        share = try r.u8(o + 49)
        optional = try r.u8(o + 50) != 0
    }
}

/// What a policy does with matching packets: `XFRM_POLICY_ALLOW` (0) or `XFRM_POLICY_BLOCK` (1).
public struct XfrmPolicyAction: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let allow = XfrmPolicyAction(rawValue: 0)
    public static let block = XfrmPolicyAction(rawValue: 1)
    public var description: String { self == .allow ? "allow" : self == .block ? "block" : "\(rawValue)" }
}

/// `XFRM_POLICY_LOCALOK` (1) and `XFRM_POLICY_ICMP` (2).
public struct XfrmPolicyFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let localOK = XfrmPolicyFlags(rawValue: 1)
    public static let icmp = XfrmPolicyFlags(rawValue: 2)
}

/// An IPsec policy (`XFRM_MSG_NEWPOLICY`), like
/// `ip xfrm policy add src A/32 dst B/32 proto udp dport 4789 dir out tmpl src A dst B proto esp reqid R mode transport`.
///
/// Identity: selector + direction + mark (the kernel's lookup for delete); `index` is
/// assigned by the kernel and reported in dumps.
public struct XfrmPolicy: NetlinkObject {
    public static let kindName = "xfrm policy"
    public static let family = NetlinkFamily.xfrm
    public static let dumpReplyTypes: Set<MessageType> = [.xfrmNewPolicy]

    public var selector: XfrmSelector
    public var direction: XfrmDirection
    public var priority: UInt32 = 0
    public var index: UInt32 = 0
    public var action: XfrmPolicyAction = .allow
    public var flags: XfrmPolicyFlags = []
    public var templates: [XfrmTemplate] = []
    public var mark: XfrmMark?
    public var interfaceID: UInt32?
    public var lifetime = XfrmLifetime()

    public init(selector: XfrmSelector, direction: XfrmDirection, templates: [XfrmTemplate] = []) {
        self.selector = selector
        self.direction = direction
        self.templates = templates
    }

    static let infoSize = 168  // sizeof(struct xfrm_userpolicy_info)

    private var identity: String {
        "src \(selector.source) dst \(selector.destination) dir \(direction)" + (mark.map { " mark \($0)" } ?? "")
    }

    public func request(_ operation: Operation) -> Request {
        if operation == .delete { return deleteRequest() }
        let type: MessageType = operation == .replace ? .xfrmUpdPolicy : .xfrmNewPolicy
        // The xfrm family ignores NLM_F_CREATE/EXCL (the message type decides), so send none, as iproute2.
        var message = MessageBuilder(type: type, flags: [.request, .ack], capacity: 320)
        message.body { w in
            selector.encode(into: &w)
            lifetime.encode(into: &w)
            w.zeros(32)  // curlft
            w.u32(priority)
            w.u32(index)
            w.u8(direction.rawValue)
            w.u8(action.rawValue)
            w.u8(flags.rawValue)
            w.u8(0)      // share
            w.zeros(4)
        }
        message.attributes { a in
            if !templates.isEmpty {
                var w = ByteWriter(capacity: templates.count * XfrmTemplate.size)
                templates.forEach { $0.encode(into: &w) }
                a.bytes(XfrmAttr.template, w.bytes)
            }
            if let mark { a.xfrmMark(XfrmAttr.mark, mark) }
            if let interfaceID { a.u32(XfrmAttr.ifID, interfaceID) }
        }
        return Request(bytes: message.finish(), summary: "\(operation == .replace ? "update" : "add") xfrm policy \(identity)")
    }

    /// `struct xfrm_userpolicy_id`: selector, index, direction (64 bytes).
    private func encodeID(into w: inout ByteWriter) {
        selector.encode(into: &w)
        w.u32(index)
        w.u8(direction.rawValue)
        w.zeros(3)
    }

    private func deleteRequest() -> Request {
        var message = MessageBuilder(type: .xfrmDelPolicy, flags: [.request, .ack])
        message.body { encodeID(into: &$0) }
        if let mark { message.attributes { $0.xfrmMark(XfrmAttr.mark, mark) } }
        return Request(bytes: message.finish(), summary: "delete xfrm policy \(identity)")
    }

    /// Looks one policy up by selector and direction, like `ip xfrm policy get`.
    public func getRequest() -> Request {
        var message = MessageBuilder(type: .xfrmGetPolicy, flags: [.request])
        message.body { encodeID(into: &$0) }
        if let mark { message.attributes { $0.xfrmMark(XfrmAttr.mark, mark) } }
        return Request(bytes: message.finish(), summary: "get xfrm policy \(identity)")
    }

    public static func dumpRequest(family: AddressFamily) -> Request {
        var message = MessageBuilder(type: .xfrmGetPolicy, flags: [.request, .dump])
        // No fixed header: the kernel parses a dump request's attributes right after nlmsghdr.
        return Request(bytes: message.finish(), summary: "dump xfrm policies")
    }

    public init(decoding message: Message) throws(WireError) {
        let r = ByteReader(message.payload, context: "xfrm_userpolicy_info")
        try r.require(Self.infoSize)
        selector = try XfrmSelector(decoding: r, at: 0)
        lifetime = try XfrmLifetime(decoding: r, at: 56)
        priority = try r.u32(152)
        index = try r.u32(156)
        direction = XfrmDirection(rawValue: try r.u8(160))
        action = XfrmPolicyAction(rawValue: try r.u8(161))
        flags = XfrmPolicyFlags(rawValue: try r.u8(162))
        let attributes = try AttributeSet(parsing: try r.rest(from: Self.infoSize), context: "xfrm policy")
        if let tmpl = attributes[XfrmAttr.template] {
            guard tmpl.payload.count % XfrmTemplate.size == 0 else {
                throw WireError("XFRMA_TMPL", "\(tmpl.payload.count) bytes is not a whole number of templates")
            }
            let tr = tmpl.reader("xfrm_user_tmpl")
            templates = try stride(from: 0, to: tmpl.payload.count, by: XfrmTemplate.size).map { (offset) throws(WireError) in
                try XfrmTemplate(decoding: tr, at: offset)
            }
        }
        if let m = attributes[XfrmAttr.mark] { mark = try m.xfrmMark("XFRMA_MARK") }
        if let i = attributes[XfrmAttr.ifID] { interfaceID = try i.u32("XFRMA_IF_ID") }
    }
}
