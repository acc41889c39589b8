/// One netlink message: its header and the payload after it (fixed family header +
/// attributes), as a slice of the buffer it came in.
public struct Message: Sendable {
    public var header: MessageHeader
    public var payload: ArraySlice<UInt8>

    public init(header: MessageHeader, payload: ArraySlice<UInt8>) {
        self.header = header
        self.payload = payload
    }

    /// Splits a receive buffer into messages. Throws on a length field that is too small,
    /// runs past the buffer, or leaves trailing bytes that cannot hold a header.
    public static func split(_ buffer: ArraySlice<UInt8>) throws(WireError) -> [Message] {
        var messages: [Message] = []
        var offset = buffer.startIndex
        while offset < buffer.endIndex {
            let rest = buffer[offset...]
            let header = try MessageHeader(decoding: ByteReader(rest, context: "nlmsghdr"))
            let length = Int(header.length)
            if length < MessageHeader.size {
                throw WireError("nlmsghdr", "length \(length) is shorter than the header")
            }
            if length > rest.count {
                throw WireError("nlmsghdr", "length \(length) runs past the buffer (\(rest.count) bytes left)")
            }
            messages.append(Message(header: header, payload: rest[(offset + MessageHeader.size)..<(offset + length)]))
            // The last message may omit its trailing alignment padding.
            offset += min(alignedTo4(length), rest.count)
        }
        return messages
    }

    public static func split(_ buffer: [UInt8]) throws(WireError) -> [Message] { try split(buffer[...]) }

    /// This message with its payload copied out of the buffer it came in: one kept past
    /// the next receive must not pin the socket's whole 256 KiB receive buffer.
    public var detached: Message { Message(header: header, payload: ArraySlice(Array(payload))) }
}

/// Builds one request message: header, family header, attributes. The length is filled in
/// by `finish()`; sequence and port id are stamped by the socket when it sends.
public struct MessageBuilder: Sendable {
    public private(set) var writer: ByteWriter

    public init(type: MessageType, flags: MessageFlags, capacity: Int = 128) {
        writer = ByteWriter(capacity: capacity)
        MessageHeader(type: type, flags: flags).encode(into: &writer)
    }

    /// The family header (ifinfomsg, rtmsg, xfrm_usersa_info, …), written by the caller.
    public mutating func body(_ write: (inout ByteWriter) -> Void) {
        write(&writer)
        writer.align4()
    }

    public mutating func attributes(_ write: (inout AttributeWriter) -> Void) {
        var attributes = AttributeWriter(writer: writer)
        write(&attributes)
        writer = attributes.writer
    }

    public mutating func finish() -> [UInt8] {
        writer.patch32(0, UInt32(writer.count))
        return writer.bytes
    }
}
