/// Bounds-checked reads from a byte buffer. Netlink headers and attributes are in host byte
/// order (little-endian on every platform Weft supports); addresses and ports in network order.
public struct ByteReader: Sendable {
    public let bytes: ArraySlice<UInt8>
    public let context: String

    public init(_ bytes: ArraySlice<UInt8>, context: String) {
        self.bytes = bytes
        self.context = context
    }

    public var count: Int { bytes.count }

    public func require(_ length: Int) throws(WireError) {
        if bytes.count < length { throw .truncated(context, need: length, have: bytes.count) }
    }

    public func u8(_ offset: Int) throws(WireError) -> UInt8 {
        try require(offset + 1)
        return bytes[bytes.startIndex + offset]
    }

    public func u16(_ offset: Int) throws(WireError) -> UInt16 {
        try require(offset + 2)
        let base = bytes.startIndex + offset
        return UInt16(bytes[base]) | UInt16(bytes[base + 1]) << 8
    }

    public func u32(_ offset: Int) throws(WireError) -> UInt32 {
        try require(offset + 4)
        let base = bytes.startIndex + offset
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[base + i]) << (8 * UInt32(i)) }
        return value
    }

    public func u64(_ offset: Int) throws(WireError) -> UInt64 {
        UInt64(try u32(offset)) | UInt64(try u32(offset + 4)) << 32
    }

    public func i32(_ offset: Int) throws(WireError) -> Int32 { Int32(bitPattern: try u32(offset)) }

    /// A 16-bit field in network byte order (ports).
    public func be16(_ offset: Int) throws(WireError) -> UInt16 { (try u16(offset)).byteSwapped }

    /// A 32-bit field in network byte order (SPIs, IPv4 addresses).
    public func be32(_ offset: Int) throws(WireError) -> UInt32 { (try u32(offset)).byteSwapped }

    public func slice(_ offset: Int, _ length: Int) throws(WireError) -> ArraySlice<UInt8> {
        guard offset >= 0, length >= 0 else { throw .truncated(context, need: max(offset, 0) + max(length, 0), have: bytes.count) }
        try require(offset + length)
        let base = bytes.startIndex + offset
        return bytes[base..<(base + length)]
    }

    /// Everything from `offset` to the end (the attributes after a fixed header).
    public func rest(from offset: Int) throws(WireError) -> ArraySlice<UInt8> {
        try require(offset)
        return bytes[(bytes.startIndex + offset)...]
    }

    /// A fixed-size, NUL-padded C string field (e.g. `xfrm_algo.alg_name[64]`).
    public func cString(_ offset: Int, _ length: Int) throws(WireError) -> String {
        let field = try slice(offset, length)
        let text = field.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Appends host-order and network-order integers to a growing buffer.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    public mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    public mutating func u64(_ value: UInt64) {
        u32(UInt32(truncatingIfNeeded: value))
        u32(UInt32(truncatingIfNeeded: value >> 32))
    }

    public mutating func i32(_ value: Int32) { u32(UInt32(bitPattern: value)) }
    public mutating func be16(_ value: UInt16) { u16(value.byteSwapped) }
    public mutating func be32(_ value: UInt32) { u32(value.byteSwapped) }

    public mutating func append<S: Sequence>(_ data: S) where S.Element == UInt8 { bytes.append(contentsOf: data) }

    public mutating func zeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }

    /// A fixed-size, NUL-padded C string field; `text` is cut to leave room for the NUL.
    public mutating func cString(_ text: String, length: Int) {
        let utf8 = Array(text.utf8.prefix(length - 1))
        append(utf8)
        zeros(length - utf8.count)
    }

    /// Pads with zeros to the next multiple of 4 (NLMSG_ALIGN / NLA_ALIGN).
    public mutating func align4() { zeros(alignedTo4(count) - count) }

    /// Overwrites a host-order 16-bit value at `offset` (length fields filled in after the fact).
    mutating func patch16(_ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(truncatingIfNeeded: value)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
    }

    mutating func patch32(_ offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(8 * i)) }
    }
}

@inline(__always)
func alignedTo4(_ n: Int) -> Int { (n + 3) & ~3 }
