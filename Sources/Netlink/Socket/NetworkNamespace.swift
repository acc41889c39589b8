import CNetlink
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs work inside a named network namespace.
///
/// `setns(2)` changes the namespace of the calling *thread* only, so the work runs on a
/// dedicated thread that enters the namespace, runs, and leaves again; no other thread of
/// the process ever changes namespace. Sockets created there stay bound to that namespace
/// for their whole life, wherever they are used afterwards.
public enum NetworkNamespace {
    /// Where `ip netns add NAME` bind-mounts namespaces.
    public static let directory = "/var/run/netns"

    /// The file behind a namespace name; a name containing `/` is taken as a path
    /// (e.g. `/proc/1234/ns/net`).
    public static func path(for name: String) -> String {
        name.contains("/") ? name : "\(directory)/\(name)"
    }

    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public var namespace: String
        public var errno: Errno
        public var step: String

        public var description: String {
            switch errno {
            case .noSuchFileOrDirectory: "network namespace \"\(namespace)\" does not exist"
            case .operationNotPermitted, .permissionDenied: "cannot enter network namespace \"\(namespace)\": \(errno) (needs root or CAP_SYS_ADMIN)"
            default: "cannot enter network namespace \"\(namespace)\": \(step): \(errno)"
            }
        }
    }

    /// Runs `body` on a fresh thread inside namespace `name` and returns its result.
    public static func run<T: Sendable>(in name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let thread = Thread {
            box.result = Result { try enterAndRun(name, body) }
            box.done.signal()
        }
        thread.start()
        box.done.wait()
        return try box.result!.get()
    }

    private static func enterAndRun<T>(_ name: String, _ body: () throws -> T) throws -> T {
        let target = open(path(for: name), O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw Error(namespace: name, errno: .current, step: "open") }
        defer { close(target) }
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw Error(namespace: name, errno: .current, step: "open own namespace") }
        defer { close(original) }
        guard weft_setns(target, WEFT_CLONE_NEWNET) == 0 else { throw Error(namespace: name, errno: .current, step: "setns") }
        defer { _ = weft_setns(original, WEFT_CLONE_NEWNET) }
        return try body()
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Swift.Error>?
    let done = DispatchSemaphore(value: 0)
}
