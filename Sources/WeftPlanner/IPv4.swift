/// IPv4 addresses and prefixes as integers: what the planner needs to check pod addresses
/// against node CIDRs and CIDRs against each other, without depending on the netlink layer.
public struct IPv4: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Dotted quad, strictly: four decimal octets of 1-3 digits, nothing else.
    public init?(_ text: String) {
        var value: UInt32 = 0, octet: UInt32 = 0, digits = 0, dots = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, octet <= 255 else { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                octet = 0; digits = 0; dots += 1
            default:
                return nil
            }
        }
        guard digits > 0, dots == 3 else { return nil }
        self.value = value << 8 | octet
    }

    public var description: String { "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)" }
    public static func < (a: IPv4, b: IPv4) -> Bool { a.value < b.value }
}

public struct IPv4Prefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4
    public var length: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPv4(String(parts[0])), let length = Int(parts[1]), (0...32).contains(length) else { return nil }
        self.address = address
        self.length = length
    }

    var mask: UInt32 { length == 0 ? 0 : ~UInt32(0) << (32 - length) }
    /// True when the address has no host bits set (10.244.1.0/24, not 10.244.1.5/24).
    var isCanonical: Bool { address.value & ~mask == 0 }
    public var first: IPv4 { IPv4(address.value & mask) }
    var last: IPv4 { IPv4(address.value | ~mask) }

    init(_ address: IPv4, _ length: Int) {
        self.address = address
        self.length = length
    }

    public func contains(_ ip: IPv4) -> Bool { ip.value & mask == address.value & mask }
    func overlaps(_ other: IPv4Prefix) -> Bool { first <= other.last && other.first <= last }
    public var description: String { "\(address)/\(length)" }
}

extension IPv4Prefix {
    /// Pod CIDRs shorter than this are refused: a /1 would swallow half the address space
    /// (routes to the underlay included).
    static let shortestPodCIDR = 8

    /// Ranges that are never a node's underlay address nor a pod network (RFC 6890): the
    /// kernel treats them specially, or they are not unicast.
    static let specialPurpose: [(name: String, prefix: IPv4Prefix)] = [
        ("\"this network\"", IPv4Prefix(IPv4(0), 8)),
        ("loopback", IPv4Prefix(IPv4(127 << 24), 8)),
        ("link-local", IPv4Prefix(IPv4(169 << 24 | 254 << 16), 16)),
        ("multicast", IPv4Prefix(IPv4(224 << 24), 4)),
        ("reserved (and broadcast)", IPv4Prefix(IPv4(240 << 24), 4)),
    ]
}
