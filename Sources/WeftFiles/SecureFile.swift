import Foundation

/// Writes files that hold secrets or security state (keys, tokens, the SA ledger, the
/// audit log, the controller's state): created with their mode (0600 by default) before
/// any byte is written, in a directory created 0700; replaced atomically (temporary file,
/// fsync, rename, fsync of the directory) or appended and fsync'd, so a crash leaves either
/// the old or the new content, never a torn or world-readable one.
public enum SecureFile {
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable, Hashable { case io, tooLarge, notUTF8 }
        public var kind: Kind = .io
        public var description: String
    }

    /// Files Weft reads whole are capped: a state file, key or log larger than this is
    /// refused, not read into memory.
    public static let defaultReadLimit = 256 << 20

    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let temporary = path + ".tmp-\(getpid())"
        let fd = retryingEINTR { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw Error(description: "cannot create \(temporary): \(errnoText())") }
        let written = writeAll(fd, bytes)
        let synced = written && retryingEINTR { fsync(fd) } == 0
        close(fd)
        guard written, synced, rename(temporary, path) == 0 else {
            let reason = errnoText()
            unlink(temporary)
            throw Error(description: "cannot write \(path): \(reason)")
        }
        // The rename is durable only once the directory entry is on disk too.
        syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// Appends `bytes` and fsyncs before returning: once this returns, the bytes survive a
    /// crash (a ledger entry, an audit record).
    public static func append(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let fd = retryingEINTR { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw Error(description: "cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        guard writeAll(fd, bytes), retryingEINTR({ fsync(fd) }) == 0 else {
            throw Error(description: "cannot append to \(path): \(errnoText())")
        }
    }

    /// Creates `path` holding `bytes` only if it does not exist yet, durably: the claim of
    /// a name that two claimants (or one before and after a crash) must never both win.
    /// Returns false when the file already exists.
    public static func createExclusive(_ bytes: [UInt8], at path: String, mode: mode_t = 0o600) throws -> Bool {
        let fd = retryingEINTR { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
        if fd < 0 && errno == EEXIST { return false }
        guard fd >= 0 else { throw Error(description: "cannot create \(path): \(errnoText())") }
        let written = writeAll(fd, bytes) && retryingEINTR({ fsync(fd) }) == 0
        let reason = errnoText()
        close(fd)
        guard written else {
            unlink(path)
            throw Error(description: "cannot write \(path): \(reason)")
        }
        syncDirectory((path as NSString).deletingLastPathComponent)
        return true
    }

    /// Removes `path` durably; a file already gone is no error.
    public static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw Error(description: "cannot remove \(path): \(errnoText())") }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// The file's bytes; nil only when it does not exist. Any other failure (unreadable,
    /// a directory, larger than `limit`) throws: a caller that would create the file when
    /// it is missing must never mistake "cannot read" for "missing" and overwrite it.
    public static func load(_ path: String, limit: Int = defaultReadLimit) throws -> [UInt8]? {
        let fd = retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw Error(description: "cannot read \(path): \(errnoText())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Error(description: "cannot stat \(path): \(errnoText())") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Error(description: "\(path) is not a regular file") }
        guard info.st_size <= limit else {
            throw Error(kind: .tooLarge, description: "\(path) is \(info.st_size) bytes, more than the \(limit) accepted")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in retryingEINTR { Foundation.read(fd, buffer.baseAddress! + total, buffer.count - total) } }
            guard count >= 0 else { throw Error(description: "cannot read \(path): \(errnoText())") }
            if count == 0 { break }
            total += count
        }
        return Array(bytes[..<total])
    }

    /// The file as UTF-8 text; nil only when it does not exist (see `load`).
    public static func loadText(_ path: String, limit: Int = defaultReadLimit) throws -> String? {
        guard let bytes = try load(path, limit: limit) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = firstInvalidUTF8(bytes) ?? 0
            throw Error(kind: .notUTF8, description: "\(path) is not UTF-8 text (invalid byte at offset \(offset))")
        }
        return text
    }

    /// The file as text, or nil when it is missing, unreadable or not UTF-8: for files whose
    /// absence and damage lead to the same answer (a public certificate to fetch again).
    public static func read(_ path: String) -> String? {
        (try? loadText(path)) ?? nil
    }

    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var low = 0, high = bytes.count
        guard String(validating: bytes, as: UTF8.self) == nil else { return nil }
        // The longest valid prefix (binary search on validity of prefixes, give or take a
        // split multi-byte sequence, which is close enough for an error message).
        while low < high {
            let middle = (low + high + 1) / 2
            if String(validating: bytes[..<middle], as: UTF8.self) != nil { low = middle } else { high = middle - 1 }
        }
        return low
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in retryingEINTR { Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset) } }
            guard count > 0 else { return false }
            offset += count
        }
        return true
    }

    static func syncDirectory(_ directory: String) {
        let fd = retryingEINTR { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { return }
        _ = retryingEINTR { fsync(fd) }
        close(fd)
    }
}

/// Runs a system call again while it fails with EINTR: the one place that rule lives for
/// the file layer.
@inline(__always)
public func retryingEINTR<T: FixedWidthInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// The text of the current errno, as the kernel's message.
public func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) + " (errno \(code))" }
