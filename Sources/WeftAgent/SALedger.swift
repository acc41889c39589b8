import Crypto
import Foundation
import WeftFiles
import Netlink

/// Every SA key this node has installed, remembered by fingerprint so that none is ever
/// installed twice.
///
/// Why: Linux builds the AES-GCM nonce of `rfc4106(gcm(aes))` from the key's salt and the
/// SA's sequence number, and a newly added SA starts counting at 1. Adding an SA again with
/// a key it had before (after `ip xfrm state flush`, a hard expiry, a reboot, or a change
/// of a field that needs delete + add) would repeat nonces under the same key, which breaks
/// GCM's confidentiality and integrity. The key derivation already mixes in epoch, SPI and
/// both incarnations, so a fresh plan always yields a fresh key; the ledger makes the rule
/// hold even when the plan did not move on: a key found in it is refused, and the
/// controller must bump the epoch (or the node its incarnation).
///
/// The fingerprint is SHA-256 over a label and the key, truncated to 128 bits: it
/// identifies a key without revealing it. Persisted at `path` (mode 0600, one hex line
/// per key, appended and fsync'd before the SA is sent to the kernel); nil keeps it in
/// memory only (tests, `--dry-run`).
public final class SALedger: @unchecked Sendable {
    public let path: String?
    private var known: Set<String> = []
    private let lock = NSLock()

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String?) throws {
        self.path = path
        guard let path, FileManager.default.fileExists(atPath: path) else { return }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Error(description: "SA ledger \(path) is not readable")
        }
        known = Set(text.split(separator: "\n").map(String.init).filter { $0.count == 32 })
    }

    public var count: Int { lock.withLock { known.count } }

    public static func fingerprint(_ key: SecretBytes) -> String {
        var hash = SHA256()
        hash.update(data: Array("weft-sa-ledger-v1".utf8))
        key.withUnsafeKeyBytes { hash.update(data: $0) }
        return hash.finalize().prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    public func contains(_ key: SecretBytes) -> Bool {
        let print = Self.fingerprint(key)
        return lock.withLock { known.contains(print) }
    }

    /// Records keys about to be installed. Durable before it returns: a crash between this
    /// and the kernel write leaves a key recorded but never used, which is safe.
    public func record(_ keys: [SecretBytes]) throws {
        let prints = keys.map(Self.fingerprint)
        try lock.withLock {
            var seen = known
            let new = prints.filter { seen.insert($0).inserted }
            guard !new.isEmpty else { return }
            if let path { try Self.append(new, to: path) }
            known.formUnion(new)
        }
    }

    /// Forgets keys the kernel refused to install: no SA ever carried them, so installing
    /// them later (the retry of a failed change) repeats no nonce. Rewrites the file
    /// atomically (temporary file, fsync, rename).
    public func forget(_ keys: [SecretBytes]) throws {
        let prints = Set(keys.map(Self.fingerprint))
        try lock.withLock {
            guard !prints.isDisjoint(with: known) else { return }
            known.subtract(prints)
            guard let path else { return }
            do { try SecureFile.write(Array(known.sorted().map { $0 + "\n" }.joined().utf8), to: path) } catch {
                throw Error(description: "SA ledger \(path): rewrite failed: \(error)")
            }
        }
    }

    private static func append(_ lines: [String], to path: String) throws {
        do { try SecureFile.append(Array(lines.map { $0 + "\n" }.joined().utf8), to: path) } catch {
            throw Error(description: "SA ledger \(path): write failed: \(error)")
        }
    }
}
