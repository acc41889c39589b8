/// One netlink attribute (`struct nlattr`): type and payload. The nested and byte-order
/// bits of the type field are split out so lookups compare plain numbers.
public struct Attribute: Sendable {
    public static let nestedFlag: UInt16 = 0x8000     // NLA_F_NESTED
    public static let byteOrderFlag: UInt16 = 0x4000  // NLA_F_NET_BYTEORDER
    public static let headerSize = 4

    public var type: UInt16
    public var isNested: Bool
    public var payload: ArraySlice<UInt8>

    /// The payload as a bounds-checked reader named after `context` for error messages.
    public func reader(_ context: String) -> ByteReader { ByteReader(payload, context: context) }

    public func u8(_ context: String) throws(WireError) -> UInt8 { try exact(1, context).u8(0) }
    public func u16(_ context: String) throws(WireError) -> UInt16 { try exact(2, context).u16(0) }
    public func u32(_ context: String) throws(WireError) -> UInt32 { try exact(4, context).u32(0) }
    public func u64(_ context: String) throws(WireError) -> UInt64 { try exact(8, context).u64(0) }
    public func i32(_ context: String) throws(WireError) -> Int32 { Int32(bitPattern: try u32(context)) }
    public func be16(_ context: String) throws(WireError) -> UInt16 { try exact(2, context).be16(0) }

    /// A NUL-terminated string attribute (the NUL is optional on input).
    public var string: String {
        String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The attributes nested inside this one.
    public func nested(_ context: String) throws(WireError) -> AttributeSet {
        try AttributeSet(parsing: payload, context: context)
    }

    private func exact(_ size: Int, _ context: String) throws(WireError) -> ByteReader {
        // The kernel sometimes pads small values; accept longer payloads, never shorter.
        if payload.count < size {
            throw WireError(context, "attribute payload is \(payload.count) bytes, expected \(size)")
        }
        return ByteReader(payload, context: context)
    }
}

/// The attributes of one message or nest, in wire order, with lookup by type.
public struct AttributeSet: Sendable {
    public private(set) var all: [Attribute] = []

    public init(parsing bytes: ArraySlice<UInt8>, context: String) throws(WireError) {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let rest = bytes[offset...]
            let reader = ByteReader(rest, context: "\(context) attribute header")
            let length = Int(try reader.u16(0))
            let rawType = try reader.u16(2)
            if length < Attribute.headerSize {
                throw WireError(context, "attribute type \(rawType & 0x3fff) has length \(length), shorter than its header")
            }
            if length > rest.count {
                throw WireError(context, "attribute type \(rawType & 0x3fff) has length \(length), past the \(rest.count) bytes left")
            }
            all.append(Attribute(
                type: rawType & ~(Attribute.nestedFlag | Attribute.byteOrderFlag),
                isNested: rawType & Attribute.nestedFlag != 0,
                payload: rest[(offset + Attribute.headerSize)..<(offset + length)]
            ))
            offset += min(alignedTo4(length), rest.count)
        }
    }

    public subscript(type: UInt16) -> Attribute? { all.first { $0.type == type } }

    public func contains(_ type: UInt16) -> Bool { self[type] != nil }
}

/// Appends attributes (TLVs, 4-byte aligned) to a message under construction.
public struct AttributeWriter: Sendable {
    public internal(set) var writer: ByteWriter

    init(writer: ByteWriter) { self.writer = writer }

    public mutating func bytes<S: Collection>(_ type: UInt16, _ payload: S) where S.Element == UInt8 {
        writer.u16(UInt16(Attribute.headerSize + payload.count))
        writer.u16(type)
        writer.append(payload)
        writer.align4()
    }

    public mutating func u8(_ type: UInt16, _ value: UInt8) { bytes(type, [value]) }

    public mutating func u16(_ type: UInt16, _ value: UInt16) {
        var w = ByteWriter(capacity: 2); w.u16(value); bytes(type, w.bytes)
    }

    public mutating func be16(_ type: UInt16, _ value: UInt16) { u16(type, value.byteSwapped) }

    public mutating func u32(_ type: UInt16, _ value: UInt32) {
        var w = ByteWriter(capacity: 4); w.u32(value); bytes(type, w.bytes)
    }

    public mutating func i32(_ type: UInt16, _ value: Int32) { u32(type, UInt32(bitPattern: value)) }

    public mutating func u64(_ type: UInt16, _ value: UInt64) {
        var w = ByteWriter(capacity: 8); w.u64(value); bytes(type, w.bytes)
    }

    /// A NUL-terminated string, as the kernel's NLA_STRING / NLA_NUL_STRING policies expect.
    public mutating func string(_ type: UInt16, _ value: String) { bytes(type, Array(value.utf8) + [0]) }

    public mutating func flag(_ type: UInt16) { bytes(type, EmptyCollection<UInt8>()) }

    /// A nested attribute. `markNested` sets NLA_F_NESTED, which some newer kernel
    /// policies require and iproute2 sets only for some nests; callers choose per nest.
    public mutating func nested(_ type: UInt16, markNested: Bool = false, _ write: (inout AttributeWriter) -> Void) {
        let start = writer.count
        writer.u16(0)
        writer.u16(markNested ? type | Attribute.nestedFlag : type)
        write(&self)
        writer.patch16(start, UInt16(writer.count - start))
    }

    /// Writes raw bytes inside a nest (e.g. the ifinfomsg that starts VETH_INFO_PEER).
    public mutating func raw(_ write: (inout ByteWriter) -> Void) {
        write(&writer)
        writer.align4()
    }
}
