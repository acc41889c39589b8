import Crypto
import Foundation
import Netlink
import Testing
@testable import WeftAgent

@Suite("traffic key derivation")
struct TrafficKeyTests {
    // Fixed test keys (not secrets): P-256 scalars 1..32 and 33..64.
    nonisolated(unsafe) static let a = try! P256.KeyAgreement.PrivateKey(rawRepresentation: Data((1...32).map { UInt8($0) }))
    nonisolated(unsafe) static let b = try! P256.KeyAgreement.PrivateKey(rawRepresentation: Data((33...64).map { UInt8($0) }))
    nonisolated(unsafe) static let c = try! P256.KeyAgreement.PrivateKey(rawRepresentation: Data((65...96).map { UInt8($0) }))
    static let context = TrafficKeys.Context(clusterID: "demo", epoch: 3, spi: 0x1001, source: "node-a", destination: "node-b",
                                             sourceIncarnation: "boot-1", destinationIncarnation: "boot-7",
                                             sourceAddress: "192.0.2.1", destinationAddress: "192.0.2.2")

    func hex(_ key: SecretBytes) -> String { key.withUnsafeKeyBytes { $0.map { String(format: "%02x", $0) }.joined() } }

    @Test("both ends derive the same 36 bytes; a third node cannot")
    func agreement() throws {
        let atA = try TrafficKeys.derive(privateKey: Self.a, peerPublicKey: Self.b.publicKey, context: Self.context)
        let atB = try TrafficKeys.derive(privateKey: Self.b, peerPublicKey: Self.a.publicKey, context: Self.context)
        #expect(atA == atB && atA.count == 36)
        let atC = try TrafficKeys.derive(privateKey: Self.c, peerPublicKey: Self.a.publicKey, context: Self.context)
        #expect(atC != atA)
    }

    @Test("every context field changes the key, including the direction, both incarnations and the addresses")
    func contextSeparation() throws {
        var variants = [Self.context]
        var v = Self.context; v.epoch = 4; variants.append(v)
        v = Self.context; v.spi = 0x1002; variants.append(v)
        v = Self.context; v.source = "node-b"; v.destination = "node-a"; variants.append(v)
        v = Self.context; v.sourceIncarnation = "boot-2"; variants.append(v)
        // The receiver starting over (a reboot) changes the key too: its ledger never sees it twice.
        v = Self.context; v.destinationIncarnation = "boot-8"; variants.append(v)
        v = Self.context; v.clusterID = "demo2"; variants.append(v)
        v = Self.context; v.destinationAddress = "203.0.113.7"; variants.append(v)
        v = Self.context; v.sourceAddress = "192.0.2.9"; variants.append(v)
        // Length prefixes: moving a character between adjacent fields is a different context.
        v = Self.context; v.source = "node-an"; v.destination = "ode-b"; variants.append(v)
        let keys = try variants.map { try TrafficKeys.derive(privateKey: Self.a, peerPublicKey: Self.b.publicKey, context: $0) }
        #expect(Set(keys).count == variants.count)
    }

    /// Cross-checked with Python's `cryptography` (an independent ECDH + HKDF):
    ///   ec.derive_private_key(int.from_bytes(bytes(range(1,33)),'big'), SECP256R1()).exchange(ECDH(), pub_b)
    ///   HKDF(SHA256(), 36, salt=b"weft-esp-v2", info=<length-prefixed fields>).derive(shared)
    /// (the same script reproduces v1's vector, 7283bc25…, without the destination incarnation)
    @Test("known-answer vector")
    func knownAnswer() throws {
        let key = try TrafficKeys.derive(privateKey: Self.a, peerPublicKey: Self.b.publicKey, context: Self.context)
        #expect(hex(key) == TrafficKeyTests.expected)
    }

    static let expected = "b53257268fae5f1ff43d000207259f0bbe0447f14baf5d10cc6a5175d6b04288ff6a279f"
}
