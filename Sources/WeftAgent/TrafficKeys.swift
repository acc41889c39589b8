import Crypto
import Foundation
import Netlink

/// Per-pair, per-direction ESP keys, derived on the nodes: ECDH between the two nodes'
/// certified P-256 key-agreement keys, expanded with HKDF-SHA256 over everything that
/// names the SA. Both ends compute the same 36 bytes (AES-256 key + 4-byte GCM salt for
/// `rfc4106(gcm(aes))`); the controller, which only knows public keys, cannot.
///
/// Nonce safety: an SA's sequence counter restarts whenever the SA is installed again, and
/// Linux builds the GCM nonce from salt and sequence number, so the same (key, SPI) must
/// never be installed twice. Both nodes' *incarnations* (a value that changes whenever a
/// node's SAs may have been lost: per boot, and per agent state reset) are part of the
/// derivation: when either end starts over, both directions between them get fresh keys,
/// so the rebooted node's inbound SAs are never the ones its ledger saw before, and its
/// outbound ones never repeat a nonce.
public enum TrafficKeys {
    public static let keyBytes = 36
    /// v2: the destination's incarnation joined the derivation.
    static let label = "weft-esp-v2"

    public struct Context: Hashable, Sendable {
        public var clusterID: String
        public var epoch: UInt32
        public var spi: UInt32
        /// Node names: source encrypts, destination decrypts.
        public var source: String
        public var destination: String
        /// The source and destination nodes' incarnations (see above).
        public var sourceIncarnation: String
        public var destinationIncarnation: String
        /// The SA's underlay addresses (text form). The kernel names an SA by destination
        /// and SPI, so a peer that moves to a new address gets a new SA: with the
        /// addresses in the derivation it also gets a new key, never the old one again.
        public var sourceAddress: String
        public var destinationAddress: String

        public init(clusterID: String, epoch: UInt32, spi: UInt32, source: String, destination: String, sourceIncarnation: String,
                    destinationIncarnation: String, sourceAddress: String, destinationAddress: String) {
            self.clusterID = clusterID
            self.epoch = epoch
            self.spi = spi
            self.source = source
            self.destination = destination
            self.sourceIncarnation = sourceIncarnation
            self.destinationIncarnation = destinationIncarnation
            self.sourceAddress = sourceAddress
            self.destinationAddress = destinationAddress
        }

        /// HKDF info: every field length-prefixed, so no two contexts encode alike.
        var info: Data {
            var data = Data()
            func field(_ bytes: some Sequence<UInt8>) {
                let array = Array(bytes)
                withUnsafeBytes(of: UInt32(array.count).bigEndian) { data.append(contentsOf: $0) }
                data.append(contentsOf: array)
            }
            field(Self.labelBytes)
            field(clusterID.utf8)
            withUnsafeBytes(of: epoch.bigEndian) { field($0) }
            withUnsafeBytes(of: spi.bigEndian) { field($0) }
            field(source.utf8)
            field(destination.utf8)
            field(sourceIncarnation.utf8)
            field(destinationIncarnation.utf8)
            field(sourceAddress.utf8)
            field(destinationAddress.utf8)
            return data
        }

        static let labelBytes = Array(TrafficKeys.label.utf8)
    }

    /// The key for the SA described by `context`, from this node's private key and the
    /// other end's public key (whichever end this node is).
    public static func derive(privateKey: P256.KeyAgreement.PrivateKey, peerPublicKey: P256.KeyAgreement.PublicKey,
                              context: Context) throws -> SecretBytes {
        let shared = try privateKey.sharedSecretFromKeyAgreement(with: peerPublicKey)
        let key = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: Array(label.utf8), sharedInfo: context.info,
                                                 outputByteCount: keyBytes)
        return key.withUnsafeBytes { SecretBytes(Array($0)) }
    }
}

/// Derived keys by (peer public key, context), so that a reconcile with thousands of
/// encrypting peers and nothing new costs dictionary lookups, not public-key parsing, ECDH
/// and HKDF per SA. Lives as long as the reconciler and its private key; never persisted.
/// Each plan keeps only the keys it used (`retainOnly`), so old epochs do not pile up.
public final class SharedSecretCache: @unchecked Sendable {
    struct Entry: Hashable {
        var peerKey: String
        var context: TrafficKeys.Context
    }

    private var keys: [Entry: SecretBytes] = [:]
    private let lock = NSLock()

    public init() {}

    public var count: Int { lock.withLock { keys.count } }

    /// The cached key, or `derive()`'s result, remembered.
    func key(peerKey: String, context: TrafficKeys.Context, derive: () throws -> SecretBytes) rethrows -> SecretBytes {
        let entry = Entry(peerKey: peerKey, context: context)
        if let known = lock.withLock({ keys[entry] }) { return known }
        let key = try derive()
        lock.withLock { keys[entry] = key }
        return key
    }

    /// Forgets every key not derived for `used` (peer key, context) pairs.
    func retainOnly(_ used: Set<Entry>) {
        lock.withLock { keys = keys.filter { used.contains($0.key) } }
    }
}
