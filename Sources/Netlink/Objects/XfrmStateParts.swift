// The parts an XFRM state is made of besides its selector: mark, mode, lifetime, counters,
// and the XFRMA_* attribute numbers they travel in.

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
