import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import WeftControlAPI
@testable import WeftController
import WeftModel
import WeftPKI
import X509

/// The findings of the hostile-input audit (docs/security.md), each as the attack that
/// found it: every test here fails without its fix.
@Suite("hostile callers: bounded fields, retry-safe renewal, permanent revocation, one stream per node")
struct HostileInputTests {
    typealias Harness = ControlServiceTests.Harness

    /// Joins `identity` straight through the plane; returns its certificate.
    static func join(_ plane: ControlPlane, _ identity: NodeIdentity, incarnation: String = "boot-1") async throws -> Certificate {
        let token = try await plane.createToken(node: identity.name, ttl: 300)
        return try await plane.join(node: identity.name, token: token, csrPEM: try identity.certificateSigningRequestPEM(), incarnation: incarnation)
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test("a megabyte token id, node name or incarnation is refused before anything is read or written; refusals reach the audit log at a bounded rate")
    func boundedJoin() async throws {
        let harness = try await Harness()
        let audit = harness.dir + "/audit.log"
        let before = Self.lines(audit).count
        let huge = String(repeating: "a", count: 1 << 20)
        var request = Weft_V1_JoinRequest()
        request.node = "node1"
        request.token = "weft-join.\(huge).00"
        request.csrPem = try NodeIdentity(name: "node1").certificateSigningRequestPEM()
        request.incarnation = "boot-1"
        let flood = request
        // Over the join listener's request size: refused by the transport.
        let code = await ControlServiceTests.code { _ = try await harness.joinClient { try await $0.join(flood) } }
        // (the server resets the stream: UNAVAILABLE on the client)
        #expect(code == .resourceExhausted || code == .invalidArgument || code == .unavailable, "a 1 MiB join: \(String(describing: code))")
        // Under the transport's cap but over a field's: refused by the field check, naming it.
        for field in ["incarnation", "node", "token"] {
            var bad = request
            bad.token = "weft-join.00000000.\(String(repeating: "0", count: 32))"
            let long = String(repeating: "b", count: 4096)
            switch field {
            case "token": bad.token = long
            case "node": bad.node = long
            default: bad.incarnation = long
            }
            let sent = bad
            do { _ = try await harness.joinClient { try await $0.join(sent) }; Issue.record("\(field) accepted") } catch let error as RPCError {
                #expect(error.code == .invalidArgument && error.message.hasPrefix(field) && error.message.count < 200, "\(field): \(error)")
            }
        }
        // 100 refused joins with well-formed unknown tokens: all refused alike, few audited.
        for i in 0..<100 {
            _ = try? await harness.plane.join(node: i % 2 == 0 ? "node1" : "nobody", token: "weft-join.0000000\(i % 10).\(String(repeating: "0", count: 32))",
                                              csrPEM: try NodeIdentity(name: i % 2 == 0 ? "node1" : "nobody").certificateSigningRequestPEM(), incarnation: "x")
        }
        let after = Self.lines(audit)
        let refusals = after.filter { $0.contains("\"join-refused\"") }
        #expect(refusals.count <= 21, "\(refusals.count) refusals audited")
        #expect(after.count - before <= 25 && after.allSatisfy { $0.utf8.count < 2048 }, "audit grew by \(after.count - before) lines")
        #expect(AuditVerifier.verify(after.joined(separator: "\n") + "\n", trusting: harness.plane.ca.certificate).firstBad == nil)
        // An unknown node and a bad token are told the same thing.
        var unknown = "", badToken = ""
        do { _ = try await harness.plane.join(node: "nobody", token: "weft-join.00000000.\(String(repeating: "0", count: 32))",
                                              csrPEM: try NodeIdentity(name: "nobody").certificateSigningRequestPEM(), incarnation: "x") } catch { unknown = "\(error)" }
        do { _ = try await harness.plane.join(node: "node1", token: "weft-join.00000000.\(String(repeating: "0", count: 32))",
                                              csrPEM: try NodeIdentity(name: "node1").certificateSigningRequestPEM(), incarnation: "x") } catch { badToken = "\(error)" }
        #expect(!unknown.isEmpty && unknown == badToken)
        await harness.stop()
    }

    @Test("a CSR refused for its content does not spend the token; a key-agreement key of another node is refused")
    func csrFirst() async throws {
        let dir = temporaryDirectory()
        let plane = try ControlPlane(stateDirectory: dir, spec: smallSpec())
        defer { plane.close() }
        let token = try await plane.createToken(node: "node1", ttl: 300)
        await #expect(throws: ControlPlane.Failure.self) {
            _ = try await plane.join(node: "node1", token: token, csrPEM: try NodeIdentity(name: "node2").certificateSigningRequestPEM(), incarnation: "x")
        }
        _ = try await plane.join(node: "node1", token: token, csrPEM: try NodeIdentity(name: "node1").certificateSigningRequestPEM(), incarnation: "x")
        #expect(Self.lines(dir + "/audit.log").contains { $0.contains("\"join-refused\"") && $0.contains("node1") }, "the refused CSR was not audited")

        let node2 = NodeIdentity(name: "node2")
        _ = try await Self.join(plane, node2)
        let thief = NodeIdentity(name: "node3", signingKey: P256.Signing.PrivateKey(), keyAgreementKey: node2.keyAgreementKey)
        let stolen = try await plane.createToken(node: "node3", ttl: 300)
        do {
            _ = try await plane.join(node: "node3", token: stolen, csrPEM: try thief.certificateSigningRequestPEM(), incarnation: "x")
            Issue.record("node3 registered node2's key-agreement key")
        } catch { #expect((error as? ControlPlane.Failure)?.kind == .invalidArgument, "\(error)") }
    }

    @Test("a renewal whose answer is lost can be retried with the old certificate; once the new one is used the old one is refused")
    func renewRetry() async throws {
        let dir = temporaryDirectory()
        let plane = try ControlPlane(stateDirectory: dir, spec: smallSpec())
        defer { plane.close() }
        let node1 = NodeIdentity(name: "node1")
        let first = try await Self.join(plane, node1)
        let serial = "\(first.serialNumber)"
        // The answer to this renewal is "lost": the agent still holds `first`.
        let lost = try await plane.renew(node: "node1", presented: serial, csrPEM: try node1.certificateSigningRequestPEM(), incarnation: "boot-1")
        #expect(try await plane.authenticate(first) == "node1", "the old certificate was refused before the new one was used")
        let retried = try await plane.renew(node: "node1", presented: serial, csrPEM: try node1.certificateSigningRequestPEM(), incarnation: "boot-1")
        await #expect(throws: ControlPlane.Failure.self, "the lost certificate was never used and is superseded") { _ = try await plane.authenticate(lost) }
        #expect(try await plane.authenticate(retried) == "node1")
        await #expect(throws: ControlPlane.Failure.self, "the old certificate outlived the use of its successor") { _ = try await plane.authenticate(first) }
    }

    @Test("revocation is permanent for the certificate: un-revoking or removing and re-adding the node does not revive it; an unlisted node can be revoked")
    func permanentRevocation() async throws {
        let dir = temporaryDirectory()
        var spec = smallSpec()
        let plane = try ControlPlane(stateDirectory: dir, spec: spec)
        defer { plane.close() }
        let node1 = NodeIdentity(name: "node1"), node2 = NodeIdentity(name: "node2")
        let cert1 = try await Self.join(plane, node1)
        let cert2 = try await Self.join(plane, node2)
        spec.revoked = ["node1"]
        try await plane.update(spec: spec)
        spec.revoked = []
        try await plane.update(spec: spec)
        await #expect(throws: ControlPlane.Failure.self, "un-revoked in the file, the old certificate works again") { _ = try await plane.authenticate(cert1) }
        await #expect(throws: ControlPlane.Failure.self) {
            _ = try await plane.renew(node: "node1", presented: "\(cert1.serialNumber)", csrPEM: try node1.certificateSigningRequestPEM(), incarnation: "x")
        }
        // A rejoin with a new token is the way back.
        let fresh = try await Self.join(plane, node1)
        #expect(try await plane.authenticate(fresh) == "node1")

        let listed = spec
        spec.nodes.removeAll { $0.name == "node2" }
        spec.pods.removeAll { $0.node == "node2" }
        try await plane.update(spec: spec)
        await #expect(throws: ControlPlane.Failure.self, "a removed node still authenticates") { _ = try await plane.authenticate(cert2) }
        #expect(try await plane.revoke("node2") == [], "an unlisted node with a certificate can be revoked")
        try await plane.update(spec: listed)
        await #expect(throws: ControlPlane.Failure.self, "re-listed, the removed node's certificate works again") { _ = try await plane.authenticate(cert2) }
        await #expect(throws: ControlPlane.Failure.self) { _ = try await plane.revoke("never-listed") }
    }

    @Test("one Watch stream per node: a second one ends the first; a stalled stream is ended once it falls a buffer behind")
    func boundedStreams() async throws {
        let plane = try ControlPlane(stateDirectory: temporaryDirectory(), spec: smallSpec(encryption: false))
        defer { plane.close() }
        for node in ["node1", "node2"] { _ = try await Self.join(plane, NodeIdentity(name: node)) }
        let first = await plane.watch(node: "node1")
        let second = await plane.watch(node: "node1")
        var firstEnd: ControlPlane.Failure.Kind?
        do { for try await _ in first {} } catch let failure as ControlPlane.Failure { firstEnd = failure.kind }
        #expect(firstEnd == .unavailable, "the replaced stream ended with \(String(describing: firstEnd))")
        // Nobody reads `second`: 3 × the buffer of changes to node1's state (clients of its
        // web pod come and go on node2) later it has been ended.
        let start = try #require(await plane.desiredState(for: "node1")?.revision)
        for i in 0..<(3 * ControlPlane.streamBuffer) {
            try await plane.apply(.pods([.upsert(PodSpec(name: "p\(i)", node: "node2", address: "10.244.2.\(100 + i % 100)", labels: ["app": "client"]))],
                                        version: "\(i)"))
        }
        let end = try #require(await plane.desiredState(for: "node1")?.revision)
        try #require(end - start >= UInt64(2 * ControlPlane.streamBuffer), "node1's state changed \(end - start) times only")
        var received = 0
        var secondEnd: ControlPlane.Failure.Kind?
        do { for try await _ in second { received += 1 } } catch let failure as ControlPlane.Failure { secondEnd = failure.kind }
        #expect(secondEnd == .resourceExhausted && received <= ControlPlane.streamBuffer, "\(received) updates, then \(String(describing: secondEnd))")
        #expect(await plane.status(only: "node1").nodes.first?.connected == false)
    }

    @Test("a node sees only its own status")
    func ownStatus() async throws {
        let harness = try await Harness()
        let node1 = NodeIdentity(name: "node1")
        let pem = try await harness.join(node1)
        let status = try await harness.nodeClient(node1, certificatePEM: pem) { try await $0.status(Weft_V1_StatusRequest()) }
        #expect(status.nodes.map(\.name) == ["node1"])
        await harness.stop()
    }
}
