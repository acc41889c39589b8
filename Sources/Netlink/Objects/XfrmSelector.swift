/// IP protocol numbers used by XFRM selectors and SA ids.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let any = IPProtocol(rawValue: 0)
    public static let icmp = IPProtocol(rawValue: 1)
    public static let tcp = IPProtocol(rawValue: 6)
    public static let udp = IPProtocol(rawValue: 17)
    public static let esp = IPProtocol(rawValue: 50)
    public static let ah = IPProtocol(rawValue: 51)
    public static let icmpv6 = IPProtocol(rawValue: 58)
    public static let comp = IPProtocol(rawValue: 108)

    public var description: String {
        switch self {
        case .icmp: "icmp"
        case .tcp: "tcp"
        case .udp: "udp"
        case .esp: "esp"
        case .ah: "ah"
        case .icmpv6: "ipv6-icmp"
        case .comp: "comp"
        default: "\(rawValue)"
        }
    }
}

/// `struct xfrm_selector` (56 bytes): which packets a policy or SA applies to.
public struct XfrmSelector: Hashable, Sendable {
    static let size = 56

    public var family: AddressFamily
    public var source: IPPrefix
    public var destination: IPPrefix
    public var protocolID: IPProtocol = .any
    /// Ports are matched only under their mask; 0 mask = any port.
    public var sourcePort: UInt16 = 0
    public var sourcePortMask: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var destinationPortMask: UInt16 = 0
    public var ifindex: Int32 = 0

    /// A selector matching everything of `family`.
    public init(family: AddressFamily = .unspecified) {
        self.family = family
        let zero: IPAddress = family == .inet6 ? .v6(0, 0) : .v4(0)
        source = IPPrefix(zero, 0)
        destination = IPPrefix(zero, 0)
    }

    public init(source: IPPrefix, destination: IPPrefix, protocolID: IPProtocol = .any,
                sourcePort: UInt16? = nil, destinationPort: UInt16? = nil) {
        family = source.address.family
        self.source = source
        self.destination = destination
        self.protocolID = protocolID
        if let sourcePort { self.sourcePort = sourcePort; sourcePortMask = 0xffff }
        if let destinationPort { self.destinationPort = destinationPort; destinationPortMask = 0xffff }
    }

    func encode(into w: inout ByteWriter) {
        w.append(destination.address.xfrmBytes)
        w.append(source.address.xfrmBytes)
        w.be16(destinationPort)
        w.be16(destinationPortMask)
        w.be16(sourcePort)
        w.be16(sourcePortMask)
        w.u16(UInt16(family.rawValue))
        w.u8(destination.length)
        w.u8(source.length)
        w.u8(protocolID.rawValue)
        w.zeros(3)
        w.i32(ifindex)
        w.u32(0)  // user: uid of the creating socket, set by the kernel
    }

    init(decoding r: ByteReader, at offset: Int) throws(WireError) {
        try r.require(offset + Self.size)
        family = AddressFamily(rawValue: UInt8(truncatingIfNeeded: try r.u16(offset + 40)))
        let destinationLength = try r.u8(offset + 42), sourceLength = try r.u8(offset + 43)
        destination = try xfrmPrefix(r, offset, family, destinationLength, "xfrm_selector.daddr")
        source = try xfrmPrefix(r, offset + 16, family, sourceLength, "xfrm_selector.saddr")
        destinationPort = try r.be16(offset + 32)
        destinationPortMask = try r.be16(offset + 34)
        sourcePort = try r.be16(offset + 36)
        sourcePortMask = try r.be16(offset + 38)
        protocolID = IPProtocol(rawValue: try r.u8(offset + 44))
        ifindex = try r.i32(offset + 48)
    }
}

/// Reads an `xfrm_address_t` (16 bytes; IPv4 in the first 4) for `family`.
func xfrmAddress(_ r: ByteReader, _ offset: Int, _ family: AddressFamily) throws(WireError) -> IPAddress {
    let width = family == .inet6 ? 16 : 4
    return IPAddress(bytes: try r.slice(offset, width))!
}

private func xfrmPrefix(_ r: ByteReader, _ offset: Int, _ family: AddressFamily, _ length: UInt8, _ context: String) throws(WireError) -> IPPrefix {
    let address = try xfrmAddress(r, offset, family)
    if Int(length) > address.bitWidth { throw WireError(context, "prefix length \(length) exceeds \(address.bitWidth)") }
    return IPPrefix(address, length)
}

/// `struct xfrm_mark`: value and mask (`mark 0x5700 mask 0xff00`).
public struct XfrmMark: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt32
    public var mask: UInt32

    public init(value: UInt32, mask: UInt32 = 0xffff_ffff) {
        self.value = value
        self.mask = mask
    }

    public var description: String { "0x\(String(value, radix: 16))/0x\(String(mask, radix: 16))" }
}

/// XFRM mode (`XFRM_MODE_*`).
public struct XfrmMode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let transport = XfrmMode(rawValue: 0)
    public static let tunnel = XfrmMode(rawValue: 1)

    public var description: String {
        switch self {
        case .transport: "transport"
        case .tunnel: "tunnel"
        default: "\(rawValue)"
        }
    }
}

/// `struct xfrm_lifetime_cfg`: soft and hard limits. `UInt64.max` means "no limit",
/// which is what the kernel reports for an unset limit.
public struct XfrmLifetime: Hashable, Sendable {
    public static let infinite = UInt64.max
    public var softByteLimit = infinite, hardByteLimit = infinite
    public var softPacketLimit = infinite, hardPacketLimit = infinite
    public var softAddExpiresSeconds: UInt64 = 0, hardAddExpiresSeconds: UInt64 = 0
    public var softUseExpiresSeconds: UInt64 = 0, hardUseExpiresSeconds: UInt64 = 0

    public init() {}

    var fields: [UInt64] {
        [softByteLimit, hardByteLimit, softPacketLimit, hardPacketLimit,
         softAddExpiresSeconds, hardAddExpiresSeconds, softUseExpiresSeconds, hardUseExpiresSeconds]
    }

    func encode(into w: inout ByteWriter) { fields.forEach { w.u64($0) } }

    init(decoding r: ByteReader, at o: Int) throws(WireError) {
        softByteLimit = try r.u64(o); hardByteLimit = try r.u64(o + 8)
        softPacketLimit = try r.u64(o + 16); hardPacketLimit = try r.u64(o + 24)
        softAddExpiresSeconds = try r.u64(o + 32); hardAddExpiresSeconds = try r.u64(o + 40)
        softUseExpiresSeconds = try r.u64(o + 48); hardUseExpiresSeconds = try r.u64(o + 56)
    }
}

/// `struct xfrm_lifetime_cur`: what the kernel has counted. Observed only; never sent.
public struct XfrmCounters: Hashable, Sendable {
    public var bytes: UInt64 = 0, packets: UInt64 = 0, addTime: UInt64 = 0, useTime: UInt64 = 0

    public init() {}

    init(decoding r: ByteReader, at o: Int) throws(WireError) {
        bytes = try r.u64(o); packets = try r.u64(o + 8); addTime = try r.u64(o + 16); useTime = try r.u64(o + 24)
    }
}

/// `XFRMA_*` attribute types (linux/xfrm.h).
enum XfrmAttr {
    static let algAuth: UInt16 = 1, algCrypt: UInt16 = 2, template: UInt16 = 5, lifetimeValue: UInt16 = 9
    static let replayValue: UInt16 = 10, sourceAddress: UInt16 = 13, policyType: UInt16 = 16
    static let algAEAD: UInt16 = 18, algAuthTrunc: UInt16 = 20, mark: UInt16 = 21
    static let replayESN: UInt16 = 23, extraFlags: UInt16 = 24, setMark: UInt16 = 29
    static let setMarkMask: UInt16 = 30, ifID: UInt16 = 31
}

extension AttributeWriter {
    mutating func xfrmMark(_ type: UInt16, _ mark: XfrmMark) {
        var w = ByteWriter(capacity: 8)
        w.u32(mark.value)
        w.u32(mark.mask)
        bytes(type, w.bytes)
    }
}

extension Attribute {
    func xfrmMark(_ context: String) throws(WireError) -> XfrmMark {
        let r = reader(context)
        return XfrmMark(value: try r.u32(0), mask: try r.u32(4))
    }
}
