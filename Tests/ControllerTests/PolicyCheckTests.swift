import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
import WeftControlAPI
import WeftController
import WeftModel

/// Admin.CheckPolicy on a real controller: the plane re-planned with each case's policies,
/// and every cell of the upstream tables asked over the admin socket (gRPC on a Unix
/// socket), as `weftctl policy check` asks.
@Suite("policy check over the admin socket")
struct PolicyCheckTests {
    static func request(_ from: String, _ to: String, _ proto: String, _ port: UInt32) -> Weft_V1_CheckPolicyRequest {
        var request = Weft_V1_CheckPolicyRequest()
        request.from = from
        request.to = to
        request.protocol = proto
        request.port = port
        return request
    }

    @Test("every cell of the upstream truth tables, through the controller")
    func truthTables() async throws {
        let table = try NetpolTruthTable.load()
        let dir = temporaryDirectory(), socket = dir + "/admin/admin.sock"
        let harness = try await ControlServiceTests.Harness(spec: table.spec(for: table.cases[0]), directory: dir, adminSocket: socket)
        let (cells, wrong) = try await AdminTests.admin(socket) { admin in
            var cells = 0, wrong: [String] = []
            for c in table.cases {
                try await harness.plane.update(spec: table.spec(for: c))
                for cell in try NetpolTruthTable.cells(of: c) {
                    let answer = try await admin.checkPolicy(Self.request(cell.from, cell.to, cell.proto.rawValue, UInt32(cell.port)))
                    cells += 1
                    if answer.allowed != cell.allowed { wrong.append("\(c.title) \(cell.text)") }
                }
            }
            return (cells, wrong)
        }
        let listed = wrong.prefix(20).joined(separator: "\n"), allRight = wrong.isEmpty
        #expect(allRight, "\(wrong.count) of \(cells) cells wrong:\n\(listed)")
        #expect(cells == 65 * 81)
        await harness.stop()
    }

    @Test("answers name policies and rules; unknown pods are NOT_FOUND, malformed requests INVALID_ARGUMENT")
    func answersAndRefusals() async throws {
        let spec = try NetworkPolicyTests.spec("""
              - metadata: {name: web, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress: [{from: [{podSelector: {matchLabels: {app: cli}}}], ports: [{port: http}]}]
              - metadata: {name: web-out, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  policyTypes: [Egress]
                  egress: [{to: [{ipBlock: {cidr: 10.1.0.0/24}}], ports: [{port: http}]}]
            """)
        let dir = temporaryDirectory(), socket = dir + "/admin/admin.sock"
        let harness = try await ControlServiceTests.Harness(spec: spec, directory: dir, adminSocket: socket)
        let allowed = try await AdminTests.admin(socket) { try await $0.checkPolicy(Self.request("shop/cli", "shop/web", "TCP", 8080)) }
        #expect(allowed.allowed && allowed.ingress.isolatedBy == ["shop/web"])
        #expect(allowed.ingress.allowedBy.map { "\($0.policy) \($0.direction) \($0.rule)" } == ["shop/web ingress 0"])
        #expect(allowed.unenforced.isEmpty, "a named port toward pods is enforced")
        // web -> api:9090: api is in the block and names 9090 http, but the datapath cannot
        // tell a pod by its address in a block: said, never silent.
        let inBlock = try await AdminTests.admin(socket) { try await $0.checkPolicy(Self.request("shop/web", "shop/api", "TCP", 9090)) }
        #expect(inBlock.allowed && inBlock.egress.isolatedBy == ["shop/web-out"])
        #expect(inBlock.unenforced == ["shop/web-out egress[0].ports[0]: named port http toward an ipBlock is not enforced yet: its addresses are denied"])
        let denied = try await AdminTests.admin(socket) { try await $0.checkPolicy(Self.request("10.2.0.11", "10.1.0.10", "tcp", 8080)) }
        #expect(!denied.allowed && denied.ingress.reason == "ingress to shop/web: isolated by shop/web; no rule admits it")
        #expect(denied.egress.pod == "lab/cli", "an address that is a pod's is that pod")
        let outside = try await AdminTests.admin(socket) { try await $0.checkPolicy(Self.request("shop/web", "198.51.100.1", "UDP", 53)) }
        #expect(!outside.allowed && outside.ingress.pod.isEmpty && outside.egress.reason.contains("isolated by shop/web-out"), "\(outside.egress.reason)")
        for (request, code) in [(Self.request("shop/nobody", "shop/web", "TCP", 80), RPCError.Code.notFound),
                                (Self.request("shop/cli", "shop/web", "QUIC", 80), .invalidArgument),
                                (Self.request("shop/cli", "shop/web", "TCP", 70_000), .invalidArgument),
                                (Self.request(String(repeating: "a", count: 5_000), "shop/web", "TCP", 80), .invalidArgument),
                                (Self.request("shop/cli/x", "shop/web", "TCP", 80), .invalidArgument)] {
            #expect(await ControlServiceTests.code { _ = try await AdminTests.admin(socket) { try await $0.checkPolicy(request) } } == code, "\(request.from) \(request.protocol)/\(request.port)")
        }
        let metrics = String(decoding: harness.plane.metrics.registry.emitToBuffer(), as: UTF8.self)
        #expect(metrics.contains("weft_controller_policy_parts_unenforced 1.0\n"))
        await harness.stop()
    }
}
