#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An IPv4 or IPv6 address, stored in network byte order.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(UInt32)                  // value as a number: 192.0.2.1 == 0xC0000201
    case v6(UInt64, UInt64)          // high, low halves as numbers

    /// Parses dotted-quad or RFC 4291 text; nil when it is neither.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        self.init(bytes: bytes[...])!
    }

    /// From 4 or 16 bytes in network order; nil for any other length.
    public init?(bytes: ArraySlice<UInt8>) {
        func number(_ range: Range<Int>) -> UInt64 {
            range.reduce(0) { $0 << 8 | UInt64(bytes[bytes.startIndex + $1]) }
        }
        switch bytes.count {
        case 4: self = .v4(UInt32(number(0..<4)))
        case 16: self = .v6(number(0..<8), number(8..<16))
        default: return nil
        }
    }

    public var family: AddressFamily { if case .v4 = self { .inet } else { .inet6 } }
    public var bitWidth: Int { if case .v4 = self { 32 } else { 128 } }

    /// The address in network byte order, 4 or 16 bytes.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) }
        case .v6(let high, let low):
            return [high, low].flatMap { half in (0..<8).map { UInt8(truncatingIfNeeded: half >> (56 - 8 * UInt64($0))) } }
        }
    }

    /// 16 bytes, IPv4 in the first 4 and zeros after: the kernel's `xfrm_address_t`.
    public var xfrmBytes: [UInt8] { bytes + Array(repeating: 0, count: 16 - bytes.count) }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let raw = bytes
        let family = raw.count == 4 ? AF_INET : AF_INET6
        return raw.withUnsafeBytes { source in
            inet_ntop(family, source.baseAddress, &buffer, socklen_t(buffer.count))
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// IPv4 before IPv6, then numerically; no allocation (sorting large tables calls this a lot).
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): x < y
        case (.v6(let xh, let xl), .v6(let yh, let yl)): (xh, xl) < (yh, yl)
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}

/// An address with a prefix length: a route destination, an interface address, a selector.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var length: UInt8

    public init(_ address: IPAddress, _ length: UInt8) {
        self.address = address
        self.length = length
    }

    /// Parses `A.B.C.D/N`, `X::Y/N`, or a bare address (host prefix); nil for anything
    /// else, the empty string and a trailing `/` included.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        var length = UInt8(address.bitWidth)
        if parts.count == 2 {
            guard let n = UInt8(parts[1]), Int(n) <= address.bitWidth else { return nil }
            length = n
        }
        self.init(address, length)
    }

    public var description: String { "\(address)/\(length)" }
}

extension IPPrefix {
    /// The prefix with the host bits cleared (IPv4; IPv6 unchanged).
    public var masked: IPPrefix {
        guard case .v4(let value) = address else { return self }
        let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - UInt32(length))
        return IPPrefix(.v4(value & mask), length)
    }

    /// Whether `other` (IPv4) lies inside this prefix.
    public func contains(_ other: IPAddress) -> Bool {
        guard case .v4 = address, case .v4(let value) = other else { return false }
        return IPPrefix(.v4(value), length).masked == masked
    }
}
