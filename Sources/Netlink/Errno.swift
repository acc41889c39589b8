#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX error number, as the kernel reports it (positive).
///
/// Netlink replies carry `-errno`; syscalls set `errno`. Both end up here so callers can
/// match on named values (`error.errno == .exists`) instead of raw integers.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let operationNotPermitted = Errno(rawValue: EPERM)
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let noSuchDevice = Errno(rawValue: ENODEV)
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    public static let tryAgain = Errno(rawValue: EAGAIN)
    public static let outOfMemory = Errno(rawValue: ENOMEM)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let busy = Errno(rawValue: EBUSY)
    public static let exists = Errno(rawValue: EEXIST)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let noBufferSpace = Errno(rawValue: ENOBUFS)
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    public static let protocolNotSupported = Errno(rawValue: EPROTONOSUPPORT)
    public static let addressFamilyNotSupported = Errno(rawValue: EAFNOSUPPORT)
    public static let networkUnreachable = Errno(rawValue: ENETUNREACH)
    public static let noData = Errno(rawValue: ENODATA)
    public static let messageTooLong = Errno(rawValue: EMSGSIZE)

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(rawValue: errno) }

    /// The symbolic name (`EEXIST`) where known, for log lines operators grep for.
    public var name: String? { Errno.names[rawValue] }

    public var description: String {
        let text = String(cString: strerror(rawValue))
        if let name { return "\(text) (\(name))" }
        return "\(text) (errno \(rawValue))"
    }

    private static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO",
        ENXIO: "ENXIO", EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES",
        EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV", EINVAL: "EINVAL", ENOSPC: "ENOSPC",
        ERANGE: "ERANGE", ENOBUFS: "ENOBUFS", EOPNOTSUPP: "EOPNOTSUPP",
        EPROTONOSUPPORT: "EPROTONOSUPPORT", EAFNOSUPPORT: "EAFNOSUPPORT",
        ENETUNREACH: "ENETUNREACH", EHOSTUNREACH: "EHOSTUNREACH", ENODATA: "ENODATA",
        EMSGSIZE: "EMSGSIZE", EADDRNOTAVAIL: "EADDRNOTAVAIL",
        E2BIG: "E2BIG", ENOTDIR: "ENOTDIR", ENFILE: "ENFILE", EMFILE: "EMFILE",
    ]
}

/// Runs a syscall wrapper, retrying on `EINTR`: the one place Weft retries interrupted calls.
@inline(__always)
func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result >= 0 { return result }
        let error = Errno.current
        if error != .interrupted { throw error }
    }
}
