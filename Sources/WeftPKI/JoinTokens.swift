import Crypto
import Foundation
import WeftFiles

/// Single-use, expiring join tokens. A token is `weft-join.<id>.<secret>`: the id names it
/// in logs and the audit, the 128-bit secret is shown once at creation and stored only as
/// its SHA-256 (`tokens.json`, mode 0600), so neither the controller's disk nor its logs
/// can be replayed into a join. Each token is bound to one node name.
public final class JoinTokens: @unchecked Sendable {
    public struct Record: Codable, Hashable, Sendable {
        public var id: String
        public var node: String
        public var secretHash: String
        public var expires: Date
        public var used: Bool
    }

    public let path: String
    private var records: [String: Record] = [:]
    private let lock = NSLock()

    public init(path: String) throws {
        self.path = path
        try reload()
    }

    /// Rereads the store: `weftctl token create` and the controller share the file, so
    /// every operation starts from what is on disk (under an flock, see `locked`).
    private func reload() throws {
        guard let text = SecureFile.read(path) else { records = [:]; return }
        do {
            let list = try JSONDecoder.weft.decode([Record].self, from: Data(text.utf8))
            records = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            throw PKIError("\(path) is not a token store: \(error)")
        }
    }

    /// Runs `body` holding the process lock and an exclusive flock on `path.lock`.
    private func locked<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            let fd = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw PKIError("cannot open \(path).lock: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            guard flock(fd, LOCK_EX) == 0 else { throw PKIError("cannot lock \(path).lock") }
            defer { flock(fd, LOCK_UN) }
            try reload()
            return try body()
        }
    }

    /// A new token for `node`, valid for `ttl` seconds. The returned string is the only copy
    /// of the secret.
    public func create(node: String, ttl: TimeInterval, now: Date = Date()) throws -> (token: String, id: String) {
        guard !node.isEmpty, ttl > 0 else { throw PKIError("a token needs a node name and a positive lifetime") }
        let id = Self.randomHex(4), secret = Self.randomHex(16)
        try locked {
            records[id] = Record(id: id, node: node, secretHash: Self.hash(secret), expires: now.addingTimeInterval(ttl), used: false)
            try save()
        }
        return ("weft-join.\(id).\(secret)", id)
    }

    /// Spends `token` for `node`: it must exist, be unused, unexpired and for that node.
    /// Errors never repeat the secret. A refused token is left as it was.
    public func consume(_ token: String, node: String, now: Date = Date()) throws(PKIError) -> String {
        let parts = token.split(separator: ".")
        guard parts.count == 3, parts[0] == "weft-join" else { throw PKIError("malformed join token") }
        let id = String(parts[1]), secret = String(parts[2])
        let attempt: Result<String, PKIError>
        do { attempt = try locked { () -> Result<String, PKIError> in
            guard var record = records[id], record.secretHash == Self.hash(secret) else { return .failure(PKIError("unknown join token \(id)")) }
            guard !record.used else { return .failure(PKIError("join token \(id) was already used")) }
            guard now <= record.expires else { return .failure(PKIError("join token \(id) expired at \(record.expires)")) }
            guard record.node == node else { return .failure(PKIError("join token \(id) is for node \(record.node), not \(node)")) }
            record.used = true
            records[id] = record
            do { try save() } catch { return .failure(PKIError("cannot record the token as used: \(error)")) }
            return .success(id)
        } } catch { attempt = .failure(PKIError("token store: \(error)")) }
        return try attempt.get()
    }

    private func save() throws {
        let data = try JSONEncoder.weft.encode(records.values.sorted { $0.id < $1.id })
        try SecureFile.write(Array(data), to: path, mode: 0o600)
    }

    static func hash(_ secret: String) -> String { SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined() }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// The JSON of Weft's state files (tokens, controller.json): sorted keys, readable,
/// ISO 8601 dates.
extension JSONEncoder {
    public static var weft: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    public static var weft: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
