import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import WeftControlAPI
import WeftController
import WeftModel
import WeftPKI

/// The operator's socket and the controller's metrics, on a real controller: gRPC over a
/// Unix socket, node listeners over TLS on loopback.
@Suite("admin socket and metrics")
struct AdminTests {
    typealias Harness = ControlServiceTests.Harness

    static func admin<T: Sendable>(_ path: String, _ body: @Sendable (Weft_V1_Admin.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        try await withGRPCClient(transport: .http2NIOPosix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)) {
            try await body(Weft_V1_Admin.Client(wrapping: $0))
        }
    }

    static func revoke(_ node: String) -> Weft_V1_RevokeRequest {
        var request = Weft_V1_RevokeRequest()
        request.node = node
        return request
    }

    @Test("status, revoke and rotate over the 0600 admin socket; a revocation outlives a restart; metrics count what happened")
    func adminSocket() async throws {
        let dir = temporaryDirectory()
        let socket = dir + "/admin/admin.sock"
        let harness = try await Harness(directory: dir, adminSocket: socket)
        let node1 = NodeIdentity(name: "node1")
        let pem1 = try await harness.join(node1)
        _ = try await harness.join(NodeIdentity(name: "node2"))
        // Listening is asynchronous; the mode is set once it is (a slow machine waits longer).
        for _ in 0..<500 where (try? FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int) != 0o600 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/admin")[.posixPermissions] as? Int == 0o700)

        let status = try await Self.admin(socket) { try await $0.status(Weft_V1_StatusRequest()) }
        #expect(status.nodes.map(\.name) == ["node1", "node2", "node3"])
        #expect(status.nodes.map(\.joined) == [true, true, false] && status.nodes.allSatisfy { !$0.revoked })
        #expect(status.nodes[0].certificateExpiresUnix > Int64(Date().timeIntervalSince1970) + 23 * 3600)

        // node1 acknowledges its state: its lag is 0 and its convergence is observed.
        let desired = try #require(await harness.plane.desiredState(for: "node1"))
        try await harness.plane.acknowledge(node: "node1", revision: desired.revision, succeeded: true)
        let acked = try await Self.admin(socket) { try await $0.status(Weft_V1_StatusRequest()) }
        #expect(acked.nodes[0].appliedRevision == desired.revision && acked.nodes[0].pendingSinceUnixMs == 0)
        #expect(acked.nodes[1].pendingSinceUnixMs > 0, "node2 never acknowledged: it is pending")

        #expect(await ControlServiceTests.code { _ = try await Self.admin(socket) { try await $0.revoke(Self.revoke("node9")) } } == .notFound)
        #expect(await ControlServiceTests.code { _ = try await Self.admin(socket) { try await $0.revoke(Self.revoke("")) } } == .invalidArgument)
        let revoked = try await Self.admin(socket) { try await $0.revoke(Self.revoke("node1")) }
        #expect(revoked.revoked && revoked.nodesUpdated == 1)
        #expect(try await Self.admin(socket) { try await $0.revoke(Self.revoke("node1")) }.revoked == false)
        let refused = await ControlServiceTests.code {
            _ = try await harness.nodeClient(node1, certificatePEM: pem1) { try await $0.status(Weft_V1_StatusRequest()) }
        }
        #expect(refused == .permissionDenied, "a revoked node's call: \(String(describing: refused))")

        let rotation = try await Self.admin(socket) { try await $0.rotate(Weft_V1_RotateRequest()) }
        #expect(rotation.started && rotation.targetEpoch == 2)
        #expect(try await Self.admin(socket) { try await $0.rotate(Weft_V1_RotateRequest()) }.started == false)

        let metrics = String(decoding: harness.plane.metrics.registry.emitToBuffer(), as: UTF8.self)
        for line in ["weft_controller_certificates_issued_total 2", "weft_controller_revocations_total 1",
                     "weft_controller_rotations_started_total 1", "weft_controller_convergence_seconds_count 1",
                     "weft_controller_revision_lag{node=\"node1\"} 0.0", "weft_controller_active_nodes 1.0"] {
            #expect(metrics.contains(line + "\n"), "metrics lack \"\(line)\"")
        }
        await harness.stop()

        // The revocation was the operator's, not the cluster file's: it survives a restart.
        let second = try await Harness(directory: dir, adminSocket: socket)
        let after = try await Self.admin(socket) { try await $0.status(Weft_V1_StatusRequest()) }
        #expect(after.nodes[0].revoked && after.targetEpoch == 2)
        await second.stop()
    }

    @Test("the admin socket refuses a path that is not a socket, and leaves that file alone")
    func socketPathChecks() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/admin", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/admin/admin.sock", contents: Data("not a socket".utf8))
        let plane = try ControlPlane(stateDirectory: dir, spec: smallSpec())
        defer { plane.close() }
        #expect(throws: ControlServer.SocketPathError.self) {
            _ = try ControlServer(plane: plane, nodeListen: ("127.0.0.1", 0), joinListen: ("127.0.0.1", 0), adminSocket: dir + "/admin/admin.sock")
        }
        #expect(FileManager.default.contents(atPath: dir + "/admin/admin.sock") == Data("not a socket".utf8), "a regular file was removed")
    }

    @Test("rotation timer: due after the interval counted across a restart; a soft-expiry report rotates at once")
    func rotationTiming() async throws {
        let dir = temporaryDirectory()
        var spec = smallSpec()
        spec.encryption.rotationSeconds = 3600
        let plane = try ControlPlane(stateDirectory: dir, spec: spec)
        let start = Date()
        #expect(try await plane.rotateIfDue(now: start) == false, "the first call only starts the clock")
        #expect(try await plane.rotateIfDue(now: start.addingTimeInterval(1800)) == false)
        plane.close()
        // A restart keeps the clock: half an hour later the other half is still due.
        let restarted = try ControlPlane(stateDirectory: dir, spec: spec)
        #expect(try await restarted.rotateIfDue(now: start.addingTimeInterval(3000)) == false)
        #expect(try await restarted.rotateIfDue(now: start.addingTimeInterval(3601)) == true)
        #expect(await restarted.status().targetEpoch == 2)
        #expect(try await restarted.rotateIfDue(now: start.addingTimeInterval(9000)) == false, "a rotation under way is not restarted")
        restarted.close()

        let other = try ControlPlane(stateDirectory: temporaryDirectory(), spec: spec)
        defer { other.close() }
        for node in ["node1", "node2"] { _ = try await HostileInputTests.join(other, NodeIdentity(name: node)) }
        let spi = try #require(await other.desiredState(for: "node1")?.peers.first?.inbound?.spi)
        // SPIs that are not node1's own SAs are ignored: no rotation.
        try await other.acknowledge(node: "node1", revision: 1, succeeded: true, softExpiredSPIs: [0xdead_beef, 7])
        #expect(await other.status().targetEpoch == 1, "foreign SPIs started a rotation")
        try await other.acknowledge(node: "node1", revision: 1, succeeded: true, softExpiredSPIs: [spi])
        #expect(await other.status().targetEpoch == 2, "a soft expiry did not start a rotation")
        // More SPIs than a node can hold is refused outright.
        await #expect(throws: ControlPlane.Failure.self) {
            try await other.acknowledge(node: "node1", revision: 1, succeeded: true, softExpiredSPIs: Array(0..<300_000))
        }
    }
}
