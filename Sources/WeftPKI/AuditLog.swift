import Crypto
import Foundation
import WeftFiles
import X509

/// One line of the audit log (JSON). `hash` = SHA-256 over the entry's fields, each
/// length-prefixed, including `prev`, the previous entry's hash: changing, removing or
/// reordering any entry breaks every hash after it. A `checkpoint` entry also carries the
/// CA's ECDSA signature over its own hash, so the chain up to it cannot be rewritten
/// without the CA key.
public struct AuditEntry: Codable, Hashable, Sendable {
    public var seq: UInt64
    public var time: String
    /// issue, renew, revoke, join-refused, epoch, spi-allocation, checkpoint
    public var event: String
    public var subject: String
    public var detail: [String: String]
    public var prev: String
    public var hash: String
    public var signature: String?

    public static let genesis = String(repeating: "0", count: 64)

    /// The hash this entry must carry.
    public var computedHash: String {
        var data: [UInt8] = []
        func field(_ text: String) {
            let bytes = Array(text.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { data += $0 }
            data += bytes
        }
        field("weft-audit-v1"); field(String(seq)); field(time); field(event); field(subject)
        for (key, value) in detail.sorted(by: { $0.key < $1.key }) { field(key); field(value) }
        field(prev)
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

/// The controller's append-only audit log: every certificate issuance and renewal,
/// revocation, refused join, key epoch change and SPI allocation rule, hash-chained, with a
/// CA-signed checkpoint every `checkpointEvery` entries (and on `checkpoint()`, e.g. at
/// shutdown). Lines are appended and fsync'd. It holds names, serials, epochs and SPIs;
/// never a key or a token secret.
public final class AuditLog: @unchecked Sendable {
    public let path: String
    private let ca: ClusterCA
    private let checkpointEvery: Int
    private var last: (seq: UInt64, hash: String) = (0, AuditEntry.genesis)
    private var sinceCheckpoint = 0
    private let lock = NSLock()

    public init(path: String, ca: ClusterCA, checkpointEvery: Int = 16) throws {
        self.path = path
        self.ca = ca
        self.checkpointEvery = checkpointEvery
        guard let text = SecureFile.read(path) else { return }
        // Continue the chain where it ends; a log that does not verify is not extended.
        let report = AuditVerifier.verify(text, trusting: ca.certificate)
        if let bad = report.firstBad { throw PKIError("\(path): \(bad); refusing to extend a broken audit log") }
        if let entry = text.split(separator: "\n").last.flatMap({ try? JSONDecoder().decode(AuditEntry.self, from: Data($0.utf8)) }) {
            last = (entry.seq, entry.hash)
        }
        sinceCheckpoint = report.unsignedTail
    }

    public func record(_ event: String, subject: String = "", detail: [String: String] = [:], now: Date = Date()) throws {
        try lock.withLock {
            try append(event, subject: subject, detail: detail, now: now)
            sinceCheckpoint += 1
            if sinceCheckpoint >= checkpointEvery { try appendCheckpoint(now: now) }
        }
    }

    /// Signs the chain as it is now (nothing to sign: no entry written).
    public func checkpoint(now: Date = Date()) throws {
        try lock.withLock { if sinceCheckpoint > 0 { try appendCheckpoint(now: now) } }
    }

    private func appendCheckpoint(now: Date) throws {
        try append("checkpoint", subject: "", detail: ["covers": String(last.seq), "head": last.hash], now: now, sign: true)
        sinceCheckpoint = 0
    }

    private func append(_ event: String, subject: String, detail: [String: String], now: Date, sign: Bool = false) throws {
        var entry = AuditEntry(seq: last.seq + 1, time: ISO8601DateFormatter().string(from: now), event: event, subject: subject,
                               detail: detail, prev: last.hash, hash: "", signature: nil)
        entry.hash = entry.computedHash
        if sign { entry.signature = Data(try ca.sign(Array(entry.hash.utf8))).base64EncodedString() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(entry)
        line.append(0x0a)
        do { try SecureFile.append(Array(line), to: path) } catch { throw PKIError("\(error)") }
        last = (entry.seq, entry.hash)
    }
}

/// Offline verification of an audit log against the CA certificate (the trust anchor,
/// obtained separately): `weftctl audit verify FILE --ca ca.crt`.
public enum AuditVerifier {
    public struct Report: Sendable {
        public var entries = 0
        public var checkpoints = 0
        /// Entries after the last checkpoint: chained, not yet signed.
        public var unsignedTail = 0
        /// "line 12 (seq 12): …" for the first entry that does not verify.
        public var firstBad: String?
    }

    public static func verify(_ text: String, trusting ca: Certificate) -> Report {
        var report = Report()
        var previous: (seq: UInt64, hash: String) = (0, AuditEntry.genesis)
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty && index == text.split(separator: "\n", omittingEmptySubsequences: false).count - 1 { break }
            func bad(_ why: String) -> Report {
                var failed = report
                failed.firstBad = "line \(index + 1)" + (report.entries > 0 || previous.seq > 0 ? " (seq \(previous.seq + 1))" : "") + ": \(why)"
                return failed
            }
            guard let entry = try? JSONDecoder().decode(AuditEntry.self, from: Data(line.utf8)) else { return bad("not an audit entry") }
            guard entry.seq == previous.seq + 1 else { return bad("sequence \(entry.seq) follows \(previous.seq): an entry is missing or moved") }
            guard entry.prev == previous.hash else { return bad("its prev does not match the previous entry's hash: the chain is broken") }
            guard entry.hash == entry.computedHash else { return bad("its hash does not match its content: the entry was altered") }
            report.entries += 1
            report.unsignedTail += 1
            if entry.event == "checkpoint" {
                guard entry.detail["head"] == previous.hash, entry.detail["covers"] == String(previous.seq) else {
                    return bad("checkpoint names another head than the chain's")
                }
                guard let encoded = entry.signature, let der = Data(base64Encoded: encoded),
                      let signature = try? P256.Signing.ECDSASignature(derRepresentation: der),
                      let key = P256.Signing.PublicKey(ca.publicKey),
                      key.isValidSignature(signature, for: Array(entry.hash.utf8)) else {
                    return bad("checkpoint signature does not verify with the CA certificate")
                }
                report.checkpoints += 1
                report.unsignedTail = 0
            } else if entry.signature != nil {
                return bad("a signature on a non-checkpoint entry")
            }
            previous = (entry.seq, entry.hash)
        }
        return report
    }
}
