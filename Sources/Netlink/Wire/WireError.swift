/// Why a buffer could not be decoded. Every decoder throws one of these for truncated,
/// misaligned or garbage input; none of them traps.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being decoded, e.g. "nlmsghdr", "IFLA_LINKINFO", "xfrm_usersa_info".
    public var context: String
    public var problem: String

    public init(_ context: String, _ problem: String) {
        self.context = context
        self.problem = problem
    }

    static func truncated(_ context: String, need: Int, have: Int) -> WireError {
        WireError(context, "truncated: need \(need) bytes, have \(have)")
    }

    public var description: String { "malformed \(context): \(problem)" }
}
