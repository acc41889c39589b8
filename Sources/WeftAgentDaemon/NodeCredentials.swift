import Crypto
import Foundation
import Synchronization
import WeftFiles
import WeftPKI
import X509

/// This node's keys, incarnation and certificate, kept in the state directory:
/// `node.key` and `kex.key` (the signing and key-agreement private keys, 0600, created
/// here and never sent anywhere), `node.crt`, `ca.crt`, `incarnation` (per boot).
public final class NodeCredentials: Sendable {
    public let identity: NodeIdentity
    public let incarnation: String
    /// The incarnation was made at this start (a reboot, or a first start): the controller
    /// still plans keys for the old one until it hears of this one.
    public let freshIncarnation: Bool
    public let caPEM: String
    let directory: String
    private let certificate = Mutex<String?>(nil)

    /// Loads or creates the keys and the incarnation, and the certificate if there is a
    /// usable one (nil until the node joins).
    public init(name: String, stateDirectory: String, caFile: String) throws {
        directory = stateDirectory
        let signing: P256.Signing.PrivateKey = try Self.key(stateDirectory + "/node.key", make: { P256.Signing.PrivateKey() },
                                                             pem: \.pemRepresentation,
                                                             load: { try P256.Signing.PrivateKey(pemRepresentation: $0) })
        let kex: P256.KeyAgreement.PrivateKey = try Self.key(stateDirectory + "/kex.key", make: { P256.KeyAgreement.PrivateKey() },
                                                              pem: \.pemRepresentation,
                                                              load: { try P256.KeyAgreement.PrivateKey(pemRepresentation: $0) })
        identity = NodeIdentity(name: name, signingKey: signing, keyAgreementKey: kex)
        (incarnation, freshIncarnation) = try Self.incarnation(stateDirectory + "/incarnation")
        guard let ca = SecureFile.read(caFile) else { throw DaemonError("cannot read --ca \(caFile)") }
        caPEM = ca
        if let pem = SecureFile.read(stateDirectory + "/node.crt"), let parsed = try? Certificate(pemEncoded: pem), parsed.notValidAfter > Date() {
            certificate.withLock { $0 = pem }
        }
    }

    public static func desiredStatePath(stateDirectory: String) -> String { stateDirectory + "/desired.json" }

    /// The node certificate (PEM), nil before the first join.
    public var certificatePEM: String? { certificate.withLock { $0 } }

    public var certificateExpiry: Date? { certificatePEM.flatMap { try? Certificate(pemEncoded: $0) }?.notValidAfter }

    /// Stores a certificate the controller issued (a join's, a renewal's).
    func store(certificate pem: String, ca: String? = nil) throws {
        try SecureFile.write(pem, to: directory + "/node.crt", mode: 0o644)
        if let ca { try SecureFile.write(ca, to: directory + "/ca.crt", mode: 0o644) }
        certificate.withLock { $0 = pem }
    }

    private static func key<K>(_ path: String, make: () -> K, pem: KeyPath<K, String>, load: (String) throws -> K) throws -> K {
        // Unreadable is not missing: a key that exists is never replaced by a new one.
        let existing: String?
        do { existing = try SecureFile.loadText(path, limit: 64 << 10) } catch { throw DaemonError("\(error)") }
        if let text = existing {
            do { return try load(text) } catch { throw DaemonError("\(path) is not a PEM P-256 private key") }
        }
        let key = make()
        try SecureFile.write(key[keyPath: pem] + "\n", to: path, mode: 0o600)
        return key
    }

    /// A new random value whenever the machine booted since the last one: SAs do not
    /// survive a reboot, so the keys of their successors must differ (docs/desired-state.md).
    private static func incarnation(_ path: String) throws -> (value: String, fresh: Bool) {
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        if let text = SecureFile.read(path) {
            let parts = text.split(separator: " ")
            if parts.count == 2, parts[0] == boot { return (String(parts[1]), false) }
        }
        var generator = SystemRandomNumberGenerator()
        let value = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        try SecureFile.write("\(boot) \(value)\n", to: path, mode: 0o600)
        return (value, true)
    }
}
