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

    /// Reads the store once: the controller is its only writer (tokens are made through
    /// Admin.CreateToken, and `DirectoryLock` keeps one controller per state directory).
    public init(path: String) throws {
        self.path = path
        try load()
    }

    private func load() throws {
        guard let text = SecureFile.read(path) else { records = [:]; return }
        do {
            let list = try JSONDecoder.weft.decode([Record].self, from: Data(text.utf8))
            records = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            throw PKIError("\(path) is not a token store: \(error)")
        }
    }

    /// Runs `body` under the process lock. When it fails, what it changed in memory may not
    /// be on disk: the store is read again, so memory never holds what the disk does not.
    private func locked<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            do { return try body() } catch {
                try? load()
                throw error
            }
        }
    }

    /// A new token for `node`, valid for `ttl` seconds. The returned string is the only copy
    /// of the secret.
    public func create(node: String, ttl: TimeInterval, now: Date = Date()) throws -> (token: String, id: String) {
        try create(nodes: [node], ttl: ttl, now: now)[0]
    }

    /// One new token per node in `nodes`, with one write of the store (a cluster's worth
    /// of tokens costs one rewrite, not one per node).
    public func create(nodes: [String], ttl: TimeInterval, now: Date = Date()) throws -> [(token: String, id: String)] {
        guard !nodes.isEmpty, !nodes.contains(where: \.isEmpty), ttl > 0 else { throw PKIError("a token needs a node name and a positive lifetime") }
        return try locked {
            let made = nodes.map { node -> (token: String, id: String) in
                var id = Self.randomHex(4)
                while records[id] != nil { id = Self.randomHex(4) }
                let secret = Self.randomHex(16)
                records[id] = Record(id: id, node: node, secretHash: Self.hash(secret), expires: now.addingTimeInterval(ttl), used: false)
                return ("weft-join.\(id).\(secret)", id)
            }
            try save()
            return made
        }
    }

    /// Spends `token` for `node`: it must exist, be unused, unexpired and for that node.
    /// Errors never repeat the secret. A refused token is left as it was.
    public func consume(_ token: String, node: String, now: Date = Date()) throws(PKIError) -> String {
        try consume([(token: token, node: node)], now: now)[0].get()
    }

    /// Spends several tokens with one read and one write of the store (a group of joins):
    /// each result is what spending that token alone would have said, in order. A refused
    /// token is left as it was; when the store cannot be written, none is spent.
    public func consume(_ requests: [(token: String, node: String)], now: Date = Date()) -> [Result<String, PKIError>] {
        guard !requests.isEmpty else { return [] }
        do {
            return try locked {
                let results = requests.map { spend($0.token, node: $0.node, now: now) }
                guard results.contains(where: { (try? $0.get()) != nil }) else { return results }
                do { try save() } catch {
                    try? load()  // what is in memory is not what is on disk
                    return results.map { _ in .failure(PKIError("cannot record the token as used: \(error)")) }
                }
                return results
            }
        } catch {
            return requests.map { _ in .failure(PKIError("token store: \(error)")) }
        }
    }

    private func spend(_ token: String, node: String, now: Date) -> Result<String, PKIError> {
        let parts = token.split(separator: ".")
        guard parts.count == 3, parts[0] == "weft-join" else { return .failure(PKIError("malformed join token")) }
        let id = String(parts[1]), secret = String(parts[2])
        guard var record = records[id], record.secretHash == Self.hash(secret) else { return .failure(PKIError("unknown join token \(id)")) }
        guard !record.used else { return .failure(PKIError("join token \(id) was already used")) }
        guard now <= record.expires else { return .failure(PKIError("join token \(id) expired at \(record.expires)")) }
        guard record.node == node else { return .failure(PKIError("join token \(id) is for node \(record.node), not \(node)")) }
        record.used = true
        records[id] = record
        return .success(id)
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
