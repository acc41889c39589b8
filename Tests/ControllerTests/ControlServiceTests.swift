import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import WeftControlAPI
import WeftController
import WeftModel
import WeftPKI
import X509

/// The controller's gRPC service over real TLS on loopback: two listeners (join: TLS;
/// node: mTLS with the cluster CA), real certificates, real handshakes.
@Suite("control service over TLS on loopback (gRPC)")
struct ControlServiceTests {
    /// A running controller on ephemeral loopback ports, stopped by `stop()`.
    final class Harness: @unchecked Sendable {
        let dir = temporaryDirectory()
        let plane: ControlPlane
        let server: ControlServer
        let task: Task<Void, Error>
        var nodePort = 0, joinPort = 0

        init(spec: ClusterSpec = smallSpec(), directory: String? = nil, adminSocket: String? = nil,
             limits: ControlServer.Limits = ControlServer.Limits()) async throws {
            plane = try ControlPlane(stateDirectory: directory ?? dir, spec: spec)
            server = try ControlServer(plane: plane, nodeListen: ("127.0.0.1", 0), joinListen: ("127.0.0.1", 0), adminSocket: adminSocket, limits: limits)
            let server = server
            task = Task { try await server.serve() }
            nodePort = try #require(try await server.node.listeningAddress?.ipv4?.port)
            joinPort = try #require(try await server.join.listeningAddress?.ipv4?.port)
            // The admin socket listens asynchronously too, and is chmod'ed 0600 once it does:
            // a test calls it only then (a slow machine waits longer, within a deadline).
            if let adminSocket {
                _ = try await server.admin?.listeningAddress
                let deadline = ContinuousClock.now + .seconds(60)
                while (try? FileManager.default.attributesOfItem(atPath: adminSocket)[.posixPermissions] as? Int) != 0o600, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        }

        func stop() async {
            server.beginGracefulShutdown()
            task.cancel()
            _ = try? await task.value
            plane.close()
        }

        var caPEM: [UInt8] { Array(plane.ca.certificatePEM.utf8) }

        /// Calls `body` with a client on the join listener (server-authenticated TLS).
        func joinClient<T: Sendable>(_ body: @Sendable (Weft_V1_Control.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
            let ca = caPEM
            return try await withGRPCClient(transport: .http2NIOPosix(
                target: .ipv4(address: "127.0.0.1", port: joinPort),
                transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(ca, format: .pem)]) })) { client in
                try await body(Weft_V1_Control.Client(wrapping: client))
            }
        }

        /// Calls `body` with an mTLS client on the node listener, as `identity`.
        func nodeClient<T: Sendable>(_ identity: NodeIdentity, certificatePEM: String,
                                     _ body: @Sendable (Weft_V1_Control.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
            let ca = caPEM
            return try await withGRPCClient(transport: .http2NIOPosix(
                target: .ipv4(address: "127.0.0.1", port: nodePort),
                transportSecurity: .mTLS(certificateChain: [.bytes(Array(certificatePEM.utf8), format: .pem)],
                                         privateKey: .bytes(Array(identity.signingKey.pemRepresentation.utf8), format: .pem)) {
                    $0.trustRoots = .certificates([.bytes(ca, format: .pem)])
                })) { client in
                try await body(Weft_V1_Control.Client(wrapping: client))
            }
        }

        /// Joins `identity` with a fresh token; returns its certificate (PEM).
        func join(_ identity: NodeIdentity) async throws -> String {
            let token = try await plane.createToken(node: identity.name, ttl: 300)
            var request = Weft_V1_JoinRequest()
            request.node = identity.name
            request.token = token
            request.csrPem = try identity.certificateSigningRequestPEM()
            request.incarnation = "boot-1"
            let sent = request
            return try await joinClient { try await $0.join(sent).certificatePem }
        }
    }

    @Sendable static func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        do { try await body(); return nil } catch let error as RPCError { return error.code } catch { return nil }
    }

    @Test("join: a good token gets a certificate; reuse, expiry, another node's token and a CSR without possession are refused")
    func join() async throws {
        let harness = try await Harness()
        let node1 = NodeIdentity(name: "node1")
        let pem = try await harness.join(node1)
        let certificate = try Certificate(pemEncoded: pem)
        #expect(try harness.plane.ca.verifyNodeCertificate(certificate) == "node1")

        let token = try await harness.plane.createToken(node: "node2", ttl: 300)
        var request = Weft_V1_JoinRequest()
        request.node = "node2"
        request.token = token
        request.csrPem = try NodeIdentity(name: "node2").certificateSigningRequestPEM()
        let good = request
        _ = try await harness.joinClient { try await $0.join(good) }
        #expect(await Self.code { _ = try await harness.joinClient { try await $0.join(good) } } == .unauthenticated, "token reuse")

        let expired = try await harness.plane.issueToken(node: "node3", ttl: 1, now: Date().addingTimeInterval(-10)).token
        var late = good
        late.node = "node3"; late.token = expired
        late.csrPem = try NodeIdentity(name: "node3").certificateSigningRequestPEM()
        let lateRequest = late
        #expect(await Self.code { _ = try await harness.joinClient { try await $0.join(lateRequest) } } == .unauthenticated, "expired token")

        let genuine = try NodeIdentity(name: "node3").certificateSigningRequest()
        let swapped = try CertificateSigningRequest(version: genuine.version, subject: genuine.subject,
                                                    publicKey: .init(P256.Signing.PrivateKey().publicKey), attributes: genuine.attributes,
                                                    signatureAlgorithm: genuine.signatureAlgorithm, signature: genuine.signature)
        var forged = good
        forged.node = "node3"
        forged.token = try await harness.plane.createToken(node: "node3", ttl: 300)
        forged.csrPem = try swapped.serializeAsPEM().pemString
        let forgedRequest = forged
        #expect(await Self.code { _ = try await harness.joinClient { try await $0.join(forgedRequest) } } == .invalidArgument, "CSR without possession")
        // A second join (or a renewal) replaces the certificate: the old one is refused at once.
        let newer = try await harness.join(node1)
        _ = try await harness.nodeClient(node1, certificatePEM: newer) { try await $0.status(Weft_V1_StatusRequest()) }
        #expect(await Self.code { _ = try await harness.nodeClient(node1, certificatePEM: pem) { try await $0.status(Weft_V1_StatusRequest()) } }
                == .unauthenticated, "a replaced certificate still works")
        // The join listener serves nothing else.
        #expect(await Self.code { _ = try await harness.joinClient { try await $0.status(Weft_V1_StatusRequest()) } } == .unauthenticated)
        await harness.stop()
    }

    @Test("watch: a node gets its own snapshot, not another's; its ack is recorded; revocation ends its stream and refuses it")
    func watch() async throws {
        let harness = try await Harness()
        let node1 = NodeIdentity(name: "node1"), node2 = NodeIdentity(name: "node2")
        let pem1 = try await harness.join(node1)
        _ = try await harness.join(node2)

        let snapshot = try await harness.nodeClient(node1, certificatePEM: pem1) { control -> DesiredNodeState in
            try await control.watch(Weft_V1_WatchRequest()) { response in
                for try await update in response.messages {
                    return try DesiredNodeState.decode(update.snapshot)
                }
                throw RPCError(code: .internalError, message: "no snapshot")
            }
        }
        #expect(snapshot.node.name == "node1" && snapshot.peers.map(\.name) == ["node2"])
        #expect(snapshot.peers[0].keyAgreementPublicKey == node2.keyAgreementKey.publicKey.x963Representation.base64EncodedString())

        var other = Weft_V1_WatchRequest()
        other.node = "node2"
        let foreign = other
        #expect(await Self.code {
            try await harness.nodeClient(node1, certificatePEM: pem1) { control in
                try await control.watch(foreign) { response in for try await _ in response.messages {} }
            }
        } == .permissionDenied)

        var ack = Weft_V1_AckRequest()
        ack.revision = snapshot.revision
        ack.succeeded = true
        let sentAck = ack
        _ = try await harness.nodeClient(node1, certificatePEM: pem1) { try await $0.ack(sentAck) }
        let status = await harness.plane.status()
        #expect(status.nodes.first { $0.name == "node1" }?.appliedRevision == snapshot.revision)

        // Revoked mid-stream: the stream ends with PERMISSION_DENIED, new calls are refused.
        let streamCode = Task {
            await Self.code {
                try await harness.nodeClient(node1, certificatePEM: pem1) { control in
                    try await control.watch(Weft_V1_WatchRequest()) { response in for try await _ in response.messages {} }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        try await harness.plane.revoke("node1")
        #expect(await streamCode.value == .permissionDenied)
        #expect(await Self.code { _ = try await harness.nodeClient(node1, certificatePEM: pem1) { try await $0.status(Weft_V1_StatusRequest()) } }
                == .permissionDenied)
        // node2 now sees node1 quarantined and no longer a peer.
        let node2State = try #require(await harness.plane.desiredState(for: "node2"))
        #expect(node2State.quarantined == [1] && node2State.peers.isEmpty)
        await harness.stop()
    }

    @Test("a controller restart keeps the CA, the identities and the joined nodes")
    func restart() async throws {
        let first = try await Harness()
        let node1 = NodeIdentity(name: "node1")
        let pem = try await first.join(node1)
        let ca = first.plane.ca.certificate
        let before = try #require(await first.plane.desiredState(for: "node1"))
        await first.stop()

        let second = try await Harness(directory: first.dir)
        #expect(second.plane.ca.certificate == ca)
        let after = try #require(await second.plane.desiredState(for: "node1"))
        #expect(after.node == before.node)
        #expect(after.revision > before.revision, "revisions restarted: an old acknowledgement would count for the new plan")
        // An acknowledgement above the desired revision (from before the restart) is ignored.
        try await second.plane.acknowledge(node: "node1", revision: after.revision + 5, succeeded: true)
        #expect(await second.plane.status().nodes.first { $0.name == "node1" }?.appliedRevision == 0)
        #expect(after.ipcache == before.ipcache)
        #expect(after.policy == before.policy)
        // The certificate issued before the restart still works; a node sees only itself.
        let status = try await second.nodeClient(node1, certificatePEM: pem) { try await $0.status(Weft_V1_StatusRequest()) }
        #expect(status.nodes.map(\.name) == ["node1"])
        await second.stop()
    }
}
