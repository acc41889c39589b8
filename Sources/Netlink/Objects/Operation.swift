/// What a request asks the kernel to do with an object, named for the kernel's semantics:
///
/// | operation | flags                         | like                    |
/// |-----------|-------------------------------|-------------------------|
/// | add       | NLM_F_CREATE \| NLM_F_EXCL    | `ip route add`          |
/// | replace   | NLM_F_CREATE \| NLM_F_REPLACE | `ip route replace`      |
/// | append    | NLM_F_CREATE \| NLM_F_APPEND  | `bridge fdb append`     |
/// | delete    | (DEL message)                 | `ip route del`          |
public enum Operation: String, Hashable, Sendable, CaseIterable {
    case add, replace, append, delete

    var newFlags: MessageFlags {
        switch self {
        case .add: [.create, .exclusive]
        case .replace: [.create, .replace]
        case .append: [.create, .append]
        case .delete: []
        }
    }
}

/// One encoded request, ready for the socket to stamp with a sequence number and send.
/// `summary` names the operation and the object's identity for errors and logs ("add
/// route 10.244.1.0/24 table 254"); it never contains key material.
public struct Request: Sendable {
    public var bytes: [UInt8]
    public var summary: String

    public init(bytes: [UInt8], summary: String) {
        self.bytes = bytes
        self.summary = summary
    }

    /// A dump request whose family header is the family byte followed by zeros (ifaddrmsg,
    /// rtmsg, nhmsg): what `ip addr/route/nexthop show` send.
    static func dump(_ type: MessageType, family: AddressFamily, headerSize: Int, summary: String) -> Request {
        var message = MessageBuilder(type: type, flags: [.request, .dump])
        message.body { w in
            w.u8(family.rawValue)
            w.zeros(headerSize - 1)
        }
        return Request(bytes: message.finish(), summary: summary)
    }

    public var type: MessageType { MessageType(UInt16(bytes[4]) | UInt16(bytes[5]) << 8) }
    public var flags: MessageFlags { MessageFlags(rawValue: UInt16(bytes[6]) | UInt16(bytes[7]) << 8) }
}

/// The netlink families Weft speaks.
public struct NetlinkFamily: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let route = NetlinkFamily(rawValue: 0)   // NETLINK_ROUTE
    public static let xfrm = NetlinkFamily(rawValue: 6)    // NETLINK_XFRM
}

/// A kernel object kind that netlink can add, replace, delete and dump.
public protocol NetlinkObject: Hashable, Sendable {
    /// "link", "route", "xfrm state": used in error messages.
    static var kindName: String { get }
    static var family: NetlinkFamily { get }
    /// The message types a dump of this kind answers with.
    static var dumpReplyTypes: Set<MessageType> { get }

    /// Decodes one message of a dump or event.
    init(decoding message: Message) throws(WireError)

    /// Encodes the request that performs `operation` on this object.
    func request(_ operation: Operation) -> Request

    /// The dump request for this kind (optionally narrowed, e.g. by family).
    static func dumpRequest(family: AddressFamily) -> Request

    /// Whether a dump reply message belongs to this kind (neighbour and FDB dumps share
    /// RTM_NEWNEIGH and are told apart by family).
    static func isMember(_ message: Message) -> Bool
}

extension NetlinkObject {
    public static func isMember(_ message: Message) -> Bool { true }
}
