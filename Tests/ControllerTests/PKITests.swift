import Crypto
import Foundation
import Netlink
import Testing
import WeftAgent
import WeftModel
import WeftPKI
import WeftPlanner
import X509

func temporaryDirectory() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("weft-pki-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func mode(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1 }

@Suite("PKI: CA, node certificates, join tokens")
struct PKITests {
    @Test("the CA is created once (key 0600) and reused after a restart; a mismatched pair is refused")
    func caPersistence() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (first, created) = try ClusterCA.loadOrCreate(directory: dir, clusterName: "test")
        #expect(created && mode(dir + "/ca.key") == 0o600 && mode(dir + "/ca.crt") == 0o644)
        let (again, createdAgain) = try ClusterCA.loadOrCreate(directory: dir, clusterName: "test")
        #expect(!createdAgain && again.certificate == first.certificate)
        try P256.Signing.PrivateKey().pemRepresentation.write(toFile: dir + "/ca.key", atomically: true, encoding: .utf8)
        #expect(throws: PKIError.self) { try ClusterCA.loadOrCreate(directory: dir, clusterName: "test") }
    }

    @Test("a node's CSR becomes a 24 h client certificate binding its name to its signing and key-agreement keys")
    func issue() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = try ClusterCA.loadOrCreate(directory: dir, clusterName: "test").ca
        let node = NodeIdentity(name: "node1")
        let now = Date()
        let (certificate, kex) = try ca.issueNodeCertificate(csrPEM: try node.certificateSigningRequestPEM(), node: "node1", now: now)
        #expect(kex.x963Representation == node.keyAgreementKey.publicKey.x963Representation)
        #expect(certificate.publicKey == Certificate.PublicKey(node.signingKey.publicKey))
        #expect(abs(certificate.notValidAfter.timeIntervalSince(now) - 86_400) < 2)
        #expect(try ca.verifyNodeCertificate(certificate, now: now) == "node1")
        #expect(try certificate.extensions.extendedKeyUsage?.contains(.clientAuth) == true)
        // Expired, and from another CA: refused.
        #expect(throws: PKIError.self) { try ca.verifyNodeCertificate(certificate, now: now.addingTimeInterval(90_000)) }
        let other = try ClusterCA.loadOrCreate(directory: temporaryDirectory(), clusterName: "other").ca
        let foreign = try other.issueNodeCertificate(csrPEM: try node.certificateSigningRequestPEM(), node: "node1").certificate
        #expect(throws: PKIError.self) { try ca.verifyNodeCertificate(foreign) }
    }

    @Test("refused: a CSR for another name, without proof of possession, without a key-agreement key, or garbage")
    func refusals() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = try ClusterCA.loadOrCreate(directory: dir, clusterName: "test").ca
        let node = NodeIdentity(name: "node1")
        func refusal(_ pem: String, _ name: String = "node1") -> String {
            do { _ = try ca.issueNodeCertificate(csrPEM: pem, node: name); return "issued" } catch { return error.description }
        }
        #expect(refusal(try node.certificateSigningRequestPEM(), "node2").hasPrefix("the CSR's subject is"))
        // The CSR's content with another key's public half: the signature cannot verify.
        let genuine = try node.certificateSigningRequest()
        let swapped = try CertificateSigningRequest(version: genuine.version, subject: genuine.subject,
                                                    publicKey: .init(P256.Signing.PrivateKey().publicKey), attributes: genuine.attributes,
                                                    signatureAlgorithm: genuine.signatureAlgorithm, signature: genuine.signature)
        #expect(refusal(try swapped.serializeAsPEM().pemString) == "the CSR's signature does not verify: no proof of possession of its key")
        let bare = try CertificateSigningRequest(version: .v1, subject: try DistinguishedName { CommonName("node1") },
                                                 privateKey: .init(node.signingKey), attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256)
        #expect(refusal(try bare.serializeAsPEM().pemString) == "the CSR requests no subject alternative names")
        for garbage in ["", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", String(repeating: "x", count: 5000)] {
            #expect(refusal(garbage) == "the CSR is not a PEM certificate signing request")
        }
    }

    @Test("join tokens: single use, expiring, bound to a node; only the secret's hash is stored (0600)")
    func tokens() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try JoinTokens(path: dir + "/tokens.json")
        let now = Date()
        let (token, id) = try store.create(node: "node1", ttl: 600, now: now)
        let secret = String(token.split(separator: ".")[2])
        #expect(throws: PKIError.self) { try store.consume(token, node: "node2", now: now) }
        #expect(try store.consume(token, node: "node1", now: now) == id)
        #expect(throws: PKIError("join token \(id) was already used")) { try store.consume(token, node: "node1", now: now) }
        let (late, lateID) = try store.create(node: "node1", ttl: 60, now: now)
        #expect(throws: PKIError("join token \(lateID) expired at \(now.addingTimeInterval(60))")) {
            try store.consume(late, node: "node1", now: now.addingTimeInterval(61))
        }
        #expect(throws: PKIError("malformed join token")) { try store.consume("nonsense", node: "node1") }
        #expect(throws: PKIError.self) { try store.consume("weft-join.\(lateID).00", node: "node1") }
        let stored = try String(contentsOfFile: dir + "/tokens.json", encoding: .utf8)
        #expect(mode(dir + "/tokens.json") == 0o600 && !stored.contains(secret) && stored.contains(id))
        // A restarted controller still knows the token was used.
        #expect(throws: PKIError.self) { try JoinTokens(path: dir + "/tokens.json").consume(token, node: "node1", now: now) }
    }
}

@Suite("audit log: hash chain, signed checkpoints, offline verification")
struct AuditTests {
    static func log(_ dir: String, entries: Int) throws -> (ClusterCA, String) {
        let ca = try ClusterCA.loadOrCreate(directory: dir, clusterName: "test").ca
        let log = try AuditLog(path: dir + "/audit.log", ca: ca, checkpointEvery: 8)
        for i in 0..<entries { try log.record(i % 2 == 0 ? "issue" : "spi-allocation", subject: "node\(i)", detail: ["serial": "\(i)"]) }
        return (ca, try String(contentsOfFile: dir + "/audit.log", encoding: .utf8))
    }

    @Test("20 entries: 2 checkpoints, the chain and signatures verify, 4 entries not yet signed; the log continues after a restart")
    func verifies() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (ca, text) = try Self.log(dir, entries: 20)
        let report = AuditVerifier.verify(text, trusting: ca.certificate)
        #expect(report.firstBad == nil && report.entries == 22 && report.checkpoints == 2 && report.unsignedTail == 4)
        #expect(mode(dir + "/audit.log") == 0o600)
        let reopened = try AuditLog(path: dir + "/audit.log", ca: ca, checkpointEvery: 8)
        try reopened.record("revoke", subject: "node3")
        try reopened.checkpoint()
        let after = AuditVerifier.verify(try String(contentsOfFile: dir + "/audit.log", encoding: .utf8), trusting: ca.certificate)
        #expect(after.firstBad == nil && after.entries == 24 && after.unsignedTail == 0)
    }

    @Test("tampering is found and the first bad entry named: altered, removed, re-hashed without the CA key, wrong CA")
    func tampering() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (ca, text) = try Self.log(dir, entries: 20)
        var lines = text.split(separator: "\n").map(String.init)
        var altered = lines
        altered[4] = altered[4].replacingOccurrences(of: "\"serial\":\"4\"", with: "\"serial\":\"44\"")
        #expect(AuditVerifier.verify(altered.joined(separator: "\n"), trusting: ca.certificate).firstBad
                == "line 5 (seq 5): its hash does not match its content: the entry was altered")
        var removed = lines
        removed.remove(at: 2)
        #expect(AuditVerifier.verify(removed.joined(separator: "\n"), trusting: ca.certificate).firstBad?.hasPrefix("line 3 (seq 3): sequence 4 follows 2") == true)
        // Rewrite entry 3 and recompute every hash after it: the checkpoint's signature gives it away.
        for i in 2..<lines.count {
            var entry = try JSONDecoder().decode(AuditEntry.self, from: Data(lines[i].utf8))
            if i == 2 { entry.subject = "mallory" }
            entry.prev = i == 0 ? AuditEntry.genesis : try JSONDecoder().decode(AuditEntry.self, from: Data(lines[i - 1].utf8)).hash
            if entry.event == "checkpoint" { entry.detail["head"] = entry.prev }  // a careful forger fixes these too
            entry.hash = entry.computedHash
            lines[i] = String(decoding: try entry.canonicalLine(), as: UTF8.self)
        }
        #expect(AuditVerifier.verify(lines.joined(separator: "\n"), trusting: ca.certificate).firstBad
                == "line 9 (seq 9): checkpoint signature does not verify with the CA certificate")
        let otherCA = try ClusterCA.loadOrCreate(directory: temporaryDirectory(), clusterName: "x").ca
        #expect(AuditVerifier.verify(text, trusting: otherCA.certificate).firstBad?.contains("checkpoint signature does not verify") == true)
        #expect(AuditVerifier.verify("not json\n", trusting: ca.certificate).firstBad == "line 1: not an audit entry")
        // The controller refuses to extend a broken log.
        try altered.joined(separator: "\n").write(toFile: dir + "/audit.log", atomically: true, encoding: .utf8)
        #expect(throws: PKIError.self) { try AuditLog(path: dir + "/audit.log", ca: ca) }
    }
}

@Suite("the controller never holds a traffic key")
struct NoTrafficKeyTests {
    @Test("two nodes join and get their desired states; the keys their agents derive appear nowhere in the controller's state")
    func noKeys() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = try ClusterCA.loadOrCreate(directory: dir, clusterName: "test").ca
        let audit = try AuditLog(path: dir + "/audit.log", ca: ca)
        let tokens = try JoinTokens(path: dir + "/tokens.json")
        let nodes = [NodeIdentity(name: "node1"), NodeIdentity(name: "node2")]
        var credentials: [String: NodeCredentials] = [:]
        for node in nodes {
            let token = try tokens.create(node: node.name, ttl: 60).token
            _ = try tokens.consume(token, node: node.name)
            let (certificate, kex) = try ca.issueNodeCertificate(csrPEM: try node.certificateSigningRequestPEM(), node: node.name)
            try audit.record("issue", subject: node.name, detail: ["serial": "\(certificate.serialNumber)"])
            credentials[node.name] = NodeCredentials(keyAgreementPublicKey: kex.x963Representation.base64EncodedString(), incarnation: "1")
        }
        var spec = smallSpec()
        spec.nodes.removeLast()
        spec.pods = spec.pods.filter { $0.node != "node3" }
        let planner = try Planner(spec: spec, credentials: credentials)
        for node in planner.activeNodes {
            try planner.desiredState(for: node)!.encoded().write(to: URL(fileURLWithPath: dir + "/desired-\(node).json"))
        }
        try audit.checkpoint()

        // What the agents derive from those documents.
        var keys: [SecretBytes] = []
        for node in nodes {
            let encryption = try DesiredEncryption(planner.desiredState(for: node.name)!, privateKey: node.keyAgreementKey)
            keys += encryption.states.compactMap { $0.aead?.key }
        }
        #expect(keys.count == 4 && Set(keys).count == 2, "node1's outbound key must equal node2's inbound key and vice versa")

        var haystack = Data()
        for file in try FileManager.default.contentsOfDirectory(atPath: dir) { haystack += FileManager.default.contents(atPath: dir + "/" + file) ?? Data() }
        let text = String(decoding: haystack, as: UTF8.self).lowercased()
        for key in keys {
            key.withUnsafeKeyBytes { bytes in
                #expect(haystack.range(of: Data(bytes)) == nil, "raw key bytes in the controller's state")
                #expect(!text.contains(bytes.map { String(format: "%02x", $0) }.joined()), "hex key in the controller's state")
                #expect(!text.contains(Data(bytes).base64EncodedString().lowercased()), "base64 key in the controller's state")
                // Nor any 8-byte window of it (a partial or reformatted copy).
                #expect(haystack.range(of: Data(bytes[4..<12])) == nil)
            }
        }
    }
}
