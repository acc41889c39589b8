/// An `NLMSG_ERROR` message: an ACK when `error` is 0, a failure otherwise, with the
/// kernel's extended-ack attributes when the socket asked for them (`NETLINK_EXT_ACK`).
public struct ErrorMessage: Sendable, Hashable {
    /// 0 for an ACK; otherwise the positive errno.
    public var errno: Int32
    /// The header of the request this answers (sequence number identifies it).
    public var request: MessageHeader
    /// `NLMSGERR_ATTR_MSG`: the kernel's human-readable reason, when it gave one.
    public var extAckMessage: String?
    /// `NLMSGERR_ATTR_OFFS`: byte offset of the offending attribute in the request.
    public var extAckOffset: UInt32?

    public var isAck: Bool { errno == 0 }

    static let attrMessage: UInt16 = 1  // NLMSGERR_ATTR_MSG
    static let attrOffset: UInt16 = 2   // NLMSGERR_ATTR_OFFS

    public init(errno: Int32, request: MessageHeader, extAckMessage: String? = nil, extAckOffset: UInt32? = nil) {
        self.errno = errno
        self.request = request
        self.extAckMessage = extAckMessage
        self.extAckOffset = extAckOffset
    }

    /// Decodes the payload of an NLMSG_ERROR whose own header carried `flags`.
    public init(decoding message: Message) throws(WireError) {
        let reader = ByteReader(message.payload, context: "nlmsgerr")
        let code = try reader.i32(0)
        errno = errnoFromReply(code)
        request = try MessageHeader(decoding: ByteReader(try reader.slice(4, MessageHeader.size), context: "nlmsgerr.msg"))
        // Without NLM_F_CAPPED the kernel echoes the whole request after the header.
        var tlvStart = 4 + MessageHeader.size
        if !message.header.flags.contains(.capped) {
            let echoed = Int(request.length)
            if echoed < MessageHeader.size {
                throw WireError("nlmsgerr", "echoed request length \(echoed) is shorter than a header")
            }
            tlvStart = 4 + alignedTo4(echoed)
        }
        guard message.header.flags.contains(.ackTLVs), tlvStart < reader.count else { return }
        let tlvs = try AttributeSet(parsing: try reader.rest(from: tlvStart), context: "extended ack")
        extAckMessage = tlvs[Self.attrMessage]?.string
        extAckOffset = try tlvs[Self.attrOffset]?.u32("NLMSGERR_ATTR_OFFS")
    }
}

/// The int that `NLMSG_DONE` carries (0, or -errno when a dump failed part-way).
public func doneStatus(_ message: Message) throws(WireError) -> Int32 {
    // Old kernels sent an empty NLMSG_DONE; treat it as success.
    if message.payload.isEmpty { return 0 }
    return errnoFromReply(try ByteReader(message.payload, context: "NLMSG_DONE").i32(0))
}

/// Replies carry `-errno`; a garbage `Int32.min` must not trap on negation.
func errnoFromReply(_ code: Int32) -> Int32 { code == Int32.min ? Int32.max : -code }
