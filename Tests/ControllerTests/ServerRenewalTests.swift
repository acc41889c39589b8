import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOConcurrencyHelpers
import Testing
import WeftControlAPI
import WeftController
import WeftPKI

@Suite("the controller's server certificate is renewed while it runs")
struct ServerRenewalTests {
    @Test("at two thirds of its life the listeners restart with a new certificate on the same ports; joins work on both; a stop ends the loop")
    func renews() async throws {
        let plane = try ControlPlane(stateDirectory: temporaryDirectory(), spec: smallSpec())
        defer { plane.close() }
        let port = 20_000 + Int.random(in: 0..<20_000)
        let make: @Sendable () throws -> ControlServer = {
            try ControlServer(plane: plane, nodeListen: ("127.0.0.1", port), joinListen: ("127.0.0.1", port + 1), certificateLifetime: 3)
        }
        let served = NIOLockedValueBox<[ControlServer]>([])
        let stopping = NIOLockedValueBox(false)
        let loop = Task {
            try await ControlServer.serveRenewing(first: try make(), make: make,
                                                  current: { server in served.withLockedValue { $0.append(server) }; return !stopping.withLockedValue { $0 } },
                                                  stopping: { stopping.withLockedValue { $0 } })
        }
        func join(_ name: String) async throws {
            let token = try await plane.createToken(node: name, ttl: 60)
            var request = Weft_V1_JoinRequest()
            request.node = name
            request.token = token
            request.csrPem = try NodeIdentity(name: name).certificateSigningRequestPEM()
            let sent = request, ca = Array(plane.ca.certificatePEM.utf8)
            _ = try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port + 1),
                                                                   transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(ca, format: .pem)]) })) {
                try await Weft_V1_Control.Client(wrapping: $0).join(sent)
            }
        }
        // Joins are retried while a listener is (re)starting: the outcome counts, not the timing.
        func joinEventually(_ name: String) async throws {
            for attempt in 0..<100 {
                do { try await join(name); return } catch where attempt < 99 { try await Task.sleep(for: .milliseconds(100)) }
            }
        }
        try await joinEventually("node1")
        for _ in 0..<300 where served.withLockedValue({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(100)) }
        let servers = served.withLockedValue { $0 }
        try #require(servers.count >= 2, "no renewal within 30 s")
        #expect(servers[1].certificateExpires > servers[0].certificateExpires)
        try await joinEventually("node2")
        stopping.withLockedValue { $0 = true }
        served.withLockedValue { $0.last }?.beginGracefulShutdown()
        try await loop.value
    }
}
