/// A netlink message type (`nlmsghdr.nlmsg_type`). Control types are shared by every
/// netlink family; the rest are named in the object files that use them.
public struct MessageType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let noop = MessageType(1)       // NLMSG_NOOP
    public static let error = MessageType(2)      // NLMSG_ERROR (also carries ACKs)
    public static let done = MessageType(3)       // NLMSG_DONE
    public static let overrun = MessageType(4)    // NLMSG_OVERRUN

    // rtnetlink (linux/rtnetlink.h)
    public static let newLink = MessageType(16), delLink = MessageType(17), getLink = MessageType(18)
    public static let newAddr = MessageType(20), delAddr = MessageType(21), getAddr = MessageType(22)
    public static let newRoute = MessageType(24), delRoute = MessageType(25), getRoute = MessageType(26)
    public static let newNeigh = MessageType(28), delNeigh = MessageType(29), getNeigh = MessageType(30)
    public static let newNexthop = MessageType(104), delNexthop = MessageType(105), getNexthop = MessageType(106)

    // xfrm (linux/xfrm.h)
    public static let xfrmNewSA = MessageType(0x10), xfrmDelSA = MessageType(0x11), xfrmGetSA = MessageType(0x12)
    public static let xfrmNewPolicy = MessageType(0x13), xfrmDelPolicy = MessageType(0x14)
    public static let xfrmGetPolicy = MessageType(0x15)
    public static let xfrmAcquire = MessageType(0x17), xfrmExpire = MessageType(0x18)
    public static let xfrmUpdPolicy = MessageType(0x19), xfrmUpdSA = MessageType(0x1a)
    public static let xfrmPolicyExpire = MessageType(0x1b)
    public static let xfrmFlushSA = MessageType(0x1c), xfrmFlushPolicy = MessageType(0x1d)
}

/// `nlmsghdr.nlmsg_flags`.
public struct MessageFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let request = MessageFlags(rawValue: 0x01)       // NLM_F_REQUEST
    public static let multipart = MessageFlags(rawValue: 0x02)     // NLM_F_MULTI
    public static let ack = MessageFlags(rawValue: 0x04)           // NLM_F_ACK
    public static let echo = MessageFlags(rawValue: 0x08)          // NLM_F_ECHO
    public static let dumpInterrupted = MessageFlags(rawValue: 0x10) // NLM_F_DUMP_INTR
    public static let dumpFiltered = MessageFlags(rawValue: 0x20)  // NLM_F_DUMP_FILTERED
    // GET requests
    public static let root = MessageFlags(rawValue: 0x100)         // NLM_F_ROOT
    public static let match = MessageFlags(rawValue: 0x200)        // NLM_F_MATCH
    public static let dump: MessageFlags = [.root, .match]         // NLM_F_DUMP
    // NEW requests
    public static let replace = MessageFlags(rawValue: 0x100)      // NLM_F_REPLACE
    public static let exclusive = MessageFlags(rawValue: 0x200)    // NLM_F_EXCL
    public static let create = MessageFlags(rawValue: 0x400)       // NLM_F_CREATE
    public static let append = MessageFlags(rawValue: 0x800)       // NLM_F_APPEND
    // ACK messages
    public static let capped = MessageFlags(rawValue: 0x100)       // NLM_F_CAPPED
    public static let ackTLVs = MessageFlags(rawValue: 0x200)      // NLM_F_ACK_TLVS
}

/// `struct nlmsghdr`: 16 bytes in host byte order.
public struct MessageHeader: Hashable, Sendable {
    public static let size = 16

    public var length: UInt32
    public var type: MessageType
    public var flags: MessageFlags
    public var sequence: UInt32
    public var portID: UInt32

    public init(length: UInt32 = 0, type: MessageType, flags: MessageFlags, sequence: UInt32 = 0, portID: UInt32 = 0) {
        self.length = length
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
    }

    public init(decoding reader: ByteReader) throws(WireError) {
        length = try reader.u32(0)
        type = MessageType(try reader.u16(4))
        flags = MessageFlags(rawValue: try reader.u16(6))
        sequence = try reader.u32(8)
        portID = try reader.u32(12)
    }

    public func encode(into writer: inout ByteWriter) {
        writer.u32(length)
        writer.u16(type.rawValue)
        writer.u16(flags.rawValue)
        writer.u32(sequence)
        writer.u32(portID)
    }
}
