import Foundation
import GRPCCore
import Testing
import WeftControlAPI
import WeftController
import WeftPKI

/// Join tokens made by the controller itself (Admin.CreateToken), and the failed changes
/// agents report reaching the operator's status.
@Suite("admin tokens and reported failures")
struct AdminTokenTests {
    typealias Harness = ControlServiceTests.Harness

    static func tokenRequest(_ node: String, ttl: UInt32) -> Weft_V1_CreateTokenRequest {
        var request = Weft_V1_CreateTokenRequest()
        request.node = node
        request.ttlSeconds = ttl
        return request
    }

    static func waitForSocket(_ path: String) async throws {
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: path) { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test("Admin.CreateToken answers a token that joins once, audited by id and never by secret; bad requests write nothing")
    func createToken() async throws {
        let dir = temporaryDirectory()
        let socket = dir + "/admin/admin.sock"
        let harness = try await Harness(directory: dir, adminSocket: socket)
        try await Self.waitForSocket(socket)
        let made = try await AdminTests.admin(socket) { try await $0.createToken(Self.tokenRequest("node3", ttl: 600)) }
        #expect(made.token.hasPrefix("weft-join.\(made.id).") && made.expiresUnix > Int64(Date().timeIntervalSince1970) + 500)
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/tokens.json")[.posixPermissions] as? Int == 0o600)

        let stored = try Data(contentsOf: URL(fileURLWithPath: dir + "/tokens.json"))
        for bad in [Self.tokenRequest("node3", ttl: 10), Self.tokenRequest("node3", ttl: 31 * 86_400), Self.tokenRequest("Not_A Name", ttl: 600)] {
            #expect(await ControlServiceTests.code { _ = try await AdminTests.admin(socket) { try await $0.createToken(bad) } } == .invalidArgument)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/tokens.json")) == stored, "a refused request wrote the token store")

        var join = Weft_V1_JoinRequest()
        join.node = "node3"
        join.token = made.token
        join.csrPem = try NodeIdentity(name: "node3").certificateSigningRequestPEM()
        join.incarnation = "boot-1"
        let sent = join
        _ = try await harness.joinClient { try await $0.join(sent) }
        #expect(await ControlServiceTests.code { _ = try await harness.joinClient { try await $0.join(sent) } } == .unauthenticated, "single use")

        let audit = try String(contentsOfFile: dir + "/audit.log", encoding: .utf8)
        let secret = String(made.token.split(separator: ".")[2])
        #expect(audit.contains("\"token\"") && audit.contains(made.id) && !audit.contains(secret))
    }

    @Test("an agent's failed changes reach Admin.Status (the first 8 and the total) until a reconcile succeeds; an oversized report is refused")
    func reportedFailures() async throws {
        let dir = temporaryDirectory()
        let socket = dir + "/admin/admin.sock"
        let harness = try await Harness(directory: dir, adminSocket: socket)
        try await Self.waitForSocket(socket)
        let node1 = NodeIdentity(name: "node1")
        let pem1 = try await harness.join(node1)
        let revision = try #require(await harness.plane.desiredState(for: "node1")).revision

        var ack = Weft_V1_AckRequest()
        ack.revision = revision
        ack.succeeded = false
        ack.failedChanges = (0..<10).map { index in
            var failure = Weft_V1_ChangeFailure()
            (failure.verb, failure.kind, failure.object) = ("add", "route", "10.244.\(index).0/24")
            (failure.errno, failure.message) = (17, "add route 10.244.\(index).0/24: File exists")
            return failure
        }
        ack.failedChangeTotal = 12
        let failing = ack
        _ = try await harness.nodeClient(node1, certificatePEM: pem1) { try await $0.ack(failing) }
        let status = try await AdminTests.admin(socket) { try await $0.status(Weft_V1_StatusRequest()) }
        let reported = try #require(status.nodes.first { $0.name == "node1" })
        #expect(reported.failedChangeCount == 12 && reported.failedChanges.count == 8)
        #expect(reported.failedChanges.first.map { ($0.kind, $0.object, $0.errno) } ?? ("", "", 0) == ("route", "10.244.0.0/24", 17))

        var oversized = failing
        oversized.failedChanges[0].object = String(repeating: "x", count: 4096)
        let tooBig = oversized
        #expect(await ControlServiceTests.code { _ = try await harness.nodeClient(node1, certificatePEM: pem1) { try await $0.ack(tooBig) } }
                == .invalidArgument)

        var good = Weft_V1_AckRequest()
        good.revision = revision
        good.succeeded = true
        let succeeded = good
        _ = try await harness.nodeClient(node1, certificatePEM: pem1) { try await $0.ack(succeeded) }
        let cleared = try await AdminTests.admin(socket) { try await $0.status(Weft_V1_StatusRequest()) }
        #expect(cleared.nodes.first { $0.name == "node1" }.map { $0.failedChangeCount == 0 && $0.failedChanges.isEmpty } == true)
    }
}
