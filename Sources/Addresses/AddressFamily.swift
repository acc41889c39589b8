/// Address families as netlink carries them (`AF_*`).
public struct AddressFamily: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unspecified = AddressFamily(rawValue: 0)
    public static let inet = AddressFamily(rawValue: 2)
    public static let bridge = AddressFamily(rawValue: 7)
    public static let packet = AddressFamily(rawValue: 17)
    public static let inet6 = AddressFamily(rawValue: 10)

    public var description: String {
        switch self {
        case .inet: "inet"
        case .inet6: "inet6"
        case .bridge: "bridge"
        case .unspecified: "unspec"
        default: "family \(rawValue)"
        }
    }
}
