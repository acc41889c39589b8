import Foundation

/// An exclusive, non-blocking flock on `DIRECTORY/lock`, held for as long as this value
/// lives (or until `release()`): two controllers on one state directory would fork its
/// audit chain and hand out the same SPIs, so the second one refuses to start. The lock
/// file holds the owner's pid, for the error message only; the kernel drops the lock when
/// the process dies, so a crash never leaves a stale lock behind.
public final class DirectoryLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32
    private let mutex = NSLock()

    public struct Held: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory + "/lock"
        self.path = path
        let fd = retryingEINTR { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        self.fd = fd
        guard fd >= 0 else { throw Held(description: "cannot open \(path): \(errnoText())") }
        guard retryingEINTR({ flock(fd, LOCK_EX | LOCK_NB) }) == 0 else {
            let reason = errno
            let owner = (try? SecureFile.loadText(path, limit: 64))??.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            if reason == EWOULDBLOCK {
                throw Held(description: "\(directory) is in use by another process\(owner.isEmpty ? "" : " (pid \(owner))"): one controller per state directory")
            }
            throw Held(description: "cannot lock \(path): \(errnoText(reason))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Lets another process (or a later instance in this one) take the directory.
    public func release() {
        mutex.withLock {
            guard fd >= 0 else { return }
            close(fd)  // closing the only descriptor of the open file drops the flock
            fd = -1
        }
    }

    deinit { release() }
}
