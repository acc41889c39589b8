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

    /// The one encoding of an entry (sorted keys, no escaped slashes, no spaces): the log
    /// holds exactly these bytes per line, so a line with fields outside the hash,
    /// duplicate keys or any other spelling of the same entry does not verify.
    public func canonicalLine() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// Caller-controlled text (a node name, a token id, a reason) as the log may hold it:
    /// at most `limit` characters of printable ASCII, everything else escaped, longer
    /// values cut with their length noted. One rule for every value the log records.
    public static func bounded(_ text: String, limit: Int = 256) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else { return out + "…(\(text.utf8.count) bytes)" }
            if scalar.value >= 0x20 && scalar.value < 0x7f && scalar != "\\" { out.unicodeScalars.append(scalar) }
            else { out += String(format: "\\x%02x", min(scalar.value, 0xff)) }
            count += 1
        }
        return out
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

    /// Bytes of the log this process knows (what it read at start plus what it appended):
    /// anything else found in the file before an append was written behind its back.
    private var knownSize = 0
    /// Entries that were already past the last checkpoint at start (a crash, or lines
    /// somebody appended while the controller was down): the next checkpoint names them
    /// as not attested by this controller instead of vouching for them.
    private var unattested: ClosedRange<UInt64>?

    public init(path: String, ca: ClusterCA, checkpointEvery: Int = 16) throws {
        self.path = path
        self.ca = ca
        self.checkpointEvery = checkpointEvery
        // A log that cannot be read, is not UTF-8 or does not verify is refused, never
        // replaced by a new chain in the same file.
        let text: String
        do {
            guard let loaded = try SecureFile.loadText(path) else { return }
            text = loaded
        } catch {
            throw PKIError("\(error); refusing to extend or replace the audit log")
        }
        let report = AuditVerifier.verify(text, trusting: ca.certificate)
        if let bad = report.firstBad { throw PKIError("\(path): \(bad); refusing to extend a broken audit log") }
        if let entry = text.split(separator: "\n").last.flatMap({ try? JSONDecoder().decode(AuditEntry.self, from: Data($0.utf8)) }) {
            last = (entry.seq, entry.hash)
        }
        knownSize = text.utf8.count
        sinceCheckpoint = report.unsignedTail
        if report.unsignedTail > 0 { unattested = (last.seq - UInt64(report.unsignedTail) + 1)...last.seq }
    }

    /// Entries found unsigned at start, if any (for the controller's log line).
    public var unattestedAtStart: ClosedRange<UInt64>? { lock.withLock { unattested } }

    public func record(_ event: String, subject: String = "", detail: [String: String] = [:], now: Date = Date()) throws {
        try lock.withLock {
            try append(event, subject: AuditEntry.bounded(subject),
                       detail: Dictionary(uniqueKeysWithValues: detail.prefix(32).map { (AuditEntry.bounded($0.key, limit: 64), AuditEntry.bounded($0.value, limit: 1024)) }),
                       now: now)
            sinceCheckpoint += 1
            if sinceCheckpoint >= checkpointEvery { try appendCheckpoint(now: now) }
        }
    }

    /// Signs the chain as it is now (nothing to sign: no entry written).
    public func checkpoint(now: Date = Date()) throws {
        try lock.withLock { if sinceCheckpoint > 0 { try appendCheckpoint(now: now) } }
    }

    private func appendCheckpoint(now: Date) throws {
        var detail = ["covers": String(last.seq), "head": last.hash]
        if let unattested { detail["unattested"] = "\(unattested.lowerBound)-\(unattested.upperBound)" }
        try append("checkpoint", subject: "", detail: detail, now: now, sign: true)
        sinceCheckpoint = 0
        unattested = nil
    }

    private func append(_ event: String, subject: String, detail: [String: String], now: Date, sign: Bool = false) throws {
        var entry = AuditEntry(seq: last.seq + 1, time: ISO8601DateFormatter().string(from: now), event: event, subject: subject,
                               detail: detail, prev: last.hash, hash: "", signature: nil)
        entry.hash = entry.computedHash
        if sign { entry.signature = Data(try ca.sign(Array(entry.hash.utf8))).base64EncodedString() }
        var line = try entry.canonicalLine()
        line.append(0x0a)
        try checkUnchanged()
        do { try SecureFile.append(line, to: path) } catch { throw PKIError("\(error)") }
        knownSize += line.count
        last = (entry.seq, entry.hash)
    }

    /// The file must be exactly what this process read and wrote: a line appended or
    /// removed by anyone else would otherwise be chained in and signed at the next checkpoint.
    private func checkUnchanged() throws {
        var info = stat()
        let size: Int = stat(path, &info) == 0 ? Int(info.st_size) : 0
        guard size == knownSize else {
            throw PKIError("\(path) changed behind the controller's back (\(size) bytes, expected \(knownSize)); refusing to extend it")
        }
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
        /// Ranges ("5-7") a checkpoint says it does not vouch for: entries found unsigned
        /// when a controller started (after a crash, or appended while it was down).
        public var unattested: [String] = []
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
            guard let canonical = try? entry.canonicalLine(), canonical.elementsEqual(line.utf8) else {
                return bad("not in the canonical encoding (extra fields, duplicate keys or another spelling): not what the controller wrote")
            }
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
                if let range = entry.detail["unattested"] { report.unattested.append(range) }
            } else if entry.signature != nil {
                return bad("a signature on a non-checkpoint entry")
            }
            previous = (entry.seq, entry.hash)
        }
        return report
    }
}
